# The image's environment in every shell, login shells too (POSIX sh: dash reads it for
# `sh -l`). Debian's /etc/profile gives PATH a fixed value, so a login shell (Jupyter's terminal
# is one, so are `bash -l` and `su - analyst`) lost /opt/venv/bin; `su -` also starts from an
# empty environment. The values here are the Dockerfile's ENV (an image test keeps them equal);
# a value already set (the image's ENV, `docker run -e`, start.sh's) is kept.
: "${VIRTUAL_ENV:=/opt/venv}" "${MECABRC:=/etc/mecabrc}" "${MATPLOTLIBRC:=/etc/matplotlib}"
: "${NB_USER:=analyst}" "${EDITOR:=vim}" "${VISUAL:=vim}" "${LANG:=C.UTF-8}" "${LC_ALL:=C.UTF-8}"
: "${PIP_CONSTRAINT=/usr/share/analysis-template/constraints.txt}"
: "${PIP_DISABLE_PIP_VERSION_CHECK:=1}"
export VIRTUAL_ENV MECABRC MATPLOTLIBRC NB_USER EDITOR VISUAL LANG LC_ALL PIP_CONSTRAINT \
  PIP_DISABLE_PIP_VERSION_CHECK
# the image's Python, pip and jupyter first; before them the commands of what the user
# installed with pip (~/.local/bin, or PYTHONUSERBASE's where start.sh moved it), as Debian's
# ~/.profile does
case ":$PATH:" in
  *:/opt/venv/bin:*) ;;
  *) PATH=/opt/venv/bin:$PATH ;;
esac
case ":$PATH:" in
  *":${PYTHONUSERBASE:-${HOME:-/home/analyst}/.local}/bin:"*) ;;
  *) PATH=${PYTHONUSERBASE:-${HOME:-/home/analyst}/.local}/bin:$PATH ;;
esac
export PATH
