#!/bin/bash
# Runs the container's command as the notebook user, whatever the container was started as
# (README, "Running it", has a command for each):
# - root (`--user root`, with NB_UID/NB_GID to take the host's IDs): gives `analyst` those IDs,
#   hands it its home, drops root and starts again below. Needs the capabilities in NEEDED and
#   says which are missing (`--cap-drop`) instead of failing half-way.
# - any other UID (`--user 12345:0`, `--user 12345 --group-add users`, OpenShift, Kubernetes):
#   a UID without an entry in /etc/passwd gets one through nss_wrapper (name analyst, home
#   /home/analyst), so `whoami`, `id -un`, the shell prompt and `~` work; root is never needed.
# - a home it cannot write (read-only root, a GID without write on it): what Jupyter, IPython,
#   matplotlib, pip and the shell write at run time goes under /tmp/analyst instead (see SCRATCH).
# - `pip install` at run time: into the user's home, importable at once (see INSTALLS).
# - a home another UID used before: this one's private Jupyter files go to /tmp (see SHARED).
# - JupyterHub (DockerSpawner, KubeSpawner: JUPYTERHUB_API_TOKEN is set): the image's own
#   command (`jupyter lab`, with the spawner's arguments) becomes `jupyterhub-singleuser`, and a
#   hub API that the container cannot reach stops the start with what to configure (see HUB).
set -euo pipefail
NB_USER=${NB_USER:-analyst}
home=/home/$NB_USER

