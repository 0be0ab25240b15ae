#!/usr/bin/env python3
"""Measure what users feel: cold build, no-change rebuild, image size, test-suite time.

Writes bench/results/bench.{json,md} and prints the table. The cold build empties the
BuildKit cache (cache mounts included) first: run it on a machine whose cache you can lose.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import docker

from imagectl import config, revision, tags

ROOT = Path(__file__).resolve().parents[1]
TOOL = str(Path(sys.executable).with_name("imagectl"))
PYTEST = str(Path(sys.executable).with_name("pytest"))


def timed(argv: list[str]) -> float:
    start = time.monotonic()
    subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - start


def summary(samples: list[float]) -> dict:
    return {
        "median": round(statistics.median(samples), 2),
        "min": round(min(samples), 2),
        "max": round(max(samples), 2),
        "runs": len(samples),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--image", default="cpu")
    parser.add_argument("--cold-runs", type=int, default=1, help="cold builds (each ~1 min)")
    parser.add_argument("--runs", type=int, default=3, help="runs of the cheap measurements")
    args = parser.parse_args()

    graph = config.load(ROOT)
    engine = docker.from_env(timeout=600)
    ref = tags.sha_tag(graph, args.image, revision.current(ROOT).sha)
    build = [TOOL, "build", args.image]

    cold = []
    for _ in range(args.cold_runs):
        # empties the BuildKit cache, cache mounts included; the base image stays
        subprocess.run(["docker", "builder", "prune", "-af"], check=True, capture_output=True)
        cold.append(timed(build))
    rebuild = [timed(build) for _ in range(args.runs)]
    size = engine.images.get(ref).attrs["Size"]
    tests = [timed([PYTEST, "-q", "-p", "no:cacheprovider", "--image", args.image, "tests/image"])
             for _ in range(args.runs)]  # fmt: skip

    results = {
        "image": args.image,
        "cold_build_s": summary(cold),
        "rebuild_unchanged_s": summary(rebuild),
        "rebuild_share_of_cold": round(statistics.median(rebuild) / statistics.median(cold), 3),
        "image_size_bytes": size,
        "image_tests_s": summary(tests),
    }
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(results, indent=2) + "\n")
    rows = [
        ("cold build (empty build cache, base present)", fmt_s(results["cold_build_s"])),
        ("rebuild, nothing changed", fmt_s(results["rebuild_unchanged_s"])),
        ("rebuild / cold", f"{results['rebuild_share_of_cold']:.1%}"),
        ("image size (uncompressed)", f"{size / 1e9:.2f} GB"),
        ("image test suite", fmt_s(results["image_tests_s"])),
    ]
    table = "| measure | value |\n|---|---|\n" + "".join(f"| {k} | {v} |\n" for k, v in rows)
    (out / "bench.md").write_text(f"# Benchmark: {args.image}\n\n{table}")
    print(table)


def fmt_s(s: dict) -> str:
    return f"{s['median']} s (min {s['min']}, max {s['max']}, n={s['runs']})"


if __name__ == "__main__":
    main()
