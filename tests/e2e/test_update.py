"""The scheduled update, as GitLab would run it: gitlab-ci-local runs the schedule pipeline
(CI_PIPELINE_SOURCE=schedule) of .gitlab-ci.yml in a clone of the work tree (gitlab_local.py).
Its pushes go to a local bare repository standing in for the GitLab project (git's
`url.<bare>.pushInsteadOf` for the project's URL), whose real pre-receive hook records the
refs and the push options it receives, and refuses pushes when told to.

Upstream is frozen at the time the repository's locks were last committed (UV_EXCLUDE_NEWER),
when they were current: so the clone as it is has nothing to update, whatever was released
since, and pinning an older tqdm in the clone's lock is "an upstream release" that the update
moves forward. Only cpu is built and tested (UPDATE_IMAGES=cpu; gpu needs minutes and a GPU
runner). The pipelines run in this order, each on the clone's state the one before left:
nothing to update; a requirement that cannot resolve; the older tqdm proposed (cpu's image
tests pass; the registry has no `latest`, so it is compared with main's image); the same with
an image test failing (a draft), compared with a `latest` now in the registry; a push the
remote refuses.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import docker
import pytest
from support import ROOT

from harness.gitlab_local import LocalGitLab, PipelineRun, local_gitlab
from imagectl import layers, lock

TOKEN = "glpat-e2e-never-printed-4f1c"  # the masked project access token a project would set
OLDER = "tqdm==4.67.1"
HOOK = """#!/usr/bin/env python3
# pre-receive: record each push's ref updates and push options; refuse it when ./reject exists
import json, os, sys
count = int(os.environ.get("GIT_PUSH_OPTION_COUNT", "0"))
options = [os.environ[f"GIT_PUSH_OPTION_{i}"] for i in range(count)]
refs = [line.split() for line in sys.stdin.read().splitlines()]
with open("pushes.jsonl", "a") as log:
    log.write(json.dumps({"refs": refs, "options": options}) + "\\n")
if os.path.exists("reject"):
    print(open("reject").read().strip())
    sys.exit(1)
"""


@dataclass
class Origin:
    """The bare repository the update pushes to."""

    path: Path

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(self.path), *args], check=True, capture_output=True, text=True
        ).stdout.strip()

    def pushes(self) -> list[dict]:
        log = self.path / "pushes.jsonl"
        lines = log.read_text().splitlines() if log.is_file() else []
        return [json.loads(line) for line in lines]

    def options(self) -> dict[str, str]:
        """The last push's options, as {name: value} (a bare option maps to "")."""
        return dict((o.split("=", 1) + [""])[:2] for o in self.pushes()[-1]["options"])

    def branch(self, name: str) -> str | None:
        found = subprocess.run(
            ["git", "-C", str(self.path), "rev-parse", "--verify", "--quiet", name],
            capture_output=True,
            text=True,
        )
        return found.stdout.strip() or None


def upstream_as_of() -> str:
    """When the repository's locks were last committed (now, if they have uncommitted changes)."""
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "docker/requirements"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    committed = subprocess.run(
        ["git", "log", "-1", "--format=%cI", "--", "docker/requirements"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return datetime.now(UTC).isoformat() if dirty or not committed else committed


@pytest.fixture(scope="module")
def gitlab(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[LocalGitLab]:
    with local_gitlab(tmp_path_factory.mktemp("update"), docker_client) as local:
        # only main: a branch named `update` (the work tree's, say) would block update/<date>
        for branch in local.git("branch", "--format=%(refname:short)").split():
            if branch != "main":
                local.git("branch", "-q", "-D", branch)
        yield local


@pytest.fixture(scope="module")
def origin(gitlab: LocalGitLab) -> Iterator[Origin]:
    bare = Origin(gitlab.clone.parent / "origin.git")
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare.path)], check=True)
    bare.git("config", "receive.advertisePushOptions", "true")
    gitlab.git("push", "-q", str(bare.path), "main")
    hook = bare.path / "hooks" / "pre-receive"
    hook.write_text(HOOK)
    hook.chmod(0o755)
    # pushes to the project's URL (what the job pushes to) land in the bare repository; the
    # fetch URL stays the project's, from which gitlab-ci-local names the project
    gitlab.git("config", f"url.{bare.path}.pushInsteadOf", f"{gitlab.project_url}.git")
    try:
        yield bare
    finally:
        shutil.rmtree(bare.path, ignore_errors=True)