if [ "$(id -u)" = 0 ]; then
  # capability bits (linux/capability.h) of what the steps below do as root: chown the home,
  # read what Jupyter made private in it on an earlier start (its runtime dir is 700), switch
  # UID and GID
  declare -A NEEDED=([CHOWN]=0 [DAC_OVERRIDE]=1 [SETGID]=6 [SETUID]=7)
  effective=$((16#$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status)))
  missing=()
  for cap in CHOWN DAC_OVERRIDE SETGID SETUID; do
    (( effective >> NEEDED[$cap] & 1 )) || missing+=("$cap")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "start.sh: as root, the start needs the capabilities CHOWN DAC_OVERRIDE SETGID SETUID" \
      "(to give $NB_USER NB_UID/NB_GID, then drop root); missing: ${missing[*]}." \
      "Add $(printf -- '--cap-add %s ' "${missing[@]}")to \`docker run\`, or start without root:" \
      "--user \$(id -u):\$(id -g) --group-add users" >&2
    exit 1
  fi
  uid=${NB_UID:-$(id -u "$NB_USER")}
  gid=${NB_GID:-$(id -g "$NB_USER")}
  if [ "$uid" = 0 ]; then
    echo "start.sh: NB_UID=0 would run the notebook as root; name the host user's UID" >&2
    exit 1
  fi
  [ "$gid" = "$(id -g "$NB_USER")" ] || groupmod --non-unique --gid "$gid" "$NB_USER"
  [ "$uid" = "$(id -u "$NB_USER")" ] || usermod --non-unique --uid "$uid" "$NB_USER"
  # the home's own files only: -xdev keeps out of bind mounts (a project, its data)
  find "$home" -xdev \( ! -user "$uid" -o ! -group "$gid" \) -exec chown -h "$uid:$gid" {} +
  exec setpriv --reuid="$uid" --regid="$gid" --init-groups \
    env HOME="$home" USER="$NB_USER" "$0" "$@"
fi

# Docker gives a UID it cannot name HOME=/ (and Jupyter then tries to write /.local).
[ "${HOME:-/}" != / ] || export HOME=$home
export USER=${USER:-$NB_USER}
# Jupyter's terminal runs $SHELL from the environment, else sh (dash: no ~/.bashrc, no prompt
# with the user's name); Docker sets none, and bash's own SHELL variable is not exported
[[ $(declare -p SHELL 2>/dev/null) == "declare -x"* ]] || export SHELL=/bin/bash
if ! id -un >/dev/null 2>&1; then
  nss=$(mktemp -d /tmp/nss_wrapper.XXXXXX 2>/dev/null) || {
    echo "start.sh: UID $(id -u) has no name here and /tmp is not writable" \
      "(with --read-only, add --tmpfs /tmp)" >&2
    exit 1
  }
  # this UID first, so `getent passwd analyst` and `~analyst` answer with it
  { echo "$NB_USER:x:$(id -u):$(id -g):$NB_USER:$HOME:/bin/bash"; cat /etc/passwd; } \
    > "$nss/passwd"
  cp /etc/group "$nss/group"
  getent group "$(id -g)" >/dev/null || echo "$NB_USER:x:$(id -g):" >> "$nss/group"
  export NSS_WRAPPER_PASSWD=$nss/passwd NSS_WRAPPER_GROUP=$nss/group
  export LD_PRELOAD=libnss_wrapper.so${LD_PRELOAD:+ $LD_PRELOAD}
fi

if [ ! -w "$HOME" ]; then
  # SCRATCH: the home is read-only to this process; everything that writes at run time goes
  # under /tmp/analyst (a tmpfs with --read-only --tmpfs /tmp). Configuration is still read
  # from the home (~/.jupyter). Notebooks go where they are saved: the working directory.
  scratch=/tmp/$NB_USER
  mkdir -p -m 700 "$scratch"
  export JUPYTER_RUNTIME_DIR=$scratch/.local/share/jupyter/runtime \
    JUPYTERLAB_SETTINGS_DIR=$scratch/.jupyter/lab/user-settings \
    JUPYTERLAB_WORKSPACES_DIR=$scratch/.jupyter/lab/workspaces \
    IPYTHONDIR=$scratch/.ipython \
    MPLCONFIGDIR=$scratch/.cache/matplotlib \
    XDG_CACHE_HOME=$scratch/.cache \
    XDG_CONFIG_HOME=$scratch/.config \
    XDG_DATA_HOME=$scratch/.local/share \
    XDG_STATE_HOME=$scratch/.local/state \
    HISTFILE=$scratch/.bash_history \
    PYTHONUSERBASE=$scratch/.local
  # the font cache the build made, so the first plot does not rebuild it
  if [ ! -d "$MPLCONFIGDIR" ]; then
    mkdir -p "$MPLCONFIGDIR"
    cp "$home"/.cache/matplotlib/fontlist-*.json "$MPLCONFIGDIR"/ 2>/dev/null || true
  fi
fi

# SHARED: a home that another UID used before (a home volume, then docker-stacks'
# `--user N --group-add users`) holds that UID's Jupyter runtime files, IPython profile and
# JupyterLab settings, private to it in part (0700); this UID keeps its own under /tmp/analyst.
for kept in IPYTHONDIR=.ipython JUPYTER_RUNTIME_DIR=.local/share/jupyter/runtime \
  JUPYTERLAB_SETTINGS_DIR=.jupyter/lab/user-settings \
  JUPYTERLAB_WORKSPACES_DIR=.jupyter/lab/workspaces; do
  name=${kept%%=*} path=${kept#*=}
  if [ -z "${!name:-}" ] && [ -e "$HOME/$path" ] && [ ! -O "$HOME/$path" ]; then
    mkdir -p -m 700 "/tmp/$NB_USER"
    export "$name=/tmp/$NB_USER/$path"
  fi
done

# The image's PATH and pip settings (login shells read the same file), with the bin/ of what
# the user installs with pip (INSTALLS) before the venv's.
# shellcheck source=/dev/null
. /etc/profile.d/analysis-template.sh
# INSTALLS: `pip install` as the notebook user goes to its user site (~/.local, or
# PYTHONUSERBASE under SCRATCH), which the venv sees (include-system-site-packages); Python puts
# it on sys.path only if it exists when it starts, so it is made here, before any kernel: what
# a notebook installs then imports at once, in the same kernel.
for lib in /opt/venv/lib/python3.*; do
  mkdir -p "${PYTHONUSERBASE:-$HOME/.local}/lib/${lib##*/}/site-packages" 2>/dev/null || true
done

if [ -n "${JUPYTERHUB_API_TOKEN:-}" ]; then
  # HUB: a spawner that keeps the image's command (DockerSpawner's default) gets the
  # single-user server, which logs in through the hub; any other command runs as given.
  if [ "${1:-}" = jupyter ] && [ "${2:-}" = lab ]; then
    shift 2
    set -- jupyterhub-singleuser "$@"
  fi
  # The server checks every request with the hub's API. A hub listening only where the
  # container cannot reach it (127.0.0.1 on the hub's host, the usual DockerSpawner slip) would
  # give a server that starts and then fails every request; stop here instead, saying why.
  if [ "${1:-}" = jupyterhub-singleuser ] && [ -n "${JUPYTERHUB_API_URL:-}" ]; then
    reached=0
    curl -sk -o /dev/null --connect-timeout 5 --max-time 10 "${JUPYTERHUB_API_URL%/}/" \
      || reached=$?
    case $reached in
      6 | 7 | 28)
        echo "start.sh: JupyterHub's API at $JUPYTERHUB_API_URL cannot be reached from this" \
          "container (curl exit $reached). The hub must listen on an address its servers reach:" \
          "with DockerSpawner put the servers on a docker network (c.DockerSpawner.network_name)" \
          "and set c.JupyterHub.hub_ip to the host's address on it (its gateway), or" \
          "c.JupyterHub.hub_connect_ip to one the container can reach; on Kubernetes," \
          "check the hub Service and the NetworkPolicy allowing singleuser -> hub." >&2
        exit 1
        ;;
    esac
  fi
fi
exec "$@"
