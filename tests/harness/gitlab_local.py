"""Running .gitlab-ci.yml on this host with gitlab-ci-local, as GitLab would run it.

A pipeline runs in a throwaway clone of the repository (gitlab-ci-local reads tracked files
only), holding the work tree as it is, uncommitted changes included, so neither the tests nor
the bench depend on or dirty the work tree. Images go to a registry of its own on a free
loopback port, which acts as the project's GitLab registry (CI_REGISTRY). The jobs run with
the shell executor (the file's `image:` and dind service are for GitLab's runners) on this
host's engine, with the BuildKit-capable client, and the Python tools of the running venv.
Used by tests/e2e/test_pipeline.py, tests/e2e/test_component.py and
scripts/bench_pipeline.py.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors

from harness import node_tools
from imagectl import base, config, engine, host, platforms, registry, registry_server
from imagectl.errors import EngineError

ROOT = Path(__file__).resolve().parents[2]
# a merge request's pipeline runs the arm64 image tests under QEMU: ~10 minutes on 2 idle cores
PIPELINE_TIMEOUT_S = 1800
# Variables of an outer shell or CI that would leak into the jobs: another registry, commit,
# login, pytest options or package index.
_OUTSIDE = re.compile(r"^(CI_|GITLAB_|REGISTRY_|PYTEST_|DOCKER_|BUILDKIT_|UV_)")
_SUMMARY = re.compile(r"^\s*(PASS|FAIL|WARN)\s+(?:\[[^\]]*\]\s+)?(\S+)\s*$")


class PipelineSetupError(RuntimeError):
    """Something the pipeline runs need is missing; the message says what to do."""


def gitlab_ci_local() -> Path:
    """The pinned gitlab-ci-local (`make test-tools`), and the rsync it needs."""
    try:
        found = node_tools.require("gitlab-ci-local")
    except node_tools.NodeToolError as exc:
        raise PipelineSetupError(str(exc)) from None
    # gitlab-ci-local copies the checkout with rsync; Debian's, installed as root on demand
    try:
        host.ensure_debian_packages({"rsync": "rsync"}, "running pipelines with gitlab-ci-local")
    except EngineError as exc:
        raise PipelineSetupError(str(exc)) from None
    return found


def _job_env() -> dict[str, str]:
    """This process's environment less what would leak into the jobs, with the pinned Node.js
    first on PATH (gitlab-ci-local runs on it)."""
    return node_tools.env({k: v for k, v in os.environ.items() if not _OUTSIDE.match(k)})


def list_jobs(clone: Path, ci_file: str = ".gitlab-ci.yml", preview: bool = False) -> PipelineRun:
    """`gitlab-ci-local --list` of a CI file in a clone: the pipeline created (includes expanded,
    inputs checked, rules evaluated) and its jobs listed, none run; with `preview`, its
    `--preview` instead: the configuration as YAML, includes and extends resolved."""
    start = time.monotonic()
    result = subprocess.run(
        [str(node_tools.path("gitlab-ci-local")), "--no-color"]
        + ["--preview" if preview else "--list", "--file", ci_file],
        cwd=clone,
        env=_job_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
    )
    return PipelineRun(result.returncode, result.stdout, time.monotonic() - start)


@dataclass
class PipelineRun:
    returncode: int
    output: str
    seconds: float

    @property
    def jobs(self) -> dict[str, str]:
        """{job: PASS, FAIL or WARN} from gitlab-ci-local's closing summary."""
        return {
            match[2]: match[1]
            for line in self.output.splitlines()
            if (match := _SUMMARY.match(line))
        }

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


