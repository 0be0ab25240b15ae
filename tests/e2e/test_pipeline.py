"""The GitLab pipeline (.gitlab-ci.yml, its build jobs from the build-dockerfile component) run by
gitlab-ci-local (tests/harness/gitlab_local.py): whole pipelines, in a clone of the work tree,
against a registry of their own that stands in for the project's GitLab registry.

These runs set SKIP_GPU=1: building the gpu image costs minutes, and its test job needs the
self-hosted GPU runner; so gpu is neither built, tested nor promoted here, and the pipeline
says so. The pipelines run in this order and build on each other's registry state: a merge
request (commit A), A merged by fast-forward into the default branch, then on that branch a
commit whose image test fails (C) and one whose SHA tag already holds another image (D).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from harness.gitlab_local import (
    LocalGitLab,
    PipelineRun,
    clone_work_tree,
    local_gitlab,
)
from imagectl import publish, registry, sbom


def test_clone_holds_the_work_tree_uncommitted_changes_included_and_leaves_it_as_it_was(
    tmp_path: Path,
) -> None:
    source = tmp_path / "source"
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost", "-C", str(source)]
    source.mkdir()
    (source / ".gitignore").write_text("ignored.txt\n")
    for name in ("kept.txt", "changed.txt", "deleted.txt"):
        (source / name).write_text("committed\n")
    subprocess.run([*git, "init", "-q", "-b", "work"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "base"], check=True)
    (source / "changed.txt").write_text("changed\n")
    (source / "deleted.txt").unlink()
    (source / "new.txt").write_text("new\n")
    (source / "ignored.txt").write_text("ignored\n")
    status = subprocess.run([*git, "status", "--porcelain"], capture_output=True).stdout

    clone = tmp_path / "clone"
    clone_work_tree(source, clone)
    in_clone = ["git", "-C", str(clone)]
    committed = subprocess.run([*in_clone, "ls-files"], capture_output=True, text=True).stdout
    assert committed.split() == [".gitignore", "changed.txt", "kept.txt", "new.txt"]
    assert (clone / "changed.txt").read_text() == "changed\n"
    assert not (clone / "ignored.txt").exists()
    branch = subprocess.run([*in_clone, "branch", "--show-current"], capture_output=True)
    assert branch.stdout.decode().strip() == "main"
    # the default branch is main too, though the source is on another branch
    default = subprocess.run(
        [*in_clone, "symbolic-ref", "--short", "refs/remotes/origin/HEAD"], capture_output=True
    )
    assert default.stdout.decode().strip() == "origin/main"
    assert subprocess.run([*in_clone, "status", "--porcelain"], capture_output=True).stdout == b""
    assert subprocess.run([*git, "status", "--porcelain"], capture_output=True).stdout == status


@pytest.fixture(scope="module")
def gitlab(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[LocalGitLab]:
    with local_gitlab(tmp_path_factory.mktemp("pipeline"), docker_client) as local:
        yield local


def _said_by(job: str, line: str) -> bool:
    """Whether gitlab-ci-local's output `line` is job `job`'s (test-cpu's, not test-cpu-arm64's)."""
    return re.search(rf"(?<![\w-]){re.escape(job)}(?![\w-])", line) is not None


def run(
    gitlab: LocalGitLab,
    name: str,
    merge_request: bool = False,
    extra: dict[str, str] | None = None,
) -> PipelineRun:
    """A whole pipeline, its output kept beside the clone for a look after a failure."""
    log = gitlab.clone.parent / f"{name}.log"
    return gitlab.run_pipeline(merge_request=merge_request, extra=extra, log=log)


@pytest.fixture(scope="module")
def earlier_latest(gitlab: LocalGitLab, docker_client: docker.DockerClient) -> str:
    """A `latest` from before these pipelines (any image will do: the base, as it is small)."""
    base = gitlab.variables["DEBIAN_IMAGE"]  # an index in the pipeline's registry
    repository = f"{gitlab.registry_url}/cpu"
    docker_client.images.pull(base).tag(repository, tag="latest")
    docker_client.images.push(repository, tag="latest")
    digest = gitlab.digest("cpu", "latest")
    assert digest is not None
    return digest


@pytest.fixture(scope="module")
def merge_request(gitlab: LocalGitLab, earlier_latest: str) -> tuple[str, PipelineRun]:
    """A merge request's pipeline for commit A, on a feature branch."""
    sha = gitlab.commit("a change under review", branch="feature")
    return sha, run(gitlab, "A-merge-request", merge_request=True)


