"""The embedded registry: Debian's docker-registry (the CNCF distribution registry) serving a
loopback address, with its storage under the project's .cache/registry/. Started on demand,
stopped by the PID it recorded; a registry that already answers there is used as it is."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from imagectl import host
from imagectl.daemon import Daemon
from imagectl.errors import RegistryError
from imagectl.registry import Credentials, RegistryClient, is_loopback

READY_TIMEOUT_S = 30


def is_embedded(registry_host: str) -> bool:
    """Whether the tool may start the registry at `registry_host`: only a loopback one."""
    return is_loopback(registry_host)


def config(state_dir: Path, addr: str, htpasswd: Path | None = None) -> dict:
    """Our own config, not Debian's /etc/docker/registry/config.yml (which turns on htpasswd
    auth and listens on every interface). Deleting is on so old versions can be removed."""
    settings: dict = {
        "version": 0.1,
        "log": {"level": "info", "formatter": "text"},
        "storage": {
            "filesystem": {"rootdirectory": str(state_dir / "data")},
            "delete": {"enabled": True},
        },
        "http": {"addr": addr, "headers": {"X-Content-Type-Options": ["nosniff"]}},
    }
    if htpasswd:
        settings["auth"] = {"htpasswd": {"realm": "analysis-template", "path": str(htpasswd)}}
    return settings


def ensure_running(state_dir: Path, addr: str, htpasswd: Path | None = None) -> bool:
    """Make a registry answer at `addr`; True if this call started it."""
    if RegistryClient(addr).ping():
        return False
    binary = _install()
    server = _daemon(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    config_file = state_dir / "config.yml"
    config_file.write_text(yaml.safe_dump(config(state_dir, addr, htpasswd), sort_keys=False))
    process = server.start([binary, "serve", str(config_file)])
    if server.wait_ready(process, RegistryClient(addr).ping, READY_TIMEOUT_S):
        return True
    server.stop()
    raise RegistryError(
        f"the registry at {addr} did not start:\n{server.log_tail()}",
        f"if the address is taken, stop what listens there; the whole log is {server.log_file}",
    )


def stop_started(state_dir: Path) -> bool:
    """Stop the registry this tool started (by its recorded PID); others are left alone."""
    return _daemon(state_dir).stop()


def recorded_pid(state_dir: Path) -> int | None:
    return _daemon(state_dir).recorded_pid()


def _daemon(state_dir: Path) -> Daemon:
    return Daemon("registry", "docker-registry", state_dir)


def _install() -> str:
    fresh = not _which()
    host.ensure_debian_packages({"docker-registry": "docker-registry"}, "the local registry")
    if fresh and Path("/run/systemd/system").is_dir():
        # The package starts a service with its stock config on :5000; ours replaces it.
        subprocess.run(["systemctl", "disable", "--now", "docker-registry"], check=False)
    binary = _which()
    if not binary:
        raise RegistryError(
            "docker-registry is installed but not on PATH", "add /usr/bin to PATH and retry"
        )
    return binary


def _which() -> str | None:
    return shutil.which("docker-registry") or shutil.which("docker-registry", path="/usr/bin")


@dataclass(frozen=True)
class Registries:
    """Clients for the registries a command talks to, with one login. The tool's own
    registry (`own_host`, when it is a loopback one) is started on demand, others never."""

    own_host: str
    state_dir: Path
    credentials: Credentials | None

    def open(self, host: str) -> RegistryClient:
        """A client for `host`; the tool's own registry is started first when it is down."""
        if host == self.own_host and is_embedded(host):
            ensure_running(self.state_dir, host)
        return RegistryClient(host, self.credentials)

    def reachable(self, host: str, start: bool = False) -> RegistryClient | None:
        """A client for `host` if it answers, else None; `start` allows starting our own."""
        client = self.open(host) if start else RegistryClient(host, self.credentials)
        return client if client.ping() else None
