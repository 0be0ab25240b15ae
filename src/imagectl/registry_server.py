"""The embedded registry: Debian's docker-registry (the CNCF distribution registry) serving a
loopback address, with its storage under the project's .cache/registry/. Started on demand,
stopped by the PID it recorded; a registry that already answers there is used as it is."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from imagectl import host
from imagectl.errors import RegistryError
from imagectl.registry import RegistryClient, is_loopback

READY_TIMEOUT_S = 30
PID_FILE = "registry.pid"


def is_embedded(registry_url: str) -> bool:
    """Whether the tool may start the registry that `registry_url` names: only a loopback one."""
    return is_loopback(registry_url.split("/", 1)[0])


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
    state_dir.mkdir(parents=True, exist_ok=True)
    config_file = state_dir / "config.yml"
    config_file.write_text(yaml.safe_dump(config(state_dir, addr, htpasswd), sort_keys=False))
    log_file = state_dir / "registry.log"
    print(f"starting the registry at {addr} (log: {log_file})", file=sys.stderr, flush=True)
    with open(log_file, "ab") as log:
        server = subprocess.Popen(
            [binary, "serve", str(config_file)],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # outlives this command, like a service
        )
    (state_dir / PID_FILE).write_text(f"{server.pid}\n")
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if RegistryClient(addr).ping():
            return True
        if server.poll() is not None:
            break
        time.sleep(0.1)
    stop_started(state_dir)
    tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-5:])
    raise RegistryError(
        f"the registry at {addr} did not start:\n{tail}",
        f"if the address is taken, stop what listens there; the whole log is {log_file}",
    )


def stop_started(state_dir: Path) -> bool:
    """Stop the registry this tool started (by its recorded PID); others are left alone."""
    pid_file = state_dir / PID_FILE
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text())
    pid_file.unlink()
    if not _is_registry(pid):  # gone, or the PID was reused by something else
        return False
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        if not _is_registry(pid):
            return True
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    return True


def recorded_pid(state_dir: Path) -> int | None:
    pid_file = state_dir / PID_FILE
    return int(pid_file.read_text()) if pid_file.exists() else None


def _is_registry(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    if state == "Z":  # killed but not yet reaped by the process that started it
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        return False
    return b"docker-registry" in cmdline


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