def test_merge_request_pipeline_pushes_its_sha_tag_and_leaves_latest(
    gitlab: LocalGitLab, earlier_latest: str, merge_request: tuple[str, PipelineRun]
) -> None:
    sha, pipeline = merge_request
    assert pipeline.returncode == 0, pipeline.tail()
    assert pipeline.jobs == {
        "lint": "PASS",
        "build-cpu": "PASS",
        "test-cpu": "PASS",
        "test-cpu-arm64": "PASS",
    }
    assert f"pushed {gitlab.registry_url}/cpu:{sha}" in pipeline.output
    pushed = gitlab.digest("cpu", sha)
    assert pushed is not None and pushed != earlier_latest
    assert gitlab.digest("cpu", "latest") == earlier_latest


def test_merge_request_pipeline_pushes_one_index_over_amd64_and_arm64(
    gitlab: LocalGitLab, merge_request: tuple[str, PipelineRun]
) -> None:
    sha, pipeline = merge_request
    assert pipeline.returncode == 0, pipeline.tail()
    client = registry.RegistryClient(gitlab.registry_host)
    repository = f"{gitlab.project_path}/cpu"
    index = client.manifest(repository, sha)
    assert index is not None and index.is_index
    assert sorted(index.platforms) == ["linux/amd64", "linux/arm64"]
    for platform in ("linux/amd64", "linux/arm64"):
        config = client.image_config(repository, sha, platform)
        assert config is not None and config["architecture"] == platform.split("/")[1]
        # each platform's own SHA tag is the very image the index names
        child = index.child(platform)
        assert (
            child is not None
            and gitlab.digest("cpu", f"{sha}-{platform.replace('/', '-')}") == child.digest
        )
    # the arm64 job tested the arm64 image, under QEMU
    assert "test-cpu-arm64" in pipeline.output and "linux/arm64 runs under QEMU" in pipeline.output


def test_build_job_reports_the_images_sbom_and_the_test_job_attaches_it(
    gitlab: LocalGitLab, merge_request: tuple[str, PipelineRun]
) -> None:
    sha, pipeline = merge_request
    assert pipeline.returncode == 0, pipeline.tail()
    # the build job's cyclonedx report (gitlab-ci-local keeps a job's artifacts here)
    report = gitlab.clone / ".gitlab-ci-local/artifacts/build-cpu/gl-sbom-cpu.cdx.json"
    assert report.is_file(), pipeline.tail()
    carried = sbom.parse(report.read_text())
    assert carried.metadata.component.name == "cpu"
    assert any(c.name == "numpy" for c in carried.components)
    # and in the registry, attached to the digest the merge request pushed
    ref = registry.parse_reference(f"{gitlab.registry_url}/cpu:{sha}")
    client = registry.RegistryClient(ref.host)
    attached = sbom.parse(publish.fetch_sbom(client, ref, "linux/amd64"))
    amd64 = client.platform_manifest(ref.repository, sha, "linux/amd64")
    assert amd64 is not None and attached.metadata.component.purl.version == amd64.digest
    assert {str(c.purl) for c in attached.components} == {str(c.purl) for c in carried.components}


