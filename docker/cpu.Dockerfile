# The cpu analysis image: Debian's Python in a hash-locked venv (uv), JupyterLab, the GBDT
# libraries, MeCab and Noto CJK fonts, a non-root user. Build it with `make image`; the
# build host's CA bundle comes in only as the build secret `ca_bundle`, never as a layer.
ARG BASE_IMAGE=debian:trixie-slim
# the base of the stages that run on the build host: BASE_IMAGE when one tag serves every
# platform (a registry's index); imagectl names the host's own where each platform has its own
ARG BUILD_BASE_IMAGE=${BASE_IMAGE}
# where the image's contents are listed: `image` (by its own python3 and dpkg) or `build-host`
# (from its files, by the build host's: imagectl's choice for another platform, whose own
# programs run under QEMU; the listing is the same, which an image test checks)
ARG LIST_CONTENTS_ON=image

# The build host's own apt, dpkg-deb, MeCab dictionary compiler, Python, fontconfig and
# openssl, for docker/native-tool.
FROM --platform=$BUILDPLATFORM ${BUILD_BASE_IMAGE} AS native-tools
RUN --mount=type=cache,id=apt-archives,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,id=apt-lists,target=/var/lib/apt/lists,sharing=locked \
    rm -f /etc/apt/apt.conf.d/docker-clean \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3.13-minimal mecab-utils fontconfig openssl

FROM ${BASE_IMAGE} AS system
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV LANG=C.UTF-8 LC_ALL=C.UTF-8
ARG BUILDARCH
ARG TARGETARCH
# Heavy and rarely changed, so first: Python, fonts, MeCab with its UTF-8 dictionary, tini, vim,
# nss_wrapper (start.sh names a UID that /etc/passwd does not know: `--user 12345:0`).
# (`mecab` would also pull the Juman dictionary, 350 MB nobody reads: the trailing `-` skips it.
# `vim` and not `vim-tiny`: the tiny build has no `vim` command and no syntax highlighting.)
# apt's caches live in cache mounts, so nothing of them lands in the layer.
# For another platform than the build host's this runs under QEMU, where apt, unpacking, and
# the tools that packages' scripts run (compiling the MeCab dictionaries and Python's standard
# library, fontconfig's cache, the CA certificates' links) took most of its 10 minutes:
# docker/native-tool runs those with the build host's own programs; dpkg and the packages'
# scripts stay the image's own.
RUN --mount=type=cache,id=apt-archives,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,id=apt-lists,target=/var/lib/apt/lists,sharing=locked \
    --mount=type=bind,from=native-tools,target=/tmp/native \
    --mount=type=bind,source=docker/native-tool,target=/tmp/native-tool \
    rm -f /etc/apt/apt.conf.d/docker-clean \
 && /tmp/native-tool begin \
 && /tmp/native-tool apt-get update \
 && DEBIAN_FRONTEND=noninteractive /tmp/native-tool apt-get install -y --no-install-recommends \
      python3 python3-venv libgomp1 ca-certificates curl git less tini vim libnss-wrapper \
      fontconfig fonts-noto-cjk \
      mecab mecab-ipadic-utf8 mecab-jumandic- mecab-jumandic-utf8- \
 && /tmp/native-tool end \
 && useradd --create-home --uid 1000 --user-group --shell /bin/bash analyst

# Python packages are installed on the build host, not in the image's platform: for an arm64
# image on an amd64 host these stages run natively while only the Debian packages above run
# under QEMU. They stand on the host's base (BUILD_BASE_IMAGE) and fetch the image platform's
# wheels from the same hash-locked files (uv-install picks them by TARGETARCH); bytecode is the
# same for the same Python minor version, and both bases are Debian trixie's python3.
FROM --platform=$BUILDPLATFORM ${BUILD_BASE_IMAGE} AS build-python
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN --mount=type=cache,id=apt-archives,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,id=apt-lists,target=/var/lib/apt/lists,sharing=locked \
    rm -f /etc/apt/apt.conf.d/docker-clean \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 python3-venv ca-certificates

