#!/usr/bin/env python3
"""`make bench-start`: seconds from `docker run` to Jupyter answering /api and to the container
turning healthy, for each start mode the README lists, each started --runs times (default 5).
Prints median and max per mode. A benchmark, not a test: nothing here passes or fails.

The run goes through the docker CLI, as a user types it; the engine is then asked for the
health status every 20 ms, and Jupyter's /api on the container's bridge address likewise.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import docker

from imagectl import config, revision, tags

ROOT = Path(__file__).resolve().parents[1]
# mode: the `docker run` options (the README's table has the same)
MODES = {
    "default": [],
    "NB_UID": ["--user", "root", "-e", "NB_UID=1234", "-e", "NB_GID=2345"],
    "any UID, GID 0": ["--user", "12345:0"],
    "any UID, --group-add": ["--user", "12345:12345", "--group-add", "users"],
    "read-only": ["--read-only", "--tmpfs", "/tmp", "-v", "/home/analyst/work"],
    "least privilege": ["--cap-drop", "ALL", "--security-opt", "no-new-privileges"],
}
POLL_S = 0.02
LIMIT_S = 60


def docker_cli() -> str:
    return os.environ.get("DOCKER", "docker")


def start_once(engine: docker.DockerClient, ref: str, options: list[str]) -> tuple[float, float]:
    """(seconds to /api answering, seconds to healthy) of one container, then removes it."""
    start = time.monotonic()
    run = subprocess.run(
        [docker_cli(), "run", "-d", "-e", "JUPYTER_TOKEN=bench", *options, ref],
        capture_output=True,
        text=True,
    )
    if run.returncode != 0:
        sys.exit(f"docker run {' '.join(options)} failed: {run.stderr}")
    cid = run.stdout.strip()
    api_s = healthy_s = None
    try:
        address = None
        while time.monotonic() - start < LIMIT_S and healthy_s is None:
            state = engine.api.inspect_container(cid)
            if state["State"]["Status"] == "exited":
                logs = engine.api.logs(cid).decode(errors="replace")
                sys.exit(f"{' '.join(options)}: the container exited:\n{logs[-3000:]}")
            address = address or state["NetworkSettings"]["IPAddress"]
            if api_s is None and address and answers(f"http://{address}:8888/api"):
                api_s = time.monotonic() - start
            if state["State"].get("Health", {}).get("Status") == "healthy":
                healthy_s = time.monotonic() - start
                api_s = api_s or healthy_s
            time.sleep(POLL_S)
    finally:
        engine.api.remove_container(cid, force=True, v=True)
    if healthy_s is None:
        sys.exit(f"{' '.join(options)}: not healthy within {LIMIT_S} s")
    return api_s, healthy_s


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=0.2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-ref", help="default: the cpu image built from HEAD")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mode", action="append", choices=list(MODES), help="default: all")
    args = parser.parse_args()
    ref = args.image_ref or tags.sha_tag(config.load(ROOT), "cpu", revision.current(ROOT).sha)
    engine = docker.from_env()
    print(f"{ref}, {args.runs} runs per mode, {os.cpu_count()} CPUs")
    print(f"{'mode':<22} {'/api median':>12} {'max':>6} {'healthy median':>15} {'max':>6}")
    for mode in args.mode or MODES:
        samples = [start_once(engine, ref, MODES[mode]) for _ in range(args.runs)]
        api, healthy = [s[0] for s in samples], [s[1] for s in samples]
        print(
            f"{mode:<22} {statistics.median(api):>12.2f} {max(api):>6.2f}"
            f" {statistics.median(healthy):>15.2f} {max(healthy):>6.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
