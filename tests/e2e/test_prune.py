"""Pruning a long-lived build host: older SHA versions go (with each platform's
`<sha>-<platform>` tag), the current one, latest's, the N newest and everything that is not
this repository's images stay."""

from __future__ import annotations

import subprocess
from pathlib import Path

import docker
from e2e_support import (
    IMAGES,
    MINBASE,
    Project,
    make_project,
    random_sha,
    remove_project_images,
)

from imagectl.engine import has_image


def _commit_time(second: int) -> dict[str, str]:
    """The pipeline variable that dates a build: versions are ordered by their commit's time."""
    return {"CI_COMMIT_TIMESTAMP": f"2026-01-01T00:00:{second:02d}Z"}


def test_prune_keeps_current_latest_and_the_newest_and_removes_older_shas(
    fresh_project: Project, docker_client: docker.DockerClient
) -> None:
    project = fresh_project
    head = subprocess.run(
        ["git", "-C", str(project.root), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    oldest, older, newer, newest = random_sha(), random_sha(), random_sha(), random_sha()
    for second, sha in enumerate((head, oldest, older, newer, newest)):  # newest is latest
        project.build("tiny", sha, env=_commit_time(second))
    # another build under the newest SHA (say, of a dirty work tree) leaves the first untagged
    leftover = docker_client.images.get(project.ref("tiny", newest)).id
    project.build("tiny", newest, env=_commit_time(30))
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


def test_prune_removes_an_old_versions_platform_tags_with_it_and_keeps_those_of_kept_ones(
    tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    project = make_project(
        tmp_path / "project",
        images={"tiny": IMAGES["tiny"]},
        platforms={"tiny": ["linux/amd64", "linux/arm64"]},
    )
    try:
        head = subprocess.run(
            ["git", "-C", str(project.root), "rev-parse", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        oldest, older, newer, newest = random_sha(), random_sha(), random_sha(), random_sha()
        for second, sha in enumerate((head, oldest, older, newer, newest)):  # newest is latest
            project.build("tiny", sha, env=_commit_time(second), platform="all")

        def platform_tags(sha: str) -> list[str]:
            return [project.ref("tiny", f"{sha}-linux-{arch}") for arch in ("amd64", "arm64")]

        dry = project.run("prune", "--keep", "1", "--dry-run").stdout
        for tag in (project.ref("tiny", oldest), *platform_tags(oldest), *platform_tags(older)):
            assert f"would remove {tag} (an older version)" in dry
        assert newer not in dry and newest not in dry and head not in dry

        pruned = project.run("prune", "--keep", "1").stdout
        assert "removed 4 image(s)" in pruned  # amd64 and arm64 of oldest and older
        for sha in (oldest, older):
            for tag in (project.ref("tiny", sha), *platform_tags(sha)):
                assert not has_image(docker_client, tag)
        for sha in (head, newer, newest):  # current, the 1 newest kept, latest's
            for tag in (project.ref("tiny", sha), *platform_tags(sha)):
                assert has_image(docker_client, tag)
        assert has_image(docker_client, "local/debian-minbase:trixie-linux-arm64")
    finally:
        remove_project_images(docker_client, project)
