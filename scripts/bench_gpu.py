#!/usr/bin/env python3
"""What the gpu image costs on top of cpu: its size, the bytes a user who already has cpu
pulls, and the time to build the gpu layers.

Needs the cpu and gpu images of HEAD (`make image IMAGE=gpu`). Writes
bench/results/bench-gpu.{json,md} and prints the table. Unlike scripts/bench.py it never empties
the build cache: the gpu-only build runs with `--no-cache`, which rebuilds every gpu layer but
keeps uv's download cache (a cache mount), so it measures a CI machine that built gpu before;
a build with an empty uv cache adds the wheels' download (about 3 GB) on top. Sizes are
uncompressed, as `docker images` shows them; a registry stores the layers gzipped.
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

from imagectl import build, config, engine, revision, tags

ROOT = Path(__file__).resolve().parents[1]
TOOL = str(Path(sys.executable).with_name("imagectl"))
BENCH_TAG = "bench-no-cache"


def timed(argv: list[str], env: dict[str, str] | None = None) -> float:
    start = time.monotonic()
    subprocess.run(
        argv, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.monotonic() - start


def gpu_only_layers(client: docker.DockerClient, cpu_ref: str, gpu_ref: str) -> list[str]:
    """The diff IDs of gpu's layers that cpu does not have (gpu must stand on this cpu)."""
    cpu_layers = client.images.get(cpu_ref).attrs["RootFS"]["Layers"]
    gpu_layers = client.images.get(gpu_ref).attrs["RootFS"]["Layers"]
    if gpu_layers[: len(cpu_layers)] != cpu_layers:
        sys.exit(f"{gpu_ref} is not built on {cpu_ref}: run `make image IMAGE=gpu` first")
    return gpu_layers[len(cpu_layers) :]


def retagged_no_cache(argv: list[str], tag: str) -> list[str]:
    """The build command with its tags swapped for `tag` and every layer rebuilt."""
    kept: list[str] = []
    args = iter(argv[:-1])
    for arg in args:
        if arg == "-t":
            next(args)  # drop the tag that follows
        else:
            kept.append(arg)
    return [*kept, "--no-cache", "-t", tag, argv[-1]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1, help="gpu-only --no-cache builds (~2 min)")
    args = parser.parse_args()

    graph = config.load(ROOT)
    client = docker.from_env(timeout=900)
    sha = revision.current(ROOT).sha
    cpu_ref, gpu_ref = tags.sha_tag(graph, "cpu", sha), tags.sha_tag(graph, "gpu", sha)
    for ref in (cpu_ref, gpu_ref):
        try:
            client.images.get(ref)
        except docker.errors.ImageNotFound:
            sys.exit(f"{ref} is not built: run `make image IMAGE=gpu` first")

    layers = gpu_only_layers(client, cpu_ref, gpu_ref)
    cpu_size = client.images.get(cpu_ref).attrs["Size"]
    gpu_size = client.images.get(gpu_ref).attrs["Size"]

    # everything cached: what `make image IMAGE=gpu` costs when nothing changed
    unchanged = [timed([TOOL, "build", "gpu"]) for _ in range(args.runs)]
    # the gpu layers rebuilt on the cpu image (uv's wheel cache stays warm); tagged aside so
    # the real <sha> and latest tags do not move, and that tag removed afterwards
    builder = engine.build_client()
    bench_ref = f"{tags.repository(graph, 'gpu')}:{BENCH_TAG}"
    argv = retagged_no_cache(
        build.command(graph, graph.get("gpu"), revision.current(ROOT), cpu_ref, builder),
        bench_ref,
    )
    no_cache = [timed(argv, env=builder.env) for _ in range(args.runs)]
    client.images.remove(bench_ref)

    results = {
        "cpu_image_bytes": cpu_size,
        "gpu_image_bytes": gpu_size,
        "gpu_only_layers": len(layers),
        "gpu_only_bytes": gpu_size - cpu_size,
        "rebuild_unchanged_s": round(statistics.median(unchanged), 1),
        "gpu_layers_no_cache_warm_uv_s": round(statistics.median(no_cache), 1),
        "runs": args.runs,
    }
    rows = [
        ("cpu image (uncompressed)", f"{cpu_size / 1e9:.2f} GB"),
        ("gpu image (uncompressed)", f"{gpu_size / 1e9:.2f} GB"),
        (
            "to pull with cpu present (gpu-only layers, uncompressed)",
            f"{results['gpu_only_bytes'] / 1e9:.2f} GB in {len(layers)} layer(s)",
        ),
    ]
    rows += [
        ("`imagectl build gpu`, nothing changed", f"{results['rebuild_unchanged_s']} s"),
        (
            "gpu layers, --no-cache on the cpu image (uv cache warm)",
            f"{results['gpu_layers_no_cache_warm_uv_s']} s",
        ),
    ]
    table = "| measure | value |\n|---|---|\n" + "".join(f"| {k} | {v} |\n" for k, v in rows)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench-gpu.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "bench-gpu.md").write_text(f"# Benchmark: gpu on top of cpu\n\n{table}")
    print(table)


if __name__ == "__main__":
    main()
