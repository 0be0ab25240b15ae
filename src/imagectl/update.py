"""`imagectl update` (`make update`): move every pin forward on purpose. It re-resolves every
lock to the newest versions its requirements allow and refreshes the base image's pin; when
nothing moved it says so and stops. Otherwise it commits the new pins on the branch
`update/<date>`, builds the images whose pins changed (this host's platform), runs their image
tests, compares each with what users have now and writes build/update/report.md. With
`push`, it pushes that branch with the push options that open the merge request
(merge_request.py), a draft when a build or test failed.

What users have now, the baseline of the comparison: the registry's `latest` of the image when
that registry answers and has one (pulled by digest, so no local tag moves), else the image of
the commit the update starts from (HEAD), built first from a temporary worktree when it is not
here. The candidate is compared with it on the local engine, so the bytes to pull are
uncompressed layer sizes; the merge request's pipeline pushes it and `imagectl diff` then
gives compressed ones.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import docker

from imagectl import (
    base,
    config,
    contents,
    diff,
    engine,
    layers,
    lock,
    merge_request,
    platforms,
    proc,
    publish,
    registry,
    registry_server,
    report,
    tags,
)
from imagectl.errors import ContentsError, RegistryError, UpdateError

REPORT = Path("build/update/report.md")
REQUIREMENTS = Path("docker/requirements")
BRANCH_PREFIX = "update/"
# A pipeline's commit variables name the commit the update starts from, not the one it makes:
# the builds and tests of the candidate run without them (the commit is then git's HEAD).
_PIPELINE_COMMIT = ("CI_COMMIT_SHA", "CI_COMMIT_TIMESTAMP", "CI_COMMIT_TAG", "CI_COMMIT_SHORT_SHA")
IMAGECTL = str(Path(sys.executable).with_name("imagectl"))
TAIL_LINES = 40


def pinned_files(root: Path) -> dict[Path, bytes]:
    """Every file an update may change, relative to `root`, with its bytes: the locks, their
    install layers, and the two files that pin the base image."""
    paths = [
        *sorted((root / REQUIREMENTS).glob("*.lock")),
        *sorted((root / REQUIREMENTS).glob("*.layers/*.txt")),
        *(root / name for name in base.PINNED_FILES),
    ]
    return {path.relative_to(root): path.read_bytes() for path in paths if path.is_file()}


def restore(root: Path, files: dict[Path, bytes]) -> None:
    """Write `files` (from pinned_files) back as they were."""
    for path, data in files.items():
        if (root / path).read_bytes() != data:
            (root / path).write_bytes(data)


def relock(graph: config.ImageGraph) -> None:
    """Re-resolve uv's lock and every image's lock (parents first, each child against its
    parent's new lock) to the newest allowed versions, and re-split the install layers. The
    installer's lock resolves beside the images' chain, as it depends on none of them."""

    def images() -> None:
        for spec in graph.build_order(list(graph.images)):
            if spec.requirements is None:
                continue
            parent = graph.get(spec.parent).lock_file if spec.parent else None
            locked = lock.compile_lock(spec.requirements, parent, upgrade=True)
            layers.write_layers(spec.requirements, locked)

    with ThreadPoolExecutor(max_workers=2) as pool:
        installer = pool.submit(lock.compile_lock, graph.root / REQUIREMENTS / "uv.in", None, True)
        chain = pool.submit(images)
        installer.result()
        chain.result()


def changed_images(graph: config.ImageGraph, changed: list[Path]) -> list[str]:
    """The images whose build inputs among `changed` moved, parents first: its own lock or
    layers, for a root image the installer's lock or the base pin, or its parent."""
    names = {str(path) for path in changed}
    root_inputs = {str(REQUIREMENTS / "uv.lock"), *base.PINNED_FILES}
    moved: list[str] = []
    for spec in graph.build_order(list(graph.images)):
        own: set[str] = set()
        if spec.lock_file is not None:
            lock_file = spec.lock_file.relative_to(graph.root)
            own.add(str(lock_file))
            own |= {n for n in names if n.startswith(f"{layers.layer_dir(lock_file)}/")}
        if spec.parent is None:
            own |= root_inputs
        if names & own or (spec.parent in moved):
            moved.append(spec.name)
    return moved


def branch_name(now: datetime | None = None) -> str:
    return f"{BRANCH_PREFIX}{(now or datetime.now(UTC)).strftime('%Y-%m-%d')}"


def candidate_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _PIPELINE_COMMIT}


def git(root: Path, *args: str) -> str:
    return proc.output(["git", *args], cwd=str(root))


def _identity() -> list[str]:
    """-c options naming the update's committer when git has no identity (a CI job): the
    person who owns the schedule, as GitLab names them, else the tool."""
    name = os.environ.get("GITLAB_USER_NAME") or "imagectl update"
    email = os.environ.get("GITLAB_USER_EMAIL") or "imagectl-update@localhost"
    return ["-c", f"user.name={name}", "-c", f"user.email={email}"]


