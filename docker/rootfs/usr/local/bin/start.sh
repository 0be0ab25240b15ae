#!/bin/bash
# Runs the container's command as the notebook user. Started as root (`--user root`) with
# NB_UID/NB_GID, it first gives that user the host's IDs, so files written to bind mounts
# belong to the host user whatever their UID.
set -euo pipefail
if [ "$(id -u)" = 0 ] && [ "${NB_USER:-}" ]; then
  uid=${NB_UID:-$(id -u "$NB_USER")}
  gid=${NB_GID:-$(id -g "$NB_USER")}
  [ "$gid" = "$(id -g "$NB_USER")" ] || groupmod --non-unique --gid "$gid" "$NB_USER"
  [ "$uid" = "$(id -u "$NB_USER")" ] || usermod --non-unique --uid "$uid" "$NB_USER"
  home=$(getent passwd "$NB_USER" | cut -d: -f6)
  # the home's own files only: -xdev keeps out of bind mounts (a project, its data)
  find "$home" -xdev \( ! -user "$uid" -o ! -group "$gid" \) -exec chown -h "$uid:$gid" {} +
  exec setpriv --reuid="$uid" --regid="$gid" --init-groups \
    env HOME="$home" USER="$NB_USER" "$@"
fi
exec "$@"
