"""Pruning a long-lived build host: older SHA versions go, the current one, latest's, the N
newest and everything that is not this repository's images stay."""

from __future__ import annotations

import subprocess
import time

import docker
from e2e_support import MINBASE, Project, random_sha

from imagectl.engine import has_image


def _next_second() -> None:
    time.sleep(1.01 - time.time() % 1)


def test_prune_keeps_current_latest_and_the_newest_and_removes_older_shas(
    fresh_project: Project, docker_client: docker.DockerClient
) -> None:
    project = fresh_project
    head = subprocess.run(
        ["git", "-C", str(project.root), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    oldest, older, newer, newest = random_sha(), random_sha(), random_sha(), random_sha()
    for sha in (head, oldest, older, newer, newest):  # built in this order; newest is latest
        _next_second()  # the build-time label, which orders versions, counts seconds
        project.build("tiny", sha)
    _next_second()  # a rebuild of the same SHA leaves an untagged earlier build behind
    leftover = docker_client.images.get(project.ref("tiny", newest)).id
    project.build("tiny", newest)
    assert docker_client.images.get(project.ref("tiny", newest)).id != leftover

    dry = project.run("prune", "--keep", "1", "--dry-run").stdout
    assert f"would remove {project.ref('tiny', oldest)}" in dry
    assert has_image(docker_client, project.ref("tiny", oldest))

    pruned = project.run("prune", "--keep", "1").stdout
    assert "removed 3 image(s)" in pruned
    for sha in (oldest, older):
        assert not has_image(docker_client, project.ref("tiny", sha))
    assert not has_image(docker_client, leftover)
    for tag in (head, newer, newest, "latest"):  # current, 1 newest kept, latest
        assert has_image(docker_client, project.ref("tiny", tag))
    assert has_image(docker_client, MINBASE)
