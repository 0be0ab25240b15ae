#!/usr/bin/env python3
"""`make bench`: what users feel, measured on this machine, against the targets of the layer
design. Writes bench/results/bench.{json,md} and prints the table.

- cold cpu build: the BuildKit cache emptied first (cache mounts included; the base image
  stays), so run it where losing that cache is fine;
- rebuild with nothing changed;
- rebuild after bumping one small package (tqdm, to another release) in a throwaway worktree,
  and the bytes a user who has the current version pulls to get the bumped one (layers not
  shared, compressed, as pushed to the local registry) against the whole image;
- cpu and gpu sizes, uncompressed and as pushed (gpu only where it is built);
- time from `docker run` to a healthy container; time of the cpu image test suite;
- for each other platform cpu lists (linux/arm64, built here under QEMU), as ratios to the
  host's platform measured in the same run: cold build, rebuild with nothing changed, image
  size and bytes pushed, and its image test suite's time under emulation.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import docker.errors

from imagectl import config, platforms, registry, revision, tags

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
BENCH_REGISTRY = "127.0.0.1:5000/bench"
TARGETS = {  # from the layer-design and arm64 issues
    "foreign_cold_over_native_cold": 3.0,
    "foreign_rebuild_share_of_its_cold": 0.05,
    "foreign_size_over_native": 1.10,
    "foreign_pushed_over_native": 1.10,
    "rebuild_unchanged_share_of_cold": 0.05,
    "rebuild_bump_share_of_cold": 0.25,
    "bump_pull_share_of_image": 0.10,
    "cpu_size_bytes": 2.0e9,
    "healthy_s": 3.0,
}


def run(argv: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        argv, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True
    )
    if result.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def timed(action: Callable[[], object]) -> float:
    start = time.monotonic()
    action()
    return time.monotonic() - start


def summary(samples: list[float]) -> dict:
    return {
        "median": round(statistics.median(samples), 2),
        "min": round(min(samples), 2),
        "max": round(max(samples), 2),
        "runs": len(samples),
    }


def imagectl(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
    return run([str(BIN / "imagectl"), *args], cwd=cwd, env=env)


@contextlib.contextmanager
def bumped_worktree(package: str) -> Iterator[Path]:
    """A worktree of HEAD whose lock has `package` (name==version) bumped, layers re-split."""
    name = package.split("==")[0]
    with tempfile.TemporaryDirectory(prefix="bench-bump-") as tmp:
        tree = Path(tmp) / "tree"
        run(["git", "worktree", "add", "--detach", str(tree), "HEAD"])
        try:
            requirements = tree / "docker/requirements/cpu.in"
            text = requirements.read_text()
            lines = [package if line.strip() == name else line for line in text.splitlines()]
            assert package in lines, f"{name} is not a plain line of cpu.in"
            requirements.write_text("\n".join(lines) + "\n")
            imagectl("lock", "cpu", cwd=tree)  # uv keeps every other pin of the existing lock
            yield tree
        finally:
            run(["git", "worktree", "remove", "--force", str(tree)])


def healthy_after_run(docker_client: docker.DockerClient, ref: str) -> float:
    start = time.monotonic()
    container = docker_client.containers.run(
        ref, detach=True, environment={"JUPYTER_TOKEN": "bench"}
    )
    try:
        while time.monotonic() - start < 60:
            container.reload()
            if container.attrs["State"].get("Health", {}).get("Status") == "healthy":
                return time.monotonic() - start
            time.sleep(0.05)
        sys.exit(f"{ref} was not healthy within 60 s")
    finally:
        container.remove(force=True)


def pushed_layers(ref: str) -> list[tuple[str, int]]:
    parsed = registry.parse_reference(ref)
    found = registry.RegistryClient(parsed.host).manifest(parsed.repository, parsed.reference)
    assert found is not None, f"{ref} is not in the registry"
    return found.layers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold-runs", type=int, default=2, help="cold builds (each ~1 min)")
    parser.add_argument("--runs", type=int, default=3, help="runs of the cheaper measurements")
    parser.add_argument("--bump", default="tqdm==4.67.1", help="the one-package bump to measure")
    args = parser.parse_args()

    graph = config.load(ROOT)
    docker_client = docker.from_env(timeout=900)
    head = revision.current(ROOT).sha
    cpu_ref = tags.sha_tag(graph, "cpu", head)
    bench = {"REGISTRY_URL": BENCH_REGISTRY}
    results: dict = {"machine": f"{os.cpu_count()} cores", "commit": head}

    print("cold builds ...", file=sys.stderr)
    cold = []
    for _ in range(args.cold_runs):
        run(["docker", "builder", "prune", "-af"])
        cold.append(timed(lambda: imagectl("build", "cpu")))
    results["cold_build_s"] = summary(cold)
    print("rebuilds ...", file=sys.stderr)
    results["rebuild_unchanged_s"] = summary(
        [timed(lambda: imagectl("build", "cpu")) for _ in range(args.runs)]
    )

    print(f"bump {args.bump} ...", file=sys.stderr)
    started_registry = "started" in imagectl("registry", "up")
    # the host's platform only: the bump is measured where it is built natively
    native = platforms.native()
    current = f"{BENCH_REGISTRY}/cpu:{head}-{native.slug}"
    docker_client.images.get(cpu_ref).tag(current)
    bumped_sha = secrets.token_hex(20)
    bumped = f"{BENCH_REGISTRY}/cpu:{bumped_sha}-{native.slug}"
    try:
        imagectl("push", "cpu", "--platform", native.name, env=bench)
        with bumped_worktree(args.bump) as tree:
            env = {**bench, "CI_COMMIT_SHA": bumped_sha}
            results["rebuild_bump_s"] = summary(
                [timed(lambda: imagectl("build", "cpu", cwd=tree, env=env))]
            )
            imagectl("push", "cpu", "--platform", native.name, cwd=tree, env=env)
        versions = (f"cpu:{head}-{native.slug}", f"cpu:{bumped_sha}-{native.slug}")
        diff = json.loads(imagectl("diff", "--json", *versions, env=bench))
        changed = sorted(diff["python_packages"]["changed"])
        results["bump"] = {"package": args.bump, "changed": changed, "pull": diff["pull"]}
        cpu_pushed = sum(size for _, size in pushed_layers(current))
    finally:
        for ref in (current, bumped, f"{BENCH_REGISTRY}/cpu:{bumped_sha}",
                    f"{BENCH_REGISTRY}/cpu:latest"):  # fmt: skip
            with contextlib.suppress(docker.errors.APIError):
                docker_client.images.remove(ref)
    results["sizes"] = {"cpu": {"bytes": docker_client.images.get(cpu_ref).attrs["Size"],
                                "pushed_bytes": cpu_pushed}}  # fmt: skip
    gpu_ref = tags.sha_tag(graph, "gpu", head) if "gpu" in graph.images else None
    with contextlib.suppress(docker.errors.ImageNotFound, TypeError):
        gpu = docker_client.images.get(gpu_ref)
        print("pushing gpu for its compressed size ...", file=sys.stderr)
        gpu_bench = f"{BENCH_REGISTRY}/gpu:{head}"
        gpu.tag(gpu_bench)
        try:
            imagectl("push", "gpu", env=bench)
            gpu_layers = pushed_layers(gpu_bench)
        finally:
            docker_client.images.remove(gpu_bench)
        cpu_digests = {digest for digest, _ in pushed_layers(current)}
        results["sizes"]["gpu"] = {
            "bytes": gpu.attrs["Size"],
            "pushed_bytes": sum(size for _, size in gpu_layers),
            "pull_with_cpu_bytes": sum(s for d, s in gpu_layers if d not in cpu_digests),
        }
    if started_registry:
        imagectl("registry", "down")

    print("start-up and tests ...", file=sys.stderr)
    results["healthy_s"] = summary([healthy_after_run(docker_client, cpu_ref) for _ in range(5)])
    pytest = [str(BIN / "pytest"), "-q", "-p", "no:cacheprovider", "--image", "cpu",
              "tests/image"]  # fmt: skip
    results["image_tests_s"] = summary([timed(lambda: run(pytest)) for _ in range(args.runs)])

    native = platforms.native()
    for name in graph.get("cpu").platforms:
        if name != native.name:
            results.setdefault("platforms", {})[name] = foreign_platform(
                docker_client, graph, head, platforms.get(name)
            )

    cold_median = results["cold_build_s"]["median"]
    results["checks"] = {
        "rebuild_unchanged_share_of_cold": results["rebuild_unchanged_s"]["median"] / cold_median,
        "rebuild_bump_share_of_cold": results["rebuild_bump_s"]["median"] / cold_median,
        "bump_pull_share_of_image": results["bump"]["pull"]["bytes"]
        / results["bump"]["pull"]["image_bytes"],
        "cpu_size_bytes": results["sizes"]["cpu"]["bytes"],
        "healthy_s": results["healthy_s"]["median"],
    }
    for name, measured in results.get("platforms", {}).items():
        results["checks"][name] = {
            "foreign_cold_over_native_cold": measured["cold_build_s"]["median"] / cold_median,
            "foreign_rebuild_share_of_its_cold": measured["rebuild_unchanged_s"]["median"]
            / measured["cold_build_s"]["median"],
            "foreign_size_over_native": measured["bytes"] / results["sizes"]["cpu"]["bytes"],
            "foreign_pushed_over_native": measured["pushed_bytes"] / cpu_pushed,
        }
    write(results)


def foreign_platform(
    docker_client: docker.DockerClient,
    graph: config.ImageGraph,
    head: str,
    platform: platforms.Platform,
) -> dict:
    """cpu for another platform, under QEMU: one cold build (after the native cold builds,
    from an empty build cache again), rebuilds, sizes, and its image tests' time."""
    print(f"{platform.name}: cold build under emulation ...", file=sys.stderr)
    build = ["build", "cpu", "--platform", platform.name]
    run(["docker", "builder", "prune", "-af"])
    cold = timed(lambda: imagectl(*build))
    rebuild = [timed(lambda: imagectl(*build)) for _ in range(3)]
    ref = tags.platform_tag(graph, "cpu", head, platform)
    pushed = f"{BENCH_REGISTRY}/cpu:{head}-{platform.slug}"
    started_registry = "started" in imagectl("registry", "up")
    docker_client.images.get(ref).tag(pushed)
    try:
        run(["docker", "push", pushed])
        layers = pushed_layers(pushed)
    finally:
        docker_client.images.remove(pushed)
        if started_registry:
            imagectl("registry", "down")
    print(f"{platform.name}: image tests under emulation ...", file=sys.stderr)
    pytest = [str(BIN / "pytest"), "-q", "-p", "no:cacheprovider", "--image", "cpu",
              "--platform", platform.name, "tests/image"]  # fmt: skip
    return {
        "cold_build_s": summary([cold]),
        "rebuild_unchanged_s": summary(rebuild),
        "bytes": docker_client.images.get(ref).attrs["Size"],
        "pushed_bytes": sum(size for _, size in layers),
        "image_tests_s": summary([timed(lambda: run(pytest))]),
    }


