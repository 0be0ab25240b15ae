# The gpu analysis image: the cpu image of the same commit plus PyTorch (a CUDA build),
# torchvision and XGBoost's CUDA build. The CUDA runtime and cuDNN arrive as nvidia-* wheels,
# so a host needs only the NVIDIA driver and container toolkit (`docker run --gpus all`).
# Build it with `make image IMAGE=gpu`: the tool passes cpu's <sha> tag as BASE_IMAGE (no
# default, so a gpu image never lands on some other cpu) and, from images.yml, the cpu
# distributions gpu swaps out as REPLACES. The CA bundle comes in only as the secret ca_bundle.
ARG BASE_IMAGE

FROM ${BASE_IMAGE} AS cpu

# uv, the installer, in a throwaway stage as in cpu.Dockerfile: the cpu image does not keep it.
# /usr/bin/python3, not the venv's python that PATH finds first.
FROM cpu AS uv
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# root to write /opt/uv; this stage never becomes an image
# hadolint ignore=DL3002,DL3066
USER root
RUN --mount=type=secret,id=ca_bundle \
    --mount=type=bind,source=docker/requirements/uv.lock,target=/tmp/uv.lock \
    cert=/run/secrets/ca_bundle; [ -s "$cert" ] || cert=/etc/ssl/certs/ca-certificates.crt; \
    /usr/bin/python3 -m venv /opt/uv \
 && /opt/uv/bin/pip install --no-cache-dir --cert "$cert" --require-hashes -r /tmp/uv.lock

FROM cpu
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# hadolint ignore=DL3066
USER root
ARG REPLACES=""
# gpu.lock was resolved with cpu.lock as constraints, so every package the two share is
# already installed at the locked version and uv leaves it alone: the layer holds only what
# cpu lacks. The replaced distributions go first, since their successors own the same module
# files. Byte-compiled (the venv is not writable by the notebook user) with compileall, which
# skips the cpu files whose .pyc is current, where uv's compile would rewrite every one of
# them into this layer.
RUN --mount=type=bind,from=uv,source=/opt/uv,target=/opt/uv \
    --mount=type=cache,id=uv,target=/root/.cache/uv \
    --mount=type=secret,id=ca_bundle \
    --mount=type=bind,source=docker/requirements/gpu.lock,target=/tmp/gpu.lock \
    cert=/run/secrets/ca_bundle; [ -s "$cert" ] || cert=/etc/ssl/certs/ca-certificates.crt; \
    export SSL_CERT_FILE="$cert" UV_LINK_MODE=copy; \
    echo "$REPLACES" | xargs --no-run-if-empty \
      /opt/uv/bin/uv pip uninstall --python /opt/venv/bin/python \
 && /opt/uv/bin/uv pip install --python /opt/venv/bin/python --require-hashes -r /tmp/gpu.lock \
 && /opt/venv/bin/python -m compileall -q -j 0 /opt/venv/lib/python3.13/site-packages \
 && rm -f /opt/venv/.lock /tmp/uv-*.lock

# back to cpu's notebook user (UID 1000), by name as cpu.Dockerfile does
# hadolint ignore=DL3066
USER analyst