def scheduled(gitlab: LocalGitLab, name: str, extra: dict[str, str] | None = None) -> PipelineRun:
    """The schedule pipeline of the clone's main, its log kept beside the clone."""
    variables = {
        "CI_PIPELINE_SOURCE": "schedule",
        "UPDATE_IMAGES": "cpu",
        "UPDATE_PUSH_TOKEN": TOKEN,
        "UV_EXCLUDE_NEWER": upstream_as_of(),
        **(extra or {}),
    }
    return gitlab.run_pipeline(extra=variables, log=gitlab.clone.parent / f"{name}.log")


def update_pushes(origin: Origin) -> list[dict]:
    return [p for p in origin.pushes() if any("refs/heads/update/" in r[2] for r in p["refs"])]


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def test_a_schedule_pipeline_with_nothing_to_update_runs_only_update_and_pushes_nothing(
    gitlab: LocalGitLab, origin: Origin
) -> None:
    pipeline = scheduled(gitlab, "1-nothing")
    assert pipeline.returncode == 0, pipeline.tail()
    assert pipeline.jobs == {"update": "PASS"}
    assert "nothing to update" in pipeline.output
    # the base pin is refreshed too; where its registry is out of reach, that is said
    base_line = next(line for line in pipeline.output.splitlines() if "> base: " in line)
    assert "the pin stays" in base_line if "cannot pull" in base_line else "the pin" in base_line
    assert "committed" not in pipeline.output
    assert update_pushes(origin) == []
    assert origin.branch(f"update/{today()}") is None


def test_a_requirement_that_no_longer_resolves_fails_naming_the_package(
    gitlab: LocalGitLab, origin: Origin
) -> None:
    requirements = gitlab.clone / "docker/requirements/cpu.in"
    original = requirements.read_text()
    requirements.write_text(original.replace("\ntqdm\n", "\ntqdm>=999\n"))
    gitlab.git("commit", "-qam", "ask for a tqdm that does not exist")
    try:
        pipeline = scheduled(gitlab, "2-unresolvable")
    finally:
        gitlab.git("reset", "-q", "--hard", "HEAD~1")
    assert pipeline.returncode != 0
    assert pipeline.jobs == {"update": "FAIL"}
    assert "error: locking cpu.in failed:" in pipeline.output
    assert "you require tqdm>=999" in pipeline.output
    assert update_pushes(origin) == []


@pytest.fixture(scope="module")
def older_tqdm(gitlab: LocalGitLab, origin: Origin) -> str:
    """main with an older tqdm in cpu.lock (cpu.in unchanged): what the update moves forward."""
    requirements = gitlab.clone / "docker/requirements/cpu.in"
    original = requirements.read_text()
    requirements.write_text(original.replace("\ntqdm\n", f"\n{OLDER}\n"))
    outer = os.environ.get("UV_EXCLUDE_NEWER")
    os.environ["UV_EXCLUDE_NEWER"] = upstream_as_of()
    try:
        layers.write_layers(requirements, lock.compile_lock(requirements))
    finally:
        requirements.write_text(original)
        os.environ.pop("UV_EXCLUDE_NEWER")
        if outer is not None:
            os.environ["UV_EXCLUDE_NEWER"] = outer
    assert OLDER in (gitlab.clone / "docker/requirements/cpu.lock").read_text()
    gitlab.git("commit", "-qam", f"pin {OLDER}")
    return gitlab.git("rev-parse", "HEAD")


@pytest.fixture(scope="module")
def proposed(gitlab: LocalGitLab, origin: Origin, older_tqdm: str) -> PipelineRun:
    return scheduled(gitlab, "3-proposed")