@pytest.fixture(scope="module")
def merged(gitlab: LocalGitLab, merge_request: tuple[str, PipelineRun]) -> PipelineRun:
    """The default branch's pipeline after A was merged by fast-forward (the same SHA)."""
    assert gitlab.merge("feature") == merge_request[0]
    return run(gitlab, "A-default-branch")


def test_default_branch_pipeline_moves_latest_to_the_image_the_merge_request_tested(
    gitlab: LocalGitLab,
    earlier_latest: str,
    merge_request: tuple[str, PipelineRun],
    merged: PipelineRun,
) -> None:
    sha, _ = merge_request
    tested = gitlab.digest("cpu", sha)
    assert merged.returncode == 0, merged.tail()
    assert merged.jobs == {
        "lint": "PASS",
        "build-cpu": "PASS",
        "test-cpu": "PASS",
        "test-cpu-arm64": "PASS",
        "promote": "PASS",
    }
    # the SHA tag is not rebuilt (a rebuild would be another image): the tested one goes on
    assert "reused as it is (a SHA tag never moves), not rebuilt" in merged.output
    # and not tested again: each test job pulled the pass the merge request attached to it
    for job in ("test-cpu", "test-cpu-arm64"):
        said = [line for line in merged.output.splitlines() if _said_by(job, line)]
        assert any("not tested again" in line for line in said), merged.tail()
        assert not any(re.search(r"=+ \d+ passed.* in [\d.]+s", line) for line in said), said
    assert gitlab.digest("cpu", sha) == tested
    assert gitlab.digest("cpu", "latest") == tested
    assert f"latest: {earlier_latest} -> {tested}" in merged.output
    assert "SKIP_GPU=1: gpu was neither built nor tested" in merged.output
    assert gitlab.digest("gpu", sha) is None and gitlab.digest("gpu", "latest") is None


def test_failing_image_test_stops_the_pipeline_before_latest_moves(
    gitlab: LocalGitLab, merged: PipelineRun, tmp_path: Path
) -> None:
    latest = gitlab.digest("cpu", "latest")
    sha = gitlab.commit("a commit whose image test fails")
    # one failing check, added through pytest's own PYTEST_ADDOPTS; -x ends the run there
    failing = tmp_path / "test_injected_failure.py"
    failing.write_text("def test_injected_failure():\n    assert False, 'injected failure'\n")
    pipeline = run(gitlab, "C-failing-test", extra={"PYTEST_ADDOPTS": f"-x {failing}"})
    assert pipeline.returncode != 0
    assert pipeline.jobs == {
        "lint": "PASS",
        "build-cpu": "PASS",
        "test-cpu": "FAIL",
        "test-cpu-arm64": "FAIL",
    }
    assert "injected failure" in pipeline.output
    assert gitlab.digest("cpu", sha) is not None  # built and pushed, never promoted
    assert gitlab.digest("cpu", "latest") == latest


def test_build_refuses_a_sha_tag_that_holds_another_image(
    gitlab: LocalGitLab, merge_request: tuple[str, PipelineRun], docker_client: docker.DockerClient
) -> None:
    latest = gitlab.digest("cpu", "latest")
    sha = gitlab.commit("a commit whose tag someone else pushed")
    # the cpu image of the merge request, pushed under the new commit's tag
    squatter = f"{gitlab.registry_url}/cpu:{sha}"
    docker_client.images.get(f"{gitlab.registry_url}/cpu:{merge_request[0]}").tag(squatter)
    docker_client.images.push(squatter.rsplit(":", 1)[0], tag=sha)
    before = gitlab.digest("cpu", sha)

    pipeline = run(gitlab, "D-tag-taken")
    assert pipeline.returncode != 0
    assert pipeline.jobs == {"lint": "PASS", "build-cpu": "FAIL"}
    assert "refusing to push" in pipeline.output and "a SHA tag never moves" in pipeline.output
    assert gitlab.digest("cpu", sha) == before
    assert gitlab.digest("cpu", "latest") == latest
