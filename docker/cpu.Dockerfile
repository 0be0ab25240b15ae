# The cpu analysis image: Debian's Python in a hash-locked venv (uv), JupyterLab, the GBDT
# libraries, MeCab and Noto CJK fonts, a non-root user. Build it with `make image`; the
# build host's CA bundle comes in only as the build secret `ca_bundle`, never as a layer.
ARG BASE_IMAGE=debian:trixie-slim

FROM ${BASE_IMAGE} AS system
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV LANG=C.UTF-8 LC_ALL=C.UTF-8
# Heavy and rarely changed, so first: Python, fonts, MeCab with its UTF-8 dictionary, tini.
# apt's caches live in cache mounts, so nothing of them lands in the layer.
RUN --mount=type=cache,id=apt-archives,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,id=apt-lists,target=/var/lib/apt/lists,sharing=locked \
    rm -f /etc/apt/apt.conf.d/docker-clean \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 python3-venv libgomp1 ca-certificates curl git less tini \
      fontconfig fonts-noto-cjk \
      mecab mecab-ipadic-utf8 \
 && useradd --create-home --uid 1000 --user-group --shell /bin/bash analyst

# uv, the installer, in a throwaway stage: the final image only bind-mounts it.
FROM system AS uv
RUN --mount=type=secret,id=ca_bundle \
    --mount=type=bind,source=docker/requirements/uv.lock,target=/tmp/uv.lock \
    cert=/run/secrets/ca_bundle; [ -s "$cert" ] || cert=/etc/ssl/certs/ca-certificates.crt; \
    python3 -m venv /opt/uv \
 && /opt/uv/bin/pip install --no-cache-dir --cert "$cert" --require-hashes -r /tmp/uv.lock

FROM system
ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    MECABRC=/etc/mecabrc \
    MATPLOTLIBRC=/etc/matplotlib \
    NB_USER=analyst
# Exactly the locked package set, hashes checked; byte-compiled because the venv is not
# writable by the notebook user.
RUN --mount=type=bind,from=uv,source=/opt/uv,target=/opt/uv \
    --mount=type=cache,id=uv,target=/root/.cache/uv \
    --mount=type=secret,id=ca_bundle \
    --mount=type=bind,source=docker/requirements/cpu.lock,target=/tmp/cpu.lock \
    cert=/run/secrets/ca_bundle; [ -s "$cert" ] || cert=/etc/ssl/certs/ca-certificates.crt; \
    export SSL_CERT_FILE="$cert" UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1 \
 && /opt/uv/bin/uv venv --python /usr/bin/python3 /opt/venv \
 && /opt/uv/bin/uv pip sync --python /opt/venv/bin/python --require-hashes /tmp/cpu.lock \
 && rm -f /opt/venv/.lock /tmp/uv-*.lock

# The bundled library changes more often than the stack, so it comes after it.
RUN --mount=type=bind,from=uv,source=/opt/uv,target=/opt/uv \
    --mount=type=bind,source=packages/analysis-utils,target=/tmp/analysis-utils,rw \
    UV_COMPILE_BYTECODE=1 /opt/uv/bin/uv pip install --python /opt/venv/bin/python \
      --no-index --no-deps --no-build-isolation --no-cache /tmp/analysis-utils \
 && rm -f /opt/venv/.lock /tmp/uv-*.lock

# Configuration, laid out under docker/rootfs/ at its destination paths.
COPY docker/rootfs/ /
COPY --chown=1000:1000 docker/home/ /home/analyst/

USER analyst
# Warm matplotlib's font cache so the first plot does not stall on it.
RUN python -c "import matplotlib.font_manager"
WORKDIR /home/analyst/work
EXPOSE 8888
HEALTHCHECK --interval=2s --timeout=2s --start-period=60s --retries=3 \
    CMD curl -fsS -o /dev/null http://127.0.0.1:8888/api || exit 1
ENTRYPOINT ["tini", "-g", "--", "start.sh"]
CMD ["jupyter", "lab"]