def commit(root: Path, branch: str, changed: list[Path], message: str) -> str:
    """Commit `changed` on `branch` (made at HEAD, or reset to it); returns the new SHA."""
    try:
        proc.run_echoed(["git", "checkout", "-q", "-B", branch], cwd=str(root))
    except subprocess.CalledProcessError as exc:
        raise UpdateError(
            f"cannot make the branch {branch}: {exc.output.strip()}",
            f"a branch named `{branch.split('/')[0]}` blocks `{branch}` in git: rename it",
        ) from None
    proc.run_echoed(["git", "add", "--", *map(str, changed)], cwd=str(root))
    identity = [] if _has_identity(root) else _identity()
    proc.run_echoed(["git", *identity, "commit", "-q", "-m", message], cwd=str(root))
    return git(root, "rev-parse", "HEAD")


def _has_identity(root: Path) -> bool:
    try:
        return bool(git(root, "config", "user.email"))
    except subprocess.CalledProcessError:
        return False


def default_branch(root: Path) -> str:
    """The merge request's target: GitLab's CI_DEFAULT_BRANCH, else origin's HEAD, else main."""
    if os.environ.get("CI_DEFAULT_BRANCH"):
        return os.environ["CI_DEFAULT_BRANCH"]
    try:
        return git(root, "symbolic-ref", "--short", "refs/remotes/origin/HEAD").split("/", 1)[1]
    except (subprocess.CalledProcessError, IndexError):
        return "main"


def registry_latest(
    graph: config.ImageGraph, docker_client: docker.DockerClient, name: str
) -> str | None:
    """The registry's `latest` of `name`, pulled by digest, when the registry answers and
    has one; None otherwise. The local `latest` tag is the last local build, not what users
    have, so it is never used."""
    ref = registry.parse_reference(tags.latest_tag(graph, name))
    registries = registry_server.Registries(
        tags.registry_host(graph), graph.root / ".cache/registry", registry.credentials_from_env()
    )
    client = registries.reachable(ref.host)
    if client is None:
        print(f"the registry at {ref.host} does not answer", file=sys.stderr)
        return None
    manifest = client.manifest(ref.repository, ref.tag)
    if manifest is None:
        print(f"{ref} is not in the registry", file=sys.stderr)
        return None
    pinned = registry.parse_reference(f"{ref.host}/{ref.repository}@{manifest.digest}")
    try:
        publish.pull(docker_client, client, pinned, registries.credentials)
    except RegistryError as exc:
        print(f"cannot pull {pinned}: {exc}", file=sys.stderr)
        return None
    return str(pinned)


