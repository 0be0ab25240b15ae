"""Versions in a real registry: a SHA tag is pushed once and never moves, pulls give back the
pushed digest, `latest` moves only by promote and only to a tested image, and a registry that
dies mid-push leaves everything as it was."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import docker
from e2e_support import IMAGECTL, Project, random_sha

from imagectl import attachments, passes, registry, registry_server


def _digest(output: str) -> str:
    """The `repo@sha256:...` line push, pull and promote end with."""
    return output.strip().splitlines()[-1].split("@", 1)[1]


def _forget_locally(
    docker_client: docker.DockerClient, project: Project, name: str, sha: str
) -> None:
    for tag in (project.ref(name, sha), project.ref(name, "latest")):
        docker_client.images.remove(tag)


def test_pull_by_sha_gives_the_pushed_digest_and_pull_by_digest_works(
    project: Project, docker_client: docker.DockerClient
) -> None:
    sha = random_sha()
    ref = project.build("tiny", sha)
    image_id = docker_client.images.get(ref).id
    pushed = _digest(project.run("push", "tiny", "--sha", sha).stdout)
    _forget_locally(docker_client, project, "tiny", sha)

    pulled = project.run("pull", "tiny", "--sha", sha)
    assert _digest(pulled.stdout) == pushed
    repo = ref.rsplit(":", 1)[0]
    image = docker_client.images.get(ref)
    assert f"{repo}@{pushed}" in image.attrs["RepoDigests"]
    assert image.id == image_id

    docker_client.images.remove(ref)
    by_digest = project.run("pull", "tiny", "--digest", pushed)
    assert _digest(by_digest.stdout) == pushed
    assert docker_client.images.get(f"{repo}@{pushed}").id == image_id


def test_a_changed_image_under_a_pushed_sha_is_refused_and_the_registry_keeps_the_first(
    project: Project, docker_client: docker.DockerClient
) -> None:
    sha = random_sha()
    first_id = docker_client.images.get(project.build("tiny", sha)).id
    pushed = _digest(project.run("push", "tiny", "--sha", sha).stdout)
    # another image under the same SHA: here, one dated otherwise than the commit
    other = {"CI_COMMIT_TIMESTAMP": "2001-02-03T04:05:06Z"}
    second_id = docker_client.images.get(project.build("tiny", sha, env=other)).id
    assert second_id != first_id

    refused = project.run("push", "tiny", "--sha", sha, check=False)
    assert refused.returncode == 5
    assert "refusing to push" in refused.stderr and "never moves" in refused.stderr
    assert "fix:" in refused.stderr
    assert project.registry_digest("tiny", sha) == pushed
    assert project.registry_manifest("tiny", sha).config_digest == first_id


def test_a_rebuild_of_a_pushed_commit_is_the_same_image_and_its_push_a_no_op(
    project: Project, docker_client: docker.DockerClient
) -> None:
    sha = random_sha()
    ref = project.build("tiny", sha)
    first_id = docker_client.images.get(ref).id
    pushed = _digest(project.run("push", "tiny", "--sha", sha).stdout)
    docker_client.images.remove(ref)  # as on another machine: nothing of the first build is tagged
    rebuilt = project.build("tiny", sha)
    assert docker_client.images.get(rebuilt).id == first_id
    created = docker_client.images.get(rebuilt).labels["org.opencontainers.image.created"]
    assert created == project.commit_time()
    again = project.run("push", "tiny", "--sha", sha)
    assert "already in the registry as this image" in again.stderr
    assert project.registry_digest("tiny", sha) == pushed


def test_pushing_the_same_image_again_is_a_no_op(project: Project) -> None:
    sha = random_sha()
    project.build("tiny", sha)
    pushed = _digest(project.run("push", "tiny", "--sha", sha).stdout)
    again = project.run("push", "tiny", "--sha", sha)
    assert "already in the registry as this image" in again.stderr
    assert _digest(again.stdout) == pushed


def test_promote_needs_a_test_pass_for_the_image_then_latest_is_the_shas_digest(
    project: Project, docker_client: docker.DockerClient
) -> None:
    sha = random_sha()
    ref = project.build("tiny", sha)
    pushed = _digest(project.run("push", "tiny", "--sha", sha).stdout)
    latest_before = project.registry_digest("tiny", "latest")

    refused = project.run("promote", "tiny", "--sha", sha, check=False)
    assert refused.returncode == 5
    assert "no passing test run" in refused.stderr and "make test" in refused.stderr
    assert project.registry_digest("tiny", "latest") == latest_before

    # what tests/conftest.py's session hook writes when the image's tests pass
    passes.record(project.root, "tiny", docker_client.images.get(ref).id, ref, tests=1)
    project.run("promote", "tiny", "--sha", sha)
    assert project.registry_digest("tiny", "latest") == pushed


def test_a_test_pass_travels_with_the_image_through_the_registry(
    project: Project, docker_client: docker.DockerClient
) -> None:
    sha = random_sha()
    ref = project.build("tiny", sha)
    image_id = docker_client.images.get(ref).id
    project.run("push", "tiny", "--sha", sha)
    untested = project.run("passed", "tiny", "--sha", sha, check=False)
    assert untested.returncode == 1 and "no pass is recorded" in untested.stdout

    # what tests/conftest.py's session hook writes; the next push attaches it
    passes.record(project.root, "tiny", image_id, ref, tests=3)
    again = project.run("push", "tiny", "--sha", sha)
    assert "attached its test pass" in again.stderr
    # as on another machine (a later pipeline's job): neither the record nor the image
    passes.record_path(project.root, "tiny", image_id).unlink()
    _forget_locally(docker_client, project, "tiny", sha)
    docker_client.images.remove(project.ref("tiny", f"{sha}-linux-amd64"))

    pulled = project.run("pull", "tiny", "--sha", sha)
    assert "its tests passed: 3 tests" in pulled.stderr
    assert "not tested again" in project.run("passed", "tiny", "--sha", sha).stdout
    project.run("promote", "tiny", "--sha", sha)
    assert project.registry_digest("tiny", "latest") == _digest(pulled.stdout)


def test_a_pass_attached_for_another_image_is_not_trusted(
    project: Project, docker_client: docker.DockerClient
) -> None:
    sha = random_sha()
    ref = project.build("tiny", sha)
    pushed = _digest(project.run("push", "tiny", "--sha", sha).stdout)
    repository = project.registry.split("/", 1)[1] + "/tiny"
    image = project.client().manifest(repository, pushed)
    assert image is not None
    forged = {"image": "tiny", "image_id": "sha256:" + "0" * 64, "tests": 1}
    attachments.attach(
        project.client(),
        registry.parse_reference(ref),
        image,
        passes.PASS,
        json.dumps(forged).encode(),
        echo=lambda line: None,
    )

    pulled = project.run("pull", "tiny", "--sha", sha)
    assert "about another image" in pulled.stderr and "not trusted" in pulled.stderr
    assert project.run("passed", "tiny", "--sha", sha, check=False).returncode == 1
    refused = project.run("promote", "tiny", "--sha", sha, check=False)
    assert refused.returncode == 5 and "no passing test run" in refused.stderr


def test_a_registry_killed_mid_push_fails_clearly_keeps_latest_and_a_retry_succeeds(
    project: Project, docker_client: docker.DockerClient
) -> None:
    good, interrupted = random_sha(), random_sha()
    project.new_nonce()
    ref = project.build("bulky", good)
    project.run("push", "bulky", "--sha", good)
    passes.record(project.root, "bulky", docker_client.images.get(ref).id, ref, tests=1)
    latest = _digest(project.run("promote", "bulky", "--sha", good).stdout)

    project.new_nonce()
    new_id = docker_client.images.get(project.build("bulky", interrupted)).id
    push = subprocess.Popen(
        [IMAGECTL, "push", "bulky", "--sha", interrupted],
        cwd=project.root,
        env=project.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert push.stdout is not None
    seen = []
    for line in push.stdout:
        seen.append(line)
        if line.rstrip().endswith(": Pushing"):  # a layer is on its way
            os.kill(registry_server.recorded_pid(project.state), signal.SIGKILL)
            break
    output = "".join(seen) + push.communicate(timeout=60)[0]
    assert push.returncode == 5, output
    assert "stopped answering" in output and "fix: start the registry again" in output
    assert "Traceback" not in output

    project.run("registry", "up")
    assert project.registry_digest("bulky", "latest") == latest
    assert project.registry_digest("bulky", interrupted) is None
    project.run("push", "bulky", "--sha", interrupted)
    assert project.registry_manifest("bulky", interrupted).config_digest == new_id
    assert project.registry_digest("bulky", "latest") == latest  # push never moves latest
