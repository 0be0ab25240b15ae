"""The Docker engine: reach it, start it when this host has none running, and pick a client
that can drive BuildKit (docker-py cannot; the 28.x client without buildx refuses)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors

from imagectl import host
from imagectl.daemon import Daemon
from imagectl.errors import EngineError

READY_TIMEOUT_S = 60


def docker_client(timeout: int = 600) -> docker.DockerClient:
    """A docker-py client for a running engine, or an EngineError saying how to get one."""
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
        return client
    except docker.errors.DockerException as exc:
        raise EngineError(
            f"no Docker engine answers ({exc})",
            "run `make engine` (as root it installs and starts one), or set DOCKER_HOST",
        ) from None


def ensure_running(state_dir: Path) -> docker.DockerClient:
    """Return a client, first installing Debian's docker.io and starting dockerd if needed.

    Idempotent: an engine that already answers (ours, the system's, or DOCKER_HOST) is used.
    """
    try:
        return docker_client()
    except EngineError as exc:
        if os.environ.get("DOCKER_HOST"):  # someone else's engine: a local one would hide it
            raise EngineError(
                str(exc).split("\n")[0],
                f"start the engine at DOCKER_HOST={os.environ['DOCKER_HOST']}, or unset "
                "DOCKER_HOST to use (or, as root, start) the local one",
            ) from None
    if not host.is_root():
        raise EngineError(
            "no Docker engine runs and this user cannot start one",
            "as root run `make engine`, or install docker.io and start dockerd, "
            "or add yourself to the docker group",
        )
    host.ensure_debian_packages({"docker.io": "dockerd"}, "starting a Docker engine")
    dockerd = _dockerd(state_dir)
    server = dockerd.start([shutil.which("dockerd") or "/usr/sbin/dockerd"])
    if dockerd.wait_ready(server, _answers, READY_TIMEOUT_S):
        return docker_client()
    raise EngineError(
        f"dockerd did not answer within {READY_TIMEOUT_S} s:\n{dockerd.log_tail()}",
        f"read {dockerd.log_file} for the whole log",
    )


def _answers() -> bool:
    try:
        docker_client(timeout=5)
        return True
    except EngineError:
        return False


def _dockerd(state_dir: Path) -> Daemon:
    return Daemon("dockerd", "dockerd", state_dir)


def stop_started(state_dir: Path) -> bool:
    """Stop the dockerd this tool started (by its recorded PID); leave any other engine alone."""
    return _dockerd(state_dir).stop()


def has_image(docker_client: docker.DockerClient, ref: str) -> bool:
    """Whether the engine holds `ref` (a tag, digest or ID) locally."""
    try:
        docker_client.images.get(ref)
        return True
    except docker.errors.ImageNotFound:
        return False


@dataclass(frozen=True)
class BuildClient:
    """How to run a BuildKit build: the command prefix and the environment it needs."""

    argv: tuple[str, ...]
    env: dict[str, str]


def build_client() -> BuildClient:
    """A docker CLI that builds with BuildKit: one with buildx, else a pre-23 client with
    DOCKER_BUILDKIT=1 (Debian's 20.10 at /usr/bin/docker). Chosen explicitly, not by PATH."""
    candidates: list[str] = []
    for path in (shutil.which("docker"), "/usr/bin/docker", "/usr/local/bin/docker"):
        if (
            path
            and os.path.exists(path)
            and os.path.realpath(path) not in map(os.path.realpath, candidates)
        ):
            candidates.append(path)
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    for path in candidates:
        if _succeeds([path, "buildx", "version"]):
            if _buildkit_version(path) >= (0, 13):  # layers dated by SOURCE_DATE_EPOCH too
                output = ("--output", "type=docker,rewrite-timestamp=true")
            else:
                output = ("--load",)
            return BuildClient((path, "buildx", "build", *output), env)
    for path in candidates:
        if _client_major(path) < 23:  # the classic `docker build` still speaks BuildKit
            return BuildClient((path, "build"), env)
    raise EngineError(
        f"none of the docker clients found ({', '.join(candidates) or 'none'}) can build "
        "with BuildKit",
        "install Debian's docker.io (its 20.10 client builds with BuildKit) or the buildx plugin",
    )


def _succeeds(argv: list[str]) -> bool:
    return subprocess.run(argv, capture_output=True).returncode == 0


def _buildkit_version(path: str) -> tuple[int, int]:
    """The (major, minor) of the BuildKit behind buildx's current builder; (0, 0) if unknown."""
    result = subprocess.run([path, "buildx", "inspect"], capture_output=True, text=True)
    found = re.search(r"Build[Kk]it(?: version)?:\s*v?(\d+)\.(\d+)", result.stdout)
    return (int(found[1]), int(found[2])) if found else (0, 0)


def _client_major(path: str) -> int:
    result = subprocess.run(
        [path, "version", "--format", "{{.Client.Version}}"], capture_output=True, text=True
    )
    try:
        return int(result.stdout.strip().split(".")[0])
    except ValueError:
        return 999
