#!/usr/bin/env python3
"""Time one full default-branch pipeline (.gitlab-ci.yml) under gitlab-ci-local, cold and warm.

Cold: the first pipeline against a registry that holds nothing yet, so build-cpu pushes every
layer of the image. Warm: the next commit's pipeline against the same registry, where only the
changed config and manifest go up. Both build from this host's BuildKit cache, which this bench
never empties (scripts/bench.py measures a cold build). gpu is left out (SKIP_GPU=1), as in the
pipeline tests. Writes bench/results/pipeline.{json,md} and prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from pathlib import Path

import docker

from imagectl import revision

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the harnesses live with the tests
from harness.gitlab_local import PipelineRun, open_local_gitlab  # noqa: E402

RESULTS = ROOT / "bench" / "results"
_JOB_TIME = re.compile(r"^\s*(PASS|FAIL|WARN)\s+\[\s*([\d.]+)\s*(ms|s|min)\]\s+(\S+)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "min": 60.0}


def job_seconds(run: PipelineRun) -> dict[str, float]:
    """Each job's duration from gitlab-ci-local's closing summary."""
    return {
        match[4]: round(float(match[2]) * _UNIT_S[match[3]], 2)
        for line in run.output.splitlines()
        if (match := _JOB_TIME.match(line))
    }


def measure(run: PipelineRun, what: str) -> dict:
    if run.returncode != 0:
        sys.exit(f"the {what} pipeline failed:\n{run.tail()}")
    return {"total_s": round(run.seconds, 1), "jobs_s": job_seconds(run)}


def markdown(results: dict) -> str:
    jobs = list(results["cold"]["jobs_s"])
    lines = [
        f"Default-branch pipeline under gitlab-ci-local ({results['machine']}, commit "
        f"{results['commit'][:12]}, SKIP_GPU=1, BuildKit cache warm)",
        "",
        "| run | total | " + " | ".join(jobs) + " |",
        "|---|---|" + "---|" * len(jobs),
    ]
    for name in ("cold", "warm"):
        row = results[name]
        cells = [f"{row['jobs_s'].get(job, 0):.1f} s" for job in jobs]
        lines.append(f"| {name} | {row['total_s']:.1f} s | " + " | ".join(cells) + " |")
    lines += [
        "",
        "cold: empty registry, every layer pushed; warm: next commit, same registry.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    docker_client = docker.from_env(timeout=900)
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        gitlab = open_local_gitlab(Path(tmp), docker_client)
        try:
            print("cold pipeline (empty registry) ...", file=sys.stderr)
            cold = measure(gitlab.run_pipeline(log=Path(tmp) / "cold.log"), "cold")
            gitlab.commit("the next commit")
            print("warm pipeline (next commit) ...", file=sys.stderr)
            warm = measure(gitlab.run_pipeline(log=Path(tmp) / "warm.log"), "warm")
        finally:
            gitlab.close(docker_client)
    head = revision.current(ROOT)
    results = {
        "machine": f"{os.cpu_count()} cores",
        "commit": head.sha + (" + uncommitted changes" if head.dirty else ""),
        "cold": cold,
        "warm": warm,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "pipeline.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (RESULTS / "pipeline.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