def fmt_s(s: dict) -> str:
    return f"{s['median']} s (min {s['min']}, max {s['max']}, n={s['runs']})"


def gb(size: int) -> str:
    return f"{size / 1e9:.2f} GB"


def write(results: dict) -> None:
    checks = results["checks"]

    def verdict(key: str, shown: str) -> str:
        return f"{shown} ({'met' if checks[key] <= TARGETS[key] else 'MISSED'})"

    pull = results["bump"]["pull"]
    sizes = results["sizes"]
    rows = [
        ("cold cpu build (empty build cache, base present)", fmt_s(results["cold_build_s"]), ""),
        ("rebuild, nothing changed", fmt_s(results["rebuild_unchanged_s"]),
         verdict("rebuild_unchanged_share_of_cold",
                 f"{checks['rebuild_unchanged_share_of_cold']:.1%} of cold")),
        (f"rebuild after bumping {results['bump']['package']}", fmt_s(results["rebuild_bump_s"]),
         verdict("rebuild_bump_share_of_cold",
                 f"{checks['rebuild_bump_share_of_cold']:.1%} of cold")),
        ("bytes to pull after the bump (compressed)",
         f"{pull['bytes'] / 1e6:.1f} MB in {pull['layers']} of {pull['of_layers']} layers",
         verdict("bump_pull_share_of_image",
                 f"{checks['bump_pull_share_of_image']:.1%} of {gb(pull['image_bytes'])}")),
        ("cpu image size", f"{gb(sizes['cpu']['bytes'])} uncompressed, "
         f"{gb(sizes['cpu']['pushed_bytes'])} pushed",
         verdict("cpu_size_bytes", "target 2.0 GB uncompressed")),
    ]  # fmt: skip
    if "gpu" in sizes:
        rows.append(("gpu image size", f"{gb(sizes['gpu']['bytes'])} uncompressed, "
                     f"{gb(sizes['gpu']['pushed_bytes'])} pushed",
                     f"{gb(sizes['gpu']['pull_with_cpu_bytes'])} to pull with cpu"))  # fmt: skip
    rows += [
        ("docker run -> healthy", fmt_s(results["healthy_s"]),
         verdict("healthy_s", "target 3 s")),
        ("cpu image test suite", fmt_s(results["image_tests_s"]), ""),
    ]  # fmt: skip
    for name, measured in results.get("platforms", {}).items():
        ratios = checks[name]

        def against(key: str, shown: str, ratios: dict = ratios) -> str:
            return f"{shown} ({'met' if ratios[key] <= TARGETS[key] else 'MISSED'})"

        rows += [
            (f"{name} cold build (QEMU)", fmt_s(measured["cold_build_s"]),
             against("foreign_cold_over_native_cold",
                     f"{ratios['foreign_cold_over_native_cold']:.2f} x native cold, target 3")),
            (f"{name} rebuild, nothing changed", fmt_s(measured["rebuild_unchanged_s"]),
             against("foreign_rebuild_share_of_its_cold",
                     f"{ratios['foreign_rebuild_share_of_its_cold']:.1%} of its cold")),
            (f"{name} image size", f"{gb(measured['bytes'])} uncompressed, "
             f"{gb(measured['pushed_bytes'])} pushed",
             against("foreign_size_over_native",
                     f"{ratios['foreign_size_over_native']:.3f} x and "
                     f"{ratios['foreign_pushed_over_native']:.3f} x native, target 1.10")),
            (f"{name} image test suite (QEMU)", fmt_s(measured["image_tests_s"]), ""),
        ]  # fmt: skip
    table = "| measure | value | against the target |\n|---|---|---|\n" + "".join(
        f"| {a} | {b} | {c} |\n" for a, b, c in rows
    )
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(results, indent=2) + "\n")
    header = f"# make bench ({results['machine']}, commit {results['commit'][:12]})\n\n"
    (out / "bench.md").write_text(header + table)
    print(header + table)


if __name__ == "__main__":
    main()