@dataclass
class LocalGitLab:
    """A clone, its own registry, and the variables that point the pipeline at both."""

    clone: Path
    registry_host: str  # host:port, the pipeline's CI_REGISTRY
    project_path: str  # group/project, from the clone's origin URL
    state_dir: Path  # the registry's config, log and storage
    variables: dict[str, str] = field(default_factory=dict)

    @property
    def registry_url(self) -> str:
        """$CI_REGISTRY_IMAGE as gitlab-ci-local derives it, the template's REGISTRY_URL."""
        return f"{self.registry_host}/{self.project_path}"

    @property
    def project_url(self) -> str:
        return f"https://gitlab.example.invalid/{self.project_path}"

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=e2e", "-c", "user.email=e2e@localhost", *args],
            cwd=self.clone,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    def commit(self, message: str, branch: str = "main") -> str:
        """An empty commit on `branch` (branched off HEAD if new): a new SHA, the same image
        content."""
        exists = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
            cwd=self.clone,
            capture_output=True,
        )
        self.git("checkout", "-q", *([] if exists.returncode == 0 else ["-b"]), branch)
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def merge(self, branch: str) -> str:
        """Fast-forward main to `branch`, as a merge request's fast-forward merge does."""
        self.git("checkout", "-q", "main")
        self.git("merge", "-q", "--ff-only", branch)
        return self.git("rev-parse", "HEAD")

    def run_pipeline(
        self,
        merge_request: bool = False,
        extra: dict[str, str] | None = None,
        log: Path | None = None,
        ci_file: str = ".gitlab-ci.yml",
    ) -> PipelineRun:
        """The whole pipeline of `ci_file` for HEAD, as a push to HEAD's branch or as a merge
        request (a named job would run regardless of its rules, so only whole pipelines run)."""
        argv = [
            str(node_tools.path("gitlab-ci-local")),
            "--no-color",
            "--timestamps",
            "--file",
            ci_file,
            "--force-shell-executor",  # the jobs' images are for GitLab's runners
            "--shell-isolation",  # each job in its own copy: artifacts really carry over
            "--ignore-predefined-vars",
            "CI_REGISTRY,CI_PIPELINE_SOURCE,CI_COMMIT_BRANCH",
        ]
        variables = {**self.variables, **(extra or {})}
        if merge_request:
            # gitlab-ci-local keeps the branch variable of a merge-request pipeline; GitLab not
            variables["CI_PIPELINE_SOURCE"] = "merge_request_event"
            argv += ["--unset-variable", "CI_COMMIT_BRANCH"]
        for key, value in variables.items():
            argv += ["--variable", f"{key}={value}"]
        env = _job_env()
        start = time.monotonic()
        result = subprocess.run(
            argv,
            cwd=self.clone,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=PIPELINE_TIMEOUT_S,
        )
        run = PipelineRun(result.returncode, result.stdout, time.monotonic() - start)
        if log:
            log.write_text(run.output)
        return run

    def digest(self, image: str, tag: str) -> str | None:
        """The registry's manifest digest of image:tag, None when the tag is not there."""
        found = registry.RegistryClient(self.registry_host).manifest(
            f"{self.project_path}/{image}", tag
        )
        return found.digest if found else None

    def close(self, docker_client: docker.DockerClient) -> None:
        """Stop the registry (by its PID) and remove its storage, the images the pipelines
        made (tagged or pulled by digest under the registry, or labelled with this clone's
        project URL) and the clone."""
        registry_server.stop_started(self.state_dir)
        for image in docker_client.images.list():
            # its tags, and the references of what was pulled by digest (no tag: the update's)
            names = [*image.tags, *(image.attrs.get("RepoDigests") or [])]
            for name in (n for n in names if n.startswith(f"{self.registry_host}/")):
                with contextlib.suppress(docker.errors.APIError):
                    docker_client.images.remove(name, force=True)
        label = f"org.opencontainers.image.source={self.project_url}"
        for image in docker_client.images.list(all=True, filters={"label": label}):
            with contextlib.suppress(docker.errors.APIError):
                docker_client.images.remove(image.id, force=True)
        shutil.rmtree(self.state_dir, ignore_errors=True)
        shutil.rmtree(self.clone, ignore_errors=True)


