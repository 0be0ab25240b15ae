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
COPY docker/uv-install /opt/uv/bin/

FROM cpu
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# hadolint ignore=DL3066
USER root
ARG REPLACES=""
# uv-install fetches the wheels of the image's platform
ARG TARGETARCH
# gpu.lock, resolved with cpu.lock as constraints, in the layers `make lock` split it into
# (docker/requirements/gpu.in): the ~5.5 GB torch stack first, so a bump of xgboost or pytest
# rebuilds and re-pulls only the small layer after it. Every package gpu shares with cpu is
# already installed at the locked version, and uv leaves it alone: the layers hold only what
# cpu lacks, hash-checked and byte-compiled (uv-install, as in cpu.Dockerfile).
RUN --mount=type=bind,from=uv,source=/opt/uv,target=/opt/uv \
    --mount=type=cache,id=uv,target=/root/.cache/uv \
    --mount=type=secret,id=ca_bundle \
    --mount=type=bind,source=docker/requirements/gpu.layers/1-torch.txt,target=/tmp/layer.txt \
    /opt/uv/bin/uv-install --require-hashes -r /tmp/layer.txt
# The replaced distributions (xgboost-cpu) go first: their successors own the same files.
RUN --mount=type=bind,from=uv,source=/opt/uv,target=/opt/uv \
    --mount=type=cache,id=uv,target=/root/.cache/uv \
    --mount=type=secret,id=ca_bundle \
    --mount=type=bind,source=docker/requirements/gpu.layers/2-extras.txt,target=/tmp/layer.txt \
    echo "$REPLACES" | xargs --no-run-if-empty \
      /opt/uv/bin/uv pip uninstall --python /opt/venv/bin/python \
 && /opt/uv/bin/uv-install --require-hashes -r /tmp/layer.txt
# cpu's record of what the image holds, its SBOM and the pins pip keeps at run time
# (constraints.txt, as docker/list-contents makes it), refreshed now that gpu added packages
RUN --mount=type=bind,from=uv,source=/opt/uv,target=/opt/uv \
    --mount=type=bind,source=src/imagectl/sbom.py,target=/tmp/sbom/sbom.py \
    --mount=type=bind,source=docker/requirements,target=/tmp/sbom/requirements \
    here=/usr/share/analysis-template \
 && image-contents > "$here/contents.json" \
 && python3 -c 'import json, sys; [print(f"{n}=={v}") for n, v in json.load(open(sys.argv[1]))["python_packages"].items()]' \
      "$here/contents.json" > "$here/constraints.txt" \
 && PYTHONDONTWRITEBYTECODE=1 /opt/uv/bin/python /tmp/sbom/sbom.py \
      --name gpu "$here/contents.json" \
      /tmp/sbom/requirements/cpu.lock /tmp/sbom/requirements/gpu.lock > "$here/sbom.cdx.json"

# back to cpu's notebook user (UID 1000), by name as cpu.Dockerfile does
# hadolint ignore=DL3066
USER analyst
