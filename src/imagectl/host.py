"""The build host: root or not, its CA bundle, free loopback ports, and Debian packages the
tool installs on demand."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

from imagectl import proc
from imagectl.errors import EngineError

_CA_CANDIDATES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
    "/etc/ssl/cert.pem",  # Alpine, macOS
)


def is_root() -> bool:
    return os.geteuid() == 0


def free_port() -> int:
    """A loopback TCP port that nothing listens on now (for a registry or server of a test)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ca_bundle() -> Path | None:
    """The host's CA bundle, which trusts a TLS-intercepting proxy if the host does:
    SSL_CERT_FILE or PIP_CERT when set, else the distribution's usual path."""
    for candidate in (os.environ.get("SSL_CERT_FILE"), os.environ.get("PIP_CERT"), *_CA_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def ensure_debian_packages(packages: dict[str, str], purpose: str) -> None:
    """Install the Debian packages whose command is missing (package -> command it provides,
    or an absolute path of a file it installs, for a package without a command: fonts).

    As root this runs apt-get; otherwise it stops and says what to install.
    """
    missing = [pkg for pkg, command in packages.items() if not _has_command(command)]
    if not missing:
        return
    names = " ".join(missing)
    if not is_root() or not shutil.which("apt-get"):
        raise EngineError(
            f"{purpose} needs the Debian package(s) {names}, which are not installed",
            f"run as root: apt-get install -y {names}  (or run this command as root)",
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        proc.run_echoed(["apt-get", "update"], env=env)
        proc.run_echoed(["apt-get", "install", "-y", "--no-install-recommends", *missing], env=env)
    except subprocess.CalledProcessError as exc:
        raise EngineError(
            f"installing {names} failed (apt-get exit {exc.returncode}):\n{exc.output}",
            "check that Debian's archive is reachable, then retry",
        ) from None


def _has_command(command: str) -> bool:
    if command.startswith("/"):
        return Path(command).exists()
    # sbin is not always on a non-login root PATH
    return bool(shutil.which(command) or shutil.which(command, path="/usr/sbin:/sbin"))