@contextmanager
def worktree_at(root: Path, sha: str) -> Iterator[Path]:
    """A throwaway worktree of `sha` (removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="update-baseline-") as tmp:
        tree = Path(tmp) / "tree"
        proc.run_echoed(["git", "worktree", "add", "-q", "--detach", str(tree), sha], cwd=str(root))
        try:
            yield tree
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(tree)], cwd=root, check=False
            )


def build_images(root: Path, names: list[str]) -> None:
    """`imagectl build` of `names` at `root`'s HEAD for this host's platform."""
    proc.run_echoed([IMAGECTL, "build", *names], env=candidate_env(), cwd=str(root))


def head_images(
    graph: config.ImageGraph, docker_client: docker.DockerClient, sha: str, names: list[str]
) -> dict[str, str]:
    """{name: HEAD's image of it}, those missing built first in a worktree of HEAD."""
    wanted = {name: tags.sha_tag(graph, name, sha) for name in names}
    missing = [name for name, ref in wanted.items() if not engine.has_image(docker_client, ref)]
    if missing:
        print(f"building {', '.join(missing)} of {sha[:12]}, to compare with", file=sys.stderr)
        with worktree_at(graph.root, sha) as tree:
            try:
                build_images(tree, missing)
            except subprocess.CalledProcessError:
                raise UpdateError(
                    f"building {', '.join(missing)} at {sha[:12]} (the images to compare "
                    "with) failed",
                    "read the build output above; `make image` at that commit shows the same",
                ) from None
    return wanted


def run_tests(root: Path, name: str) -> report.TestRun:
    """`pytest --image NAME tests/image` against the candidate, streamed; its verdict."""
    argv = [sys.executable, "-m", "pytest", "--image", name, "tests/image"]
    tail: list[str] = []
    failures: list[str] = []
    try:
        for line in proc.stream(argv, env=candidate_env(), cwd=str(root)):
            print(line, file=sys.stderr, flush=True)
            tail = (tail + [line])[-TAIL_LINES:]
            if line.startswith(("FAILED ", "ERROR ")):
                failures.append(line)
        passed = True
    except subprocess.CalledProcessError:
        passed = False
    summary = next((line.strip("= ") for line in reversed(tail) if " in " in line), "")
    if not passed and not failures:
        failures = tail[-15:]
    return report.TestRun(passed, summary or ("passed" if passed else "failed"), failures)


def compare(
    graph: config.ImageGraph, docker_client: docker.DockerClient, old: str, new: str
) -> dict:
    script = contents.script_path(graph.root)
    return diff.contents_diff(
        contents.collect(docker_client, old, script), contents.collect(docker_client, new, script)
    )


def baselines(
    graph: config.ImageGraph, docker_client: docker.DockerClient, head: str, names: list[str]
) -> dict[str, tuple[str, str]]:
    """{name: (reference, in words)} of what users have now: the registry's latest, else the
    image of `head` (built while the work tree is still at it)."""
    found: dict[str, tuple[str, str]] = {}
    for name in names:
        latest = registry_latest(graph, docker_client, name)
        if latest:
            found[name] = (latest, f"the registry's latest, `{latest}`")
    missing = [name for name in names if name not in found]
    for name, ref in head_images(graph, docker_client, head, missing).items():
        found[name] = (ref, f"the image of {head[:12]}, where the update started, `{ref}`")
    return found


def build_and_test(
    graph: config.ImageGraph,
    docker_client: docker.DockerClient,
    sha: str,
    compared_with: dict[str, tuple[str, str]],
) -> list[report.ImageUpdate]:
    """Build the candidates of `compared_with`'s images at `sha` (parents first), compare
    each with its baseline and run its image tests. A failure is recorded, not raised."""
    names = list(compared_with)
    updates = {name: report.ImageUpdate(name, baseline=compared_with[name][1]) for name in names}
    built: list[str] = []
    try:
        if names:
            build_images(graph.root, names)
        built = names
    except subprocess.CalledProcessError:
        for name in names:  # which one failed: each is tried, parents first
            try:
                build_images(graph.root, [name])
                built.append(name)
            except subprocess.CalledProcessError:
                updates[name].failure = "its build failed (the log above shows the step)"
                break
    for name, image in updates.items():
        if name not in built:
            image.failure = image.failure or "a parent's build failed"
            continue
        image.candidate = tags.sha_tag(graph, name, sha)
        try:
            image.diff = compare(graph, docker_client, compared_with[name][0], image.candidate)
        except ContentsError as exc:
            image.failure = f"its contents could not be listed: {exc}"
            continue
        image.tests = run_tests(graph.root, name)
    return list(updates.values())


def not_asked_for(name: str, wanted: list[str]) -> report.ImageUpdate:
    return report.ImageUpdate(
        name,
        baseline="",
        skipped=True,
        failure=f"It changes with this update (its pins or its parent's moved), but only "
        f"{', '.join(wanted)} was asked for here (UPDATE_IMAGES); the merge request's "
        "pipeline builds and tests it.",
    )


def update(root: Path, wanted: list[str] | None, push: bool) -> int:
    """The whole update; returns the exit status (0: proposed, or nothing to update)."""
    graph = config.load(root)
    for name in wanted or []:
        graph.get(name)
    if git(root, "status", "--porcelain", "--untracked-files=no"):
        raise UpdateError(
            "the work tree has uncommitted changes, which the update would build and commit",
            "commit or stash them first",
        )
    now = datetime.now(UTC)
    date = now.strftime("%Y-%m-%d")
    report_path = root / REPORT
    report_path.parent.mkdir(parents=True, exist_ok=True)
    head = git(root, "rev-parse", "HEAD")
    docker_client = engine.ensure_running(root / ".cache/engine")

    before = pinned_files(root)
    try:  # until the commit, a failure leaves the work tree as the update found it
        relock(graph)
        base_line = base.refresh(graph.base, docker_client, root)
        print(f"base: {base_line}", file=sys.stderr)
        after = pinned_files(root)
        changed = sorted(path for path in after if before.get(path) != after[path])
        if not changed:
            report_path.write_text(report.nothing_to_update(date, base_line))
            print("nothing to update: every lock resolves as it is, the base pin stays; no commit")
            return 0
        moved = changed_images(graph, changed)
        chosen = [name for name in moved if wanted is None or name in wanted]
        compared_with = baselines(graph, docker_client, head, chosen)
    except BaseException:
        restore(root, before)
        raise

    branch = branch_name(now)
    sha = commit(root, branch, changed, f"Update the pinned packages and base ({date})")
    print(f"committed {sha[:12]} on {branch}: {', '.join(map(str, changed))}", file=sys.stderr)
    done = {u.name: u for u in build_and_test(graph, docker_client, sha, compared_with)}
    images = [done.get(name) or not_asked_for(name, wanted or []) for name in moved]

    text = report.render(
        date, [str(path) for path in changed], base_line, images, platforms.native().name
    )
    report_path.write_text(text)
    print(text)
    print(f"report: {report_path}", file=sys.stderr)
    failed = [image.name for image in images if image.failed]
    if push:
        request = merge_request.MergeRequest(
            source_branch=branch,
            target_branch=default_branch(root),
            title=f"Update {date}: {report.title_summary(images)}",
            description=text,
            draft=bool(failed),
        )
        merge_request.open_request(root, request)
        print(f"pushed {branch}: merge request {request.full_title!r}", file=sys.stderr)
    if failed:
        where = "opened as a draft" if push else "not pushed"
        raise UpdateError(
            f"the update's build or image tests failed for {', '.join(failed)} ({where})",
            f"read {REPORT} and the test output above; fix it on the branch {branch}",
        )
    return 0