def test_an_upstream_release_is_proposed_as_a_merge_request_with_the_report(
    gitlab: LocalGitLab, origin: Origin, older_tqdm: str, proposed: PipelineRun
) -> None:
    assert proposed.returncode == 0, proposed.tail()
    assert proposed.jobs == {"update": "PASS"}
    branch = f"update/{today()}"
    head = origin.branch(branch)
    assert head is not None, proposed.tail()
    # one commit on top of main, holding the moved pins and nothing else
    assert origin.git("rev-parse", f"{branch}~1") == older_tqdm
    changed = origin.git("diff", "--name-only", older_tqdm, branch).split()
    assert changed == [
        "docker/requirements/cpu.layers/4-extras.txt",
        "docker/requirements/cpu.lock",
    ]
    locked = lock.pinned_versions(ROOT / "docker/requirements/cpu.lock")["tqdm"]
    assert f"tqdm=={locked}" in origin.git("show", f"{branch}:docker/requirements/cpu.lock")

    options = origin.options()
    assert set(options) == {
        "merge_request.create",
        "merge_request.target",
        "merge_request.title",
        "merge_request.description",
        "merge_request.remove_source_branch",
    }
    assert options["merge_request.target"] == "main"
    assert options["merge_request.title"] == f"Update {today()}: tqdm 4.67.1 → {locked}"
    description = options["merge_request.description"].replace("\\n", "\n")
    assert f"| tqdm | 4.67.1 | {locked} | upgraded |" in description
    assert "## cpu: tests passed" in description
    assert "| to pull, for a user of latest |" in description
    assert "| image size |" in description
    assert "**Debian packages:** no change" in description
    assert f"the image of {older_tqdm[:12]}, where the update started" in description
    # the report is the job's artifact too, and the token shows nowhere
    artifact = gitlab.clone / ".gitlab-ci-local/artifacts/update/build/update/report.md"
    assert artifact.read_text().strip() == description.strip()
    assert TOKEN not in proposed.output


@pytest.fixture(scope="module")
def promoted_latest(gitlab: LocalGitLab, docker_client: docker.DockerClient) -> str:
    """A `latest` in the registry, as if promoted meanwhile. Any image shows which one the
    update compares with; the base is small (cpu's 0.6 GB push would add a minute or two)."""
    repository = f"{gitlab.registry_url}/cpu"
    # DEBIAN_IMAGE is an index of the bases in the pipeline's registry: this host's platform
    docker_client.images.pull(gitlab.variables["DEBIAN_IMAGE"]).tag(repository, tag="latest")
    docker_client.images.push(repository, tag="latest")
    digest = gitlab.digest("cpu", "latest")
    assert digest is not None
    return digest


def test_a_failing_image_test_still_opens_the_merge_request_as_a_draft_and_never_promotes(
    gitlab: LocalGitLab,
    origin: Origin,
    proposed: PipelineRun,
    promoted_latest: str,
    tmp_path: Path,
) -> None:
    # one failing check, added through pytest's own PYTEST_ADDOPTS; -x ends the run there
    failing = tmp_path / "test_injected_failure.py"
    failing.write_text("def test_injected_failure():\n    assert False, 'injected failure'\n")
    before = len(origin.pushes())
    pipeline = scheduled(gitlab, "4-failing-test", {"PYTEST_ADDOPTS": f"-x {failing}"})
    assert pipeline.returncode != 0
    assert pipeline.jobs == {"update": "FAIL"}
    assert len(origin.pushes()) == before + 1
    options = origin.options()
    assert options["merge_request.title"].startswith(f"Draft: Update {today()}: ")
    description = options["merge_request.description"].replace("\\n", "\n")
    assert "## cpu: tests FAILED" in description
    assert "test_injected_failure" in description and "injected failure" in description
    assert "error: the update's build or image tests failed for cpu (opened as a draft)" in (
        pipeline.output
    )
    # compared with what users have: the registry's latest, pulled by digest
    assert (
        f"Compared with the registry's latest, `{gitlab.registry_url}/cpu@{promoted_latest}`"
        in (description)
    )
    assert "| tqdm |  | " in description  # the base has no Python packages: all added
    assert gitlab.digest("cpu", "latest") == promoted_latest  # never promoted


def test_a_push_the_remote_refuses_fails_the_pipeline_with_gits_message(
    gitlab: LocalGitLab, origin: Origin, proposed: PipelineRun, tmp_path: Path
) -> None:
    branch = f"update/{today()}"
    before = origin.branch(branch)
    (origin.path / "reject").write_text("GL-HOOK-ERR: update branches are frozen today")
    # the image tests fail fast here (as above): what is checked is the push
    failing = tmp_path / "test_injected_failure.py"
    failing.write_text("def test_injected_failure():\n    assert False\n")
    try:
        pipeline = scheduled(gitlab, "5-push-refused", {"PYTEST_ADDOPTS": f"-x {failing}"})
    finally:
        (origin.path / "reject").unlink()
    assert pipeline.returncode != 0
    assert pipeline.jobs == {"update": "FAIL"}
    assert "error: the remote refused the push of " + branch in pipeline.output
    assert "GL-HOOK-ERR: update branches are frozen today" in pipeline.output
    assert origin.branch(branch) == before
    assert TOKEN not in pipeline.output