def clone_work_tree(source: Path, clone: Path) -> None:
    """`clone` = HEAD of `source` plus its uncommitted changes (modified, new, deleted files
    that git does not ignore), committed on the branch `main`, which is also origin's default
    branch (CI_DEFAULT_BRANCH)."""
    subprocess.run(["git", "clone", "-q", str(source), str(clone)], check=True)

    def listed(*options: str) -> list[str]:
        out = subprocess.run(
            ["git", "ls-files", "-z", *options], cwd=source, check=True, capture_output=True
        ).stdout.decode()
        return [name for name in out.split("\0") if name]

    deleted = set(listed("--deleted"))
    for name in listed("--modified", "--others", "--exclude-standard"):
        if name in deleted:
            continue
        target = clone / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / name, target)
    for name in deleted:
        (clone / name).unlink(missing_ok=True)
    git = ["git", "-c", "user.name=e2e", "-c", "user.email=e2e@localhost", "-C", str(clone)]
    subprocess.run([*git, "checkout", "-q", "-B", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run(
        [*git, "commit", "-q", "--allow-empty", "-m", "the work tree under test"], check=True
    )
    # main is the default branch too, whichever branch the work tree is on: gitlab-ci-local
    # takes CI_DEFAULT_BRANCH from origin/HEAD, which the clone got from the work tree's branch
    subprocess.run([*git, "update-ref", "refs/remotes/origin/main", "HEAD"], check=True)
    subprocess.run(
        [*git, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main"], check=True
    )


def open_local_gitlab(workdir: Path, docker_client: docker.DockerClient) -> LocalGitLab:
    """A clone of the work tree in `workdir`, its registry started; close() undoes both."""
    gitlab_ci_local()
    local = LocalGitLab(
        clone=workdir / "clone",
        registry_host=f"127.0.0.1:{host.free_port()}",
        # the origin URL names the project: CI_PROJECT_PATH, CI_PROJECT_URL, CI_REGISTRY_IMAGE
        project_path=f"e2e-{secrets.token_hex(3)}/analysis-template",
        state_dir=workdir / "registry",
    )
    try:
        clone_work_tree(ROOT, local.clone)
        local.git("remote", "set-url", "origin", f"{local.project_url}.git")
        registry_server.ensure_running(local.state_dir, local.registry_host)
        local.variables = _local_variables(local, docker_client)
    except BaseException:
        local.close(docker_client)
        raise
    return local


@contextlib.contextmanager
def local_gitlab(workdir: Path, docker_client: docker.DockerClient) -> Iterator[LocalGitLab]:
    """open_local_gitlab, closed again when the block ends."""
    local = open_local_gitlab(workdir, docker_client)
    try:
        yield local
    finally:
        local.close(docker_client)


def _local_variables(local: LocalGitLab, docker_client: docker.DockerClient) -> dict[str, str]:
    """What turns the GitLab pipeline into a local one; the YAML stays as GitLab reads it."""
    graph = config.load(ROOT)
    client = engine.build_client()
    ca = host.ca_bundle()
    return {
        "CI_REGISTRY": local.registry_host,
        # this host's engine and its BuildKit-capable client instead of dind
        "DOCKER": client.argv[0],
        "DOCKER_HOST": os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"),
        "DOCKER_TLS_VERIFY": "",
        "DOCKER_CERT_PATH": "",
        "DOCKER_TLS_CERTDIR": "",
        "DOCKER_DIND_IMAGE": "",
        # the bases `imagectl build` uses here (made from Debian's archive when Docker Hub is
        # out of reach), so the builds hit the BuildKit cache of earlier builds
        "DEBIAN_IMAGE": _base_index(local, graph, docker_client, client.argv[0]),
        "CA_BUNDLE_FILE": str(ca) if ca else "",
        "TOOLS_VENV": sys.prefix,
        # building and testing gpu takes minutes and its GPU job needs a GPU runner
        "SKIP_GPU": "1",
    }


def _base_index(
    local: LocalGitLab, graph: config.ImageGraph, docker_client: docker.DockerClient, cli: str
) -> str:
    """The bases of every platform the images list, pushed to the pipeline's registry under
    one index, as Docker Hub serves debian:trixie-slim: a build for any platform finds its
    own there (the engine keeps one platform per local tag)."""
    listed = {name for spec in graph.images.values() for name in spec.platforms}
    index = f"{local.registry_host}/debian:{graph.base.suite}"
    children = []
    for platform in (platforms.get(name) for name in sorted(listed)):
        made = base.ensure(graph.base, docker_client, cli, ROOT / ".cache/base", platform)
        if made == graph.base.image:  # its registry answers, and serves every platform
            return made
        child = f"{index}-{platform.slug}"
        docker_client.images.get(made).tag(child)
        for event in docker_client.api.push(child, stream=True, decode=True):
            if "error" in event:
                raise PipelineSetupError(f"pushing {child} failed: {event['error']}")
        docker_client.images.remove(child)
        children.append(child)
    # `docker manifest` keeps its drafts in the client's config: a throwaway one
    config_dir = local.state_dir / "docker-config"
    env = {**os.environ, "DOCKER_CONFIG": str(config_dir)}
    for argv in (
        [cli, "manifest", "create", "--insecure", index, *children],
        [cli, "manifest", "push", "--insecure", index],
    ):
        subprocess.run(argv, env=env, check=True, capture_output=True)
    return index
