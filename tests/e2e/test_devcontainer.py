"""VS Code Dev Containers on a new project: `imagectl new-project` writes
.devcontainer/devcontainer.json for the project's compose service, and the Dev Containers CLI
(@devcontainers/cli from npm, in .cache/node/) brings it up with compose v2 and with Debian's
1.29: commands run as `analyst` in the
project directory, the bundled library imports, and what they write belongs to the host user
who owns the project (HOST_UID, not the image's 1000). The containers, network and image it
made are removed by ID."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest
from e2e_support import ComposeCommand, compose_v1, compose_v2
from support import IMAGECTL, ROOT, free_port

from harness import node_tools
from imagectl import config, revision, tags

HOST_UID, HOST_GID = 1234, 2345  # a host user who is not the image's UID 1000
WORKSPACE = "/home/analyst/work"


@pytest.fixture(scope="module")
def base_image(docker_client: docker.DockerClient) -> Iterator[tuple[str, str]]:
    """(registry path, sha): HEAD's cpu image under a local name of this test's own, so the
    project's build never asks a registry for it."""
    sha = revision.current(ROOT).sha
    path = f"local/devcontainer-{secrets.token_hex(3)}"
    built = tags.sha_tag(config.load(ROOT), "cpu", sha)
    try:
        docker_client.images.get(built).tag(f"{path}/cpu", sha)
    except docker.errors.ImageNotFound:
        pytest.fail(f"{built} is not built; run `make image`")
    yield path, sha
    with contextlib.suppress(docker.errors.APIError):
        docker_client.images.remove(f"{path}/cpu:{sha}")


@pytest.fixture
def project(tmp_path: Path, base_image: tuple[str, str]) -> Path:
    """A new project owned by the host user HOST_UID (as `new-project` run by them makes it)."""
    path, sha = base_image
    directory = tmp_path / f"dc{secrets.token_hex(3)}"
    directory.mkdir()
    os.chown(directory, HOST_UID, HOST_GID)
    made = subprocess.run(
        [IMAGECTL, "new-project", str(directory), "--sha", sha, "--port", str(free_port())],
        cwd=ROOT,
        env={**os.environ, "REGISTRY_URL": path},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    for child in [directory, *directory.rglob("*")]:
        os.chown(child, HOST_UID, HOST_GID)
    return directory


class DevContainer:
    """The Dev Containers CLI on one workspace, with the compose it is given (`compose`)."""

    def __init__(self, workspace: Path, compose: ComposeCommand) -> None:
        self.workspace, self.compose = workspace, compose
        self.cli = str(node_tools.require("devcontainer"))
        token = secrets.token_hex(16)
        self.env = node_tools.env({**os.environ, **compose.env, "JUPYTER_TOKEN": token})

    def __call__(self, command: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.cli, command, "--workspace-folder", str(self.workspace),
             "--docker-compose-path", self.compose.argv[0], *args],
            cwd=self.workspace, env=self.env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip

    def remove(self, docker_client: docker.DockerClient) -> None:
        """What `up` made: the containers labelled with this workspace, their compose network
        and the project image compose built, each by ID."""
        label = f"devcontainer.local_folder={self.workspace}"
        projects = set()
        for container in docker_client.containers.list(all=True, filters={"label": label}):
            projects.add(container.labels.get("com.docker.compose.project"))
            container.remove(force=True, v=True)
        for name in projects - {None}:
            filters = {"label": f"com.docker.compose.project={name}"}
            for network in docker_client.networks.list(filters=filters):
                with contextlib.suppress(docker.errors.APIError):
                    network.remove()
        with contextlib.suppress(docker.errors.ImageNotFound):
            image = docker_client.images.get(f"{self.workspace.name}-jupyter:local")
            docker_client.images.remove(image.id, force=True)


def test_new_project_names_its_compose_service_for_vs_code(project: Path) -> None:
    settings = json.loads((project / ".devcontainer" / "devcontainer.json").read_text())
    assert settings["dockerComposeFile"] == ["../docker-compose.yml", "../compose.shared.yml"]
    assert settings["service"] == "jupyter"
    assert settings["workspaceFolder"] == WORKSPACE
    assert settings["remoteUser"] == "analyst"
    extensions = settings["customizations"]["vscode"]["extensions"]
    assert {"ms-python.python", "ms-toolsai.jupyter"} <= set(extensions)


WHO_AND_WRITE = (
    "import analysis_utils, os, pathlib, pwd; "
    "pathlib.Path('from-devcontainer.txt').write_text('written in the dev container'); "
    "print(pwd.getpwuid(os.getuid()).pw_name, os.getcwd(), analysis_utils.__name__)"
)


@pytest.mark.parametrize("compose_command", [compose_v2, compose_v1], ids=["compose-v2", "v1.29"])
def test_devcontainer_runs_as_analyst_in_the_project_and_writes_as_the_host_user(
    project: Path, docker_client: docker.DockerClient, compose_command, tmp_path: Path
) -> None:
    dev = DevContainer(project, compose_command(tmp_path))
    try:
        up = dev("up")
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        result = json.loads(up.stdout.strip().splitlines()[-1])
        assert result["outcome"] == "success", result
        assert result["remoteUser"] == "analyst"
        assert result["remoteWorkspaceFolder"] == WORKSPACE

        ran = dev("exec", "python", "-c", WHO_AND_WRITE)
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.split() == ["analyst", WORKSPACE, "analysis_utils"]
        written = project / "from-devcontainer.txt"
        assert written.read_text() == "written in the dev container"
        assert (written.stat().st_uid, written.stat().st_gid) == (HOST_UID, HOST_GID)
    finally:
        dev.remove(docker_client)
    label = f"devcontainer.local_folder={project}"
    assert docker_client.containers.list(all=True, filters={"label": label}) == []
