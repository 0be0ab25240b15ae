"""The scheduled update, as GitLab would run it: gitlab-ci-local runs the schedule pipeline
(CI_PIPELINE_SOURCE=schedule) of .gitlab-ci.yml in a clone of the work tree (harness/
gitlab_local.py). Its pushes go to a local bare repository standing in for the GitLab project
(git's `url.<bare>.pushInsteadOf` for the project's URL), whose real pre-receive hook records
the refs and the push options it receives, and refuses pushes when told to.

Upstream is made by this test, so no verdict depends on what PyPI or a registry holds on the
day it runs. The clone keeps the repository's tool, CI file and test layout, but its image
graph is fixtures/update-project/: one small image, `mini`, standing in for cpu, whose packages
come from `upstream/`, a directory of wheels this test writes (support.make_wheel). The locks
are resolved against it alone (upstream_env) and the image installs from it; it
is committed with the project, as a build sees only tracked files (the jobs run on a copy of
them) and cannot reach an index on the host's loopback. The base is an image this test pushed
to the pipeline's registry, pinned by its digest. So "nothing to update" is true by
construction, and "an upstream release" is a wheel added to upstream/.

The pipelines run in this order, each on the clone's state the one before left: nothing to
update; a requirement that cannot resolve; a release of mini-progress proposed (mini's image
tests pass; the registry has no `latest`, so it is compared with main's image); the same with an
image test failing (a draft), compared with a `latest` now in the registry; a push the remote
refuses.
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
from support import IMAGECTL, make_wheel

from harness.gitlab_local import LocalGitLab, PipelineRun, local_gitlab
from imagectl import config, registry

TOKEN = "glpat-e2e-never-printed-4f1c"  # the masked project access token a project would set
PROJECT = Path(__file__).parent / "fixtures" / "update-project"
# upstream as the project was locked against it: name -> (version, requirements)
UPSTREAM = {
    "mini-core": ("1.0.0", ["mini-dep>=1"]),
    "mini-dep": ("1.0.0", []),
    "mini-progress": ("1.0.0", []),
    "mini-installer": ("1.0.0", []),
}
RELEASED = ("mini-progress", "1.1.0")  # the release the update proposes
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

    def update_branches(self) -> list[str]:
        refs = self.git("for-each-ref", "--format=%(refname:short)", "refs/heads/update/")
        return refs.split()


def upstream_env(clone: Path) -> dict[str, str]:
    """uv resolves against the project's upstream/ alone, whatever index this host is set to.
    UV_NO_INDEX does not do it (uv 0.13's `pip compile` still asked PyPI), so the index uv
    asks is an empty one, every other index variable is emptied, and uv reads no config file
    (the pipelines get no UV_ variable of this process: harness/gitlab_local.py)."""
    empty = clone.parent / "empty-index"
    empty.mkdir(exist_ok=True)
    (empty / "index.html").write_text("<!DOCTYPE html><html><body></body></html>\n")
    return {
        "UV_INDEX_URL": empty.as_uri(),
        "UV_DEFAULT_INDEX": empty.as_uri(),
        "UV_EXTRA_INDEX_URL": "",
        "UV_INDEX": "",
        "UV_NO_CONFIG": "1",
        "UV_FIND_LINKS": str(clone / "upstream"),
    }


def locking_env(clone: Path) -> dict[str, str]:
    """This process's environment for a lock in the project, less its own UV_ variables."""
    own = {k: v for k, v in os.environ.items() if not k.startswith("UV_")}
    return {**own, **upstream_env(clone)}


def make_update_project(gitlab: LocalGitLab, docker_client: docker.DockerClient) -> str:
    """The clone becomes the update project (its images and upstream), locked and committed;
    returns the base pin."""
    clone = gitlab.clone
    shutil.rmtree(clone / "docker" / "requirements")
    shutil.copytree(PROJECT, clone, dirs_exist_ok=True)
    for name, (version, requires) in UPSTREAM.items():
        make_wheel(clone / "upstream", name, version, requires)
    # the base: this host's, pushed to the pipeline's registry and pinned by that digest
    graph = config.load(clone)
    repository = f"{gitlab.registry_host}/mini-base"
    docker_client.images.get(graph.base.local_name).tag(repository, tag=graph.base.suite)
    docker_client.images.push(repository, tag=graph.base.suite)
    found = registry.RegistryClient(gitlab.registry_host).manifest("mini-base", graph.base.suite)
    assert found is not None
    pin = f"{repository}:{graph.base.suite}@{found.digest}"
    images = clone / "images.yml"
    images.write_text(images.read_text().replace("BASE_PIN", pin))
    subprocess.run([IMAGECTL, "lock"], cwd=clone, env=locking_env(clone), check=True)
    gitlab.git("add", "-A")
    gitlab.git("commit", "-qm", "the update project: mini, its upstream and base")
    return pin


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
def base_pin(gitlab: LocalGitLab, docker_client: docker.DockerClient) -> str:
    return make_update_project(gitlab, docker_client)


@pytest.fixture(scope="module")
def origin(gitlab: LocalGitLab, base_pin: str) -> Iterator[Origin]:
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


@dataclass
class Scheduled:
    """A schedule pipeline's run, and the UTC dates it began and ended on (the update names
    its branch by the date; a run may cross midnight)."""

    run: PipelineRun
    dates: set[str]


def scheduled(gitlab: LocalGitLab, name: str, extra: dict[str, str] | None = None) -> Scheduled:
    """The schedule pipeline of the clone's main, its log kept beside the clone."""
    variables = {
        "CI_PIPELINE_SOURCE": "schedule",
        "UPDATE_PUSH_TOKEN": TOKEN,
        **upstream_env(gitlab.clone),
        **(extra or {}),
    }
    began = today()
    run = gitlab.run_pipeline(extra=variables, log=gitlab.clone.parent / f"{name}.log")
    return Scheduled(run, {began, today()})


def update_pushes(origin: Origin) -> list[dict]:
    return [p for p in origin.pushes() if any("refs/heads/update/" in r[2] for r in p["refs"])]


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def test_a_schedule_pipeline_with_nothing_to_update_runs_only_update_and_pushes_nothing(
    gitlab: LocalGitLab, origin: Origin, base_pin: str
) -> None:
    pipeline = scheduled(gitlab, "1-nothing").run
    assert pipeline.returncode == 0, pipeline.tail()
    assert pipeline.jobs == {"update": "PASS"}
    assert "nothing to update" in pipeline.output
    # the base pin is refreshed too: its tag still names the pinned digest
    tag = base_pin.split("@")[0]
    assert f"base: {tag}: the pin is current ({base_pin})" in pipeline.output
    assert "committed" not in pipeline.output
    assert update_pushes(origin) == []
    assert origin.update_branches() == []


def test_a_requirement_that_no_longer_resolves_fails_naming_the_package(
    gitlab: LocalGitLab, origin: Origin
) -> None:
    requirements = gitlab.clone / "docker/requirements/mini.in"
    original = requirements.read_text()
    requirements.write_text(original.replace("\nmini-progress\n", "\nmini-progress>=999\n"))
    gitlab.git("commit", "-qam", "ask for a mini-progress that does not exist")
    try:
        pipeline = scheduled(gitlab, "2-unresolvable").run
    finally:
        gitlab.git("reset", "-q", "--hard", "HEAD~1")
    assert pipeline.returncode != 0
    assert pipeline.jobs == {"update": "FAIL"}
    assert "error: locking mini.in failed:" in pipeline.output
    assert "you require mini-progress>=999" in pipeline.output
    assert update_pushes(origin) == []


def test_the_update_projects_upstream_is_the_only_index_uv_asks(
    gitlab: LocalGitLab, tmp_path: Path
) -> None:
    # a package PyPI has and upstream/ has not is not found: no lock here reads PyPI
    requirements = tmp_path / "pypi-only.in"
    requirements.write_text("numpy\n")
    resolved = subprocess.run(
        [str(Path(IMAGECTL).with_name("uv")), "pip", "compile", "--quiet", str(requirements)],
        env=locking_env(gitlab.clone),
        capture_output=True,
        text=True,
    )
    assert resolved.returncode != 0
    assert "numpy was not found in the package registry" in resolved.stderr


@pytest.fixture(scope="module")
def released(gitlab: LocalGitLab, origin: Origin) -> str:
    """main after upstream released a new mini-progress (committed, as upstream/ is)."""
    name, version = RELEASED
    make_wheel(gitlab.clone / "upstream", name, version)
    gitlab.git("add", "upstream")
    gitlab.git("commit", "-qm", f"upstream releases {name} {version}")
    return gitlab.git("rev-parse", "HEAD")


@pytest.fixture(scope="module")
def proposed(gitlab: LocalGitLab, origin: Origin, released: str) -> Scheduled:
    return scheduled(gitlab, "3-proposed")


def test_an_upstream_release_is_proposed_as_a_merge_request_with_the_report(
    gitlab: LocalGitLab, origin: Origin, released: str, proposed: Scheduled
) -> None:
    run = proposed.run
    assert run.returncode == 0, run.tail()
    assert run.jobs == {"update": "PASS"}
    (branch,) = origin.update_branches()
    date = branch.removeprefix("update/")
    assert date in proposed.dates
    # one commit on top of main, holding the moved pins and nothing else
    assert origin.git("rev-parse", f"{branch}~1") == released
    changed = origin.git("diff", "--name-only", released, branch).split()
    assert changed == [
        "docker/requirements/mini.layers/2-extras.txt",
        "docker/requirements/mini.lock",
    ]
    name, version = RELEASED
    assert f"\n{name}=={version} " in origin.git("show", f"{branch}:docker/requirements/mini.lock")

    options = origin.options()
    assert set(options) == {
        "merge_request.create",
        "merge_request.target",
        "merge_request.title",
        "merge_request.description",
        "merge_request.remove_source_branch",
    }
    assert options["merge_request.target"] == "main"
    assert options["merge_request.title"] == f"Update {date}: {name} 1.0.0 → {version}"
    description = options["merge_request.description"].replace("\\n", "\n")
    assert f"| {name} | 1.0.0 | {version} | upgraded |" in description
    assert "## mini: tests passed" in description
    assert "| to pull, for a user of latest |" in description
    assert "| image size |" in description
    assert "**Debian packages:** no change" in description
    assert f"the image of {released[:12]}, where the update started" in description
    # the report is the job's artifact too, and the token shows nowhere
    artifact = gitlab.clone / ".gitlab-ci-local/artifacts/update/build/update/report.md"
    assert artifact.read_text().strip() == description.strip()
    assert TOKEN not in run.output


@pytest.fixture(scope="module")
def promoted_latest(gitlab: LocalGitLab, docker_client: docker.DockerClient, base_pin: str) -> str:
    """A `latest` in the registry, as if promoted meanwhile. Any image shows which one the
    update compares with: the base, which holds no Python packages."""
    repository = f"{gitlab.registry_url}/mini"
    docker_client.images.get(base_pin).tag(repository, tag="latest")
    docker_client.images.push(repository, tag="latest")
    digest = gitlab.digest("mini", "latest")
    assert digest is not None
    return digest


def test_a_failing_image_test_still_opens_the_merge_request_as_a_draft_and_never_promotes(
    gitlab: LocalGitLab,
    origin: Origin,
    proposed: Scheduled,
    promoted_latest: str,
    tmp_path: Path,
) -> None:
    # one failing check, added through pytest's own PYTEST_ADDOPTS; -x ends the run there
    failing = tmp_path / "test_injected_failure.py"
    failing.write_text("def test_injected_failure():\n    assert False, 'injected failure'\n")
    before = len(origin.pushes())
    scheduled_run = scheduled(gitlab, "4-failing-test", {"PYTEST_ADDOPTS": f"-x {failing}"})
    pipeline = scheduled_run.run
    assert pipeline.returncode != 0
    assert pipeline.jobs == {"update": "FAIL"}
    assert len(origin.pushes()) == before + 1
    options = origin.options()
    title = options["merge_request.title"]
    assert any(title.startswith(f"Draft: Update {date}: ") for date in scheduled_run.dates)
    description = options["merge_request.description"].replace("\\n", "\n")
    assert "## mini: tests FAILED" in description
    assert "test_injected_failure" in description and "injected failure" in description
    assert "error: the update's build or image tests failed for mini (opened as a draft)" in (
        pipeline.output
    )
    # compared with what users have: the registry's latest, pulled by digest
    assert (
        f"Compared with the registry's latest, `{gitlab.registry_url}/mini@{promoted_latest}`"
        in (description)
    )
    assert f"| {RELEASED[0]} |  | " in description  # the base has no Python packages: all added
    assert gitlab.digest("mini", "latest") == promoted_latest  # never promoted


def test_a_push_the_remote_refuses_fails_the_pipeline_with_gits_message(
    gitlab: LocalGitLab, origin: Origin, proposed: Scheduled, tmp_path: Path
) -> None:
    (branch,) = origin.update_branches()
    before = origin.branch(branch)
    (origin.path / "reject").write_text("GL-HOOK-ERR: update branches are frozen today")
    # the image tests fail fast here (as above): what is checked is the push
    failing = tmp_path / "test_injected_failure.py"
    failing.write_text("def test_injected_failure():\n    assert False\n")
    try:
        scheduled_run = scheduled(gitlab, "5-push-refused", {"PYTEST_ADDOPTS": f"-x {failing}"})
    finally:
        (origin.path / "reject").unlink()
    pipeline = scheduled_run.run
    assert pipeline.returncode != 0
    assert pipeline.jobs == {"update": "FAIL"}
    assert any(
        f"error: the remote refused the push of update/{date}" in pipeline.output
        for date in scheduled_run.dates
    )
    assert "GL-HOOK-ERR: update branches are frozen today" in pipeline.output
    assert origin.branch(branch) == before
    assert TOKEN not in pipeline.output
