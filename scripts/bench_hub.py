#!/usr/bin/env python3
"""`make bench-hub`: seconds from a JupyterHub spawn request to the user's server answering,
for the cpu image built from HEAD, pinned by digest and spawned by DockerSpawner on this host
(tests/harness/hub.py: the hub, proxy and network of tests/e2e/test_jupyterhub.py). The user logs
in once; each run is the home page's start button (GET /hub/spawn) until
/user/<name>/api/status answers 200 through the proxy with the user's token, then a stop.
Also: from the request to the container turning healthy. Writes bench/results/hub.{json,md}.
A benchmark, not a test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import docker

from imagectl import config, revision, tags

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the harnesses live with the tests
from harness import hub  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def healthy_after(docker_client: docker.DockerClient, prefix: str, start: float) -> float:
    """Seconds from `start` until the user's container is healthy (polled every 20 ms)."""
    while time.monotonic() < start + 120:
        for container in docker_client.containers.list(filters={"name": f"^{prefix}-"}):
            if container.attrs["State"].get("Health", {}).get("Status") == "healthy":
                return time.monotonic() - start
        time.sleep(0.02)
    return float("nan")


def markdown(results: dict) -> str:
    rows = [
        f"JupyterHub spawn on {results['machine']}, {results['image']}",
        f"(commit {results['commit']}, {results['runs']} runs, first run creates the volume)",
        "",
        "| measure | median | min | max |",
        "|---|---|---|---|",
    ]
    for name, key in (("spawn request → /api/status 200", "answering_s"),
                      ("spawn request → healthy", "healthy_s")):  # fmt: skip
        values = results[key]
        rows.append(
            f"| {name} | {statistics.median(values):.2f} s | {min(values):.2f} s"
            f" | {max(values):.2f} s |"
        )
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    head = revision.current(ROOT)
    ref = tags.sha_tag(config.load(ROOT), "cpu", head.sha)
    docker_client = docker.from_env()
    answering, healthy = [], []
    with tempfile.TemporaryDirectory() as tmp:
        registry_dir, hub_dir = Path(tmp) / "registry", Path(tmp) / "hub"
        hub_dir.mkdir()
        print(f"pushing {ref} to a throwaway registry ...", file=sys.stderr, flush=True)
        with (
            hub.pinned_by_digest(docker_client, ref, registry_dir) as pinned,
            hub.running(docker_client, pinned, hub_dir) as local,
        ):
            user = hub.HubUser(local, "alice")
            user.log_in()
            user.make_token()
            for run in range(args.runs):
                start = time.monotonic()
                answering.append(user.spawn())
                healthy.append(healthy_after(docker_client, local.prefix, start))
                print(
                    f"run {run + 1}: answering {answering[-1]:.2f} s, healthy {healthy[-1]:.2f} s",
                    file=sys.stderr,
                    flush=True,
                )
                user.stop()
    results = {
        "machine": f"{os.cpu_count()} cores",
        "commit": head.sha + (" + uncommitted changes" if head.dirty else ""),
        "image": pinned.rsplit("/", 1)[-1],
        "runs": args.runs,
        "answering_s": [round(v, 3) for v in answering],
        "healthy_s": [round(v, 3) for v in healthy],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "hub.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (RESULTS / "hub.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
