"""A version is reproducible where it counts most: building the same commit again (with the
build cache) gives the very image under test, so its test pass and its push stay valid."""

from __future__ import annotations

import subprocess

import docker
from support import IMAGECTL, ROOT

from imagectl import revision


def test_building_the_commit_again_gives_the_same_image_id(
    docker_client: docker.DockerClient, image_ref: str, image_name: str
) -> None:
    before = docker_client.images.get(image_ref)
    again = subprocess.run(
        [IMAGECTL, "build", image_name], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert docker_client.images.get(image_ref).id == before.id
    assert before.labels["org.opencontainers.image.created"] == revision.current(ROOT).created
