"""End-to-end helpers: throwaway projects (a git repo with its own images.yml) whose images are
small ones FROM the local Debian base, and whose registry is a real docker-registry on a free
loopback port, started and stopped (by PID) with the tool itself. Every tag, container and
image a test makes is removed afterwards (conftest.py's fixtures); so is the registry's storage."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors
import pytest

from imagectl import registry

IMAGECTL = str(Path(sys.executable).with_name("imagectl"))
MINBASE = "local/debian-minbase:trixie"
# Variables that would point the tool at another registry, commit or login.
_OUTSIDE = (
    "REGISTRY_URL", "REGISTRY_USER", "REGISTRY_PASSWORD", "CI_REGISTRY_USER",
    "CI_REGISTRY_PASSWORD", "CI_JOB_TOKEN", "CI_COMMIT_SHA", "CI_COMMIT_TAG", "CI_PROJECT_URL",
)  # fmt: skip

DOCKERFILES = {
    # a few bytes on the base: pushes and pulls in a second
    "tiny.Dockerfile": """
        ARG BASE_IMAGE
        FROM ${BASE_IMAGE}
        RUN echo tiny > /tiny
        """,
    # 64 MB of noise (gzip can't shrink it), new for each nonce: a push that takes a while
    "bulky.Dockerfile": """
        ARG BASE_IMAGE
        FROM ${BASE_IMAGE}
        COPY nonce /nonce
        RUN head -c 64000000 /dev/urandom > /blob
        """,
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def random_sha() -> str:
    return secrets.token_hex(20)


@dataclass
class Project:
    root: Path
    registry: str  # host:port/path, as images.yml's `registry`
    env: dict[str, str] = field(default_factory=dict)

    @property
    def host(self) -> str:
        return self.registry.split("/", 1)[0]

    @property
    def state(self) -> Path:
        return self.root / ".cache" / "registry"

    def ref(self, name: str, tag: str) -> str:
        return f"{self.registry}/{name}:{tag}"

    def run(
        self, *args: str, env: dict[str, str] | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [IMAGECTL, *args],
            cwd=self.root,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check and result.returncode != 0:
            pytest.fail(f"imagectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def build(self, name: str, sha: str, env: dict[str, str] | None = None) -> str:
        self.run("build", name, env={"CI_COMMIT_SHA": sha, **(env or {})})
        return self.ref(name, sha)

    def new_nonce(self) -> None:
        (self.root / "docker" / "nonce").write_text(secrets.token_hex(16))

    def client(self) -> registry.RegistryClient:
        return registry.RegistryClient(self.host)

    def registry_digest(self, name: str, tag: str) -> str | None:
        found = self.client().manifest(f"{self.registry.split('/', 1)[1]}/{name}", tag)
        return found.digest if found else None

    def registry_manifest(self, name: str, tag: str) -> registry.Manifest | None:
        return self.client().manifest(f"{self.registry.split('/', 1)[1]}/{name}", tag)


def make_project(root: Path, base_image: str = MINBASE, dockerfiles: dict | None = None) -> Project:
    """A git repository with images.yml naming one image per Dockerfile, built in docker/."""
    dockerfiles = dockerfiles or DOCKERFILES
    (root / "docker").mkdir(parents=True)
    images = {}
    for filename, text in dockerfiles.items():
        (root / "docker" / filename).write_text(textwrap.dedent(text).lstrip())
        name = filename.removesuffix(".Dockerfile")
        images[name] = {"dockerfile": f"docker/{filename}", "context": "docker"}
    project = Project(root, f"127.0.0.1:{free_port()}/e2e-{secrets.token_hex(3)}")
    lines = [
        f"registry: {project.registry}",
        f"base: {{image: '{base_image}', suite: trixie, local_name: '{MINBASE}'}}",
        "images:",
        *(
            f"  {name}: {{dockerfile: {spec['dockerfile']}, context: {spec['context']}}}"
            for name, spec in images.items()
        ),
    ]
    (root / "images.yml").write_text("\n".join(lines) + "\n")
    (root / "docker" / "nonce").write_text("first")
    (root / ".gitignore").write_text(".cache/\nbuild/\ndocker/nonce\n")
    git = ["git", "-C", str(root), "-c", "user.name=e2e", "-c", "user.email=e2e@localhost"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "e2e"], check=True)
    project.env = {k: v for k, v in os.environ.items() if k not in _OUTSIDE}
    return project


def remove_project_images(engine: docker.DockerClient, project: Project) -> None:
    """Every image tagged under the project's registry path, and its untagged leftovers."""
    for image in engine.images.list():
        mine = [t for t in image.tags if t.startswith(f"{project.registry}/")]
        digests = [d for d in image.attrs.get("RepoDigests") or [] if d.startswith(project.host)]
        for name in mine or digests:
            with contextlib.suppress(docker.errors.APIError):
                engine.images.remove(name, force=True)
    source = f"org.opencontainers.image.source=file://{project.root}"
    for image in engine.images.list(filters={"dangling": True, "label": source}):
        with contextlib.suppress(docker.errors.APIError):
            engine.images.remove(image.id, force=True)
