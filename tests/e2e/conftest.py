"""End-to-end fixtures: the projects of e2e_support.py, cleaned up after use."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from e2e_support import Project, make_project, remove_project_images, serving

# projects that tests copy, with test files of their own for the pipelines they run
collect_ignore = ["fixtures"]


@pytest.fixture(scope="session")
def project(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[Project]:
    """The shared project, with its registry up (`imagectl registry up`) for the session."""
    with serving(make_project(tmp_path_factory.mktemp("e2e-project")), docker_client) as made:
        yield made


@pytest.fixture
def fresh_project(tmp_path: Path, docker_client: docker.DockerClient) -> Iterator[Project]:
    """A project of the test's own, no registry started; cleaned up like the shared one."""
    made = make_project(tmp_path / "project")
    try:
        yield made
    finally:
        made.run("registry", "down", check=False)
        remove_project_images(docker_client, made)