# uv, the installer, in a throwaway stage: the final image only bind-mounts it.
FROM build-python AS uv
RUN --mount=type=secret,id=ca_bundle \
    --mount=type=bind,source=docker/requirements/uv.lock,target=/tmp/uv.lock \
    cert=/run/secrets/ca_bundle; [ -s "$cert" ] || cert=/etc/ssl/certs/ca-certificates.crt; \
    python3 -m venv /opt/uv \
 && /opt/uv/bin/pip install --no-cache-dir --cert "$cert" --require-hashes -r /tmp/uv.lock
COPY docker/uv-install /opt/uv/bin/

# Exactly the locked package set, hashes checked, in the layers `make lock` split it into
# (docker/requirements/cpu.in says why): each layer's packages go into a venv of their own, and
# the image copies the venvs over each other, so a bump rebuilds only its layer and those after.
FROM uv AS venv-science
ARG TARGETARCH
RUN --mount=type=cache,id=uv,target=/root/.cache/uv \
    --mount=type=secret,id=ca_bundle \
    --mount=type=bind,source=docker/requirements/cpu.layers/1-science.txt,target=/tmp/layer.txt \
    /opt/uv/bin/uv-install --require-hashes -r /tmp/layer.txt

FROM uv AS venv-boosting
ARG TARGETARCH
RUN --mount=type=cache,id=uv,target=/root/.cache/uv \
    --mount=type=secret,id=ca_bundle \
    --mount=type=bind,source=docker/requirements/cpu.layers/2-boosting.txt,target=/tmp/layer.txt \
    /opt/uv/bin/uv-install --require-hashes -r /tmp/layer.txt

FROM uv AS venv-jupyter
ARG TARGETARCH
RUN --mount=type=cache,id=uv,target=/root/.cache/uv \
    --mount=type=secret,id=ca_bundle \
    --mount=type=bind,source=docker/requirements/cpu.layers/3-jupyter.txt,target=/tmp/layer.txt \
    /opt/uv/bin/uv-install --require-hashes -r /tmp/layer.txt

FROM uv AS venv-extras
ARG TARGETARCH
RUN --mount=type=cache,id=uv,target=/root/.cache/uv \
    --mount=type=secret,id=ca_bundle \
    --mount=type=bind,source=docker/requirements/cpu.layers/4-extras.txt,target=/tmp/layer.txt \
    /opt/uv/bin/uv-install --require-hashes -r /tmp/layer.txt

# The bundled library, a pure-Python wheel built with the locked setuptools (in extras).
FROM venv-extras AS analysis-utils-wheel
RUN --mount=type=bind,source=packages/analysis-utils,target=/tmp/analysis-utils,rw \
    /opt/uv/bin/uv build --wheel --no-build-isolation --python /opt/venv/bin/python \
      --out-dir /tmp/wheels /tmp/analysis-utils

FROM uv AS venv-analysis-utils
ARG TARGETARCH
RUN --mount=type=bind,from=analysis-utils-wheel,source=/tmp/wheels,target=/tmp/wheels \
    /opt/uv/bin/uv-install --no-index --no-cache /tmp/wheels/analysis_utils-*.whl

# The image's files: the system, the venvs, the configuration.
FROM system AS image-files
# EDITOR and VISUAL: the editor git and other tools open, in Jupyter's terminal too.
# pip at run time (README, "Installing packages"): never over a package the image pins
# (PIP_CONSTRAINT: the pins list-contents writes below), and no check of its own version over
# the network. Login shells, which lose most of this, read the same values from
# /etc/profile.d/analysis-template.sh (an image test keeps the two equal).
ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    MECABRC=/etc/mecabrc \
    MATPLOTLIBRC=/etc/matplotlib \
    NB_USER=analyst \
    EDITOR=vim \
    VISUAL=vim \
    PIP_CONSTRAINT=/usr/share/analysis-template/constraints.txt \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=venv-science /opt/venv /opt/venv
