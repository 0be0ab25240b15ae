#!/usr/bin/env python3
"""`make bench-update`: wall time of `imagectl update` (what `make update` runs) on this host,
with the build cache warm, in a throwaway clone of HEAD (its branch update/<date> and commit
stay there):

1. nothing to update: every lock re-resolves to what it pins (run where the locks are
   current; the run says if they are not);
2. one small package changed: the clone's cpu.lock first pins an older tqdm, so the update
   moves it back: re-lock, commit, build cpu, compare, cpu's image tests, report.

Upstream is frozen at the locks' commit time (UV_EXCLUDE_NEWER), so a release made meanwhile
does not change what is measured. Images are tagged under a registry address that does not
answer, so each run compares with the image of the clone's HEAD (built first when missing),
and those tags are removed afterwards. Only cpu is built and tested (UPDATE_IMAGES=cpu).
Writes bench/results/update.md and prints it; each run's output goes to build/bench-update/.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker
import docker.errors

from imagectl import host, layers, lock

ROOT = Path(__file__).resolve().parents[1]
IMAGECTL = str(Path(sys.executable).with_name("imagectl"))
GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]


def run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def locks_committed_at(root: Path) -> str:
    """When the repository's locks were last committed (ISO 8601): upstream as they saw it."""
    out = run(["git", "log", "-1", "--format=%cI", "--", "docker/requirements"], root).strip()
    return out or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def pin_older(clone: Path, package: str) -> None:
    """cpu.lock (and its layers) with `package` (name==version) instead of its locked version;
    cpu.in stays as it is, so an update moves it back."""
    requirements = clone / "docker/requirements/cpu.in"
    original = requirements.read_text()
    name = package.split("==")[0]
    requirements.write_text(re.sub(rf"(?m)^{name}$", package, original))
    try:
        locked = lock.compile_lock(requirements, None)
        layers.write_layers(requirements, locked)
    finally:
        requirements.write_text(original)
    run([*GIT, "commit", "-qam", f"bench: pin {package}"], clone)


def timed_update(clone: Path, env: dict[str, str], log: Path) -> tuple[float, int]:
    start = time.monotonic()
    result = subprocess.run(
        [IMAGECTL, "update"], cwd=clone, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    seconds = time.monotonic() - start
    log.write_bytes(result.stdout)
    return seconds, result.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--older", default="tqdm==4.67.1", help="the older pin to move back")
    args = parser.parse_args()
    docker_client = docker.from_env(timeout=600)
    prefix = f"127.0.0.1:{host.free_port()}/bench-update"  # nothing answers there
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CI_", "REGISTRY_"))},
        "REGISTRY_URL": prefix,
        "UPDATE_IMAGES": "cpu",
        "UV_EXCLUDE_NEWER": locks_committed_at(ROOT),
    }
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    logs = ROOT / "build" / "bench-update"  # each run's whole output
    logs.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-update-") as tmp:
        clone = Path(tmp) / "clone"
        run(["git", "clone", "-q", str(ROOT), str(clone)], ROOT)
        # only `main`: a branch named `update` (this one's, say) would block update/<date>
        run(["git", "checkout", "-q", "-B", "main"], clone)
        for branch in run(["git", "branch", "--format=%(refname:short)"], clone).split():
            if branch != "main":
                run(["git", "branch", "-q", "-D", branch], clone)
        try:
            print("update with nothing to update ...", file=sys.stderr)
            unchanged, unchanged_rc = timed_update(clone, env, logs / "unchanged.log")
            os.environ["UV_EXCLUDE_NEWER"] = env["UV_EXCLUDE_NEWER"]
            pin_older(clone, args.older)
            print(f"update after pinning {args.older} ...", file=sys.stderr)
            bumped, bumped_rc = timed_update(clone, env, logs / "one-package.log")
            report = (clone / "build/update/report.md").read_text()
        finally:
            for image in docker_client.images.list():
                for tag in image.tags:
                    if tag.startswith(f"{prefix}/"):
                        with contextlib.suppress(docker.errors.APIError):
                            docker_client.images.remove(tag)
    head = run(["git", "rev-parse", "--short=12", "HEAD"], ROOT).strip()
    text = "\n".join(
        [
            f"# make update (2 cores, warm build cache, commit {head}, upstream as of "
            f"{env['UV_EXCLUDE_NEWER']})",
            "",
            "| case | wall time | exit |",
            "|---|---|---|",
            f"| nothing to update | {unchanged:.1f} s | {unchanged_rc} |",
            f"| one small package changed ({args.older} moved back; cpu built and tested) "
            f"| {bumped:.1f} s | {bumped_rc} |",
            "",
            "The report of the second run:",
            "",
            *("> " + line if line else ">" for line in report.splitlines()),
            "",
        ]
    )
    (results / "update.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