COPY --from=venv-boosting /opt/venv /opt/venv
COPY --from=venv-jupyter /opt/venv /opt/venv
COPY --from=venv-extras /opt/venv /opt/venv
# The bundled library changes more often than the stack, so it comes after it.
COPY --from=venv-analysis-utils /opt/venv /opt/venv

# Configuration, laid out under docker/rootfs/ at its destination paths.
COPY docker/rootfs/ /
COPY --chown=1000:users docker/home/ /home/analyst/

# What the image holds, for `docker run IMAGE cat /usr/share/analysis-template/contents.json`,
# and its CycloneDX SBOM beside it (sbom.cdx.json: every package with its purl, version,
# licence and the lock's hashes), by docker/list-contents, in the image or on the build host
# (LIST_CONTENTS_ON). A child image reruns `image-contents` in the image after adding
# packages. manifest.json and image-manifest are the old names, kept for older downstream
# images.
FROM image-files AS listed-on-image
RUN --mount=type=bind,from=uv,source=/opt/uv,target=/opt/uv \
    --mount=type=bind,source=docker/list-contents,target=/tmp/list-contents \
    --mount=type=bind,source=src/imagectl/sbom.py,target=/tmp/sbom/sbom.py \
    --mount=type=bind,source=docker/requirements/cpu.lock,target=/tmp/sbom/cpu.lock \
    /tmp/list-contents "" /usr/share/analysis-template

FROM uv AS listing
RUN --mount=type=bind,from=image-files,target=/image \
    --mount=type=bind,source=docker/list-contents,target=/tmp/list-contents \
    --mount=type=bind,source=src/imagectl/sbom.py,target=/tmp/sbom/sbom.py \
    --mount=type=bind,source=docker/requirements/cpu.lock,target=/tmp/sbom/cpu.lock \
    /tmp/list-contents /image /listing

FROM image-files AS listed-on-build-host
COPY --from=listing /listing/ /usr/share/analysis-template/

# hadolint ignore=DL3006
FROM listed-on-${LIST_CONTENTS_ON}
# Warm matplotlib's font cache so the first plot does not stall on it. The home is analyst's
# and the group `users`' (the notebook group: `--user 12345 --group-add users` may write it, as
# in Jupyter's docker-stacks), group-writable, setgid so what is made in it stays the group's;
# others may read it (any other UID reads the Jupyter settings and the font cache there).
# The venv sees the user site (~/.local, where `pip install` as the notebook user goes), made
# here so that a home volume starts with it; Debian's own site-packages are empty.
RUN sed -i 's/^include-system-site-packages = false$/include-system-site-packages = true/' \
      /opt/venv/pyvenv.cfg \
 && grep -qx 'include-system-site-packages = true' /opt/venv/pyvenv.cfg \
 && runuser -u analyst -- python -c \
      "import matplotlib.font_manager, os, site; os.makedirs(site.getusersitepackages())" \
 && ln -s image-contents /usr/local/bin/image-manifest \
 && mkdir -p /home/analyst/work \
 && chown -R analyst:users /home/analyst \
 && chmod -R g+rwX,o+rX /home/analyst \
 && find /home/analyst -type d -exec chmod g+s {} +
# the notebook user by name, as start.sh and NB_USER know it
# hadolint ignore=DL3066
USER analyst
WORKDIR /home/analyst/work
EXPOSE 8888
# The probe paces itself (jupyter-healthcheck says how): it waits for Jupyter's first answer
# and then asks every ~30 s, as engines before Docker 25 have no --start-interval (Debian's
# 20.10 rejects the flag), so the interval here only sets when the first probe starts.
HEALTHCHECK --interval=0.2s --timeout=40s --start-period=60s --retries=3 \
    CMD ["jupyter-healthcheck", "http://127.0.0.1:8888/api"]
ENTRYPOINT ["tini", "-g", "--", "start.sh"]
CMD ["jupyter", "lab"]
