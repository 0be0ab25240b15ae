#!/usr/bin/env python3
"""`make bench-workplace`: how soon an analyst can work, measured through the browser
(Debian's chromium driven by Playwright, tests/harness/workplace.py: the same as
tests/browser/).

Each of --runs rounds (default 5) times, on the cpu image built from HEAD:
- a bare `docker run --rm IMAGE python -c pass` (what any container of the image costs here);
- `docker run -d -p ... -e JUPYTER_TOKEN=... IMAGE` until the engine says healthy (its ratio to
  the bare run is the image's own start cost);
- in a fresh container and a fresh browser context (no cache): `docker run` until JupyterLab's
  launcher is drawn; then the launcher's notebook card until the status bar says the kernel is
  idle; then the usual imports typed into a cell, from Shift+Enter to the cell's number.
Prints a table (median, min, max, target) with the machine's load before and after, and writes
bench/results/workplace.{json,md}. A benchmark, not a test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import docker

from imagectl import config, revision, tags
from imagectl.errors import ImageToolError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the harnesses live with the tests
from harness import workplace  # noqa: E402

RESULTS = ROOT / "bench" / "results"
IMPORTS = "import numpy, pandas, sklearn, matplotlib.pyplot, seaborn, lightgbm"
# measure key: (what, target seconds or ratio, unit)
MEASURES = {
    "bare_s": ("`docker run --rm IMAGE python -c pass`", None, "s"),
    "healthy_s": ("`docker run` → healthy", None, "s"),
    "healthy_ratio": ("healthy / bare run", 3.5, "×"),
    "launcher_s": ("`docker run` → launcher drawn in the browser", 2.5, "s"),
    "kernel_s": ("new notebook → kernel idle", 1.0, "s"),
    "imports_s": (f"`{IMPORTS}` in a cell", 1.0, "s"),
}


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def bare_run(ref: str) -> float:
    start = time.monotonic()
    subprocess.run([workplace.docker_cli(), "run", "--rm", ref, "python", "-c", "pass"], check=True)
    return time.monotonic() - start


def healthy_run(client: docker.DockerClient, ref: str) -> float:
    server = workplace.run_server(ref, "bench")
    try:
        return workplace.wait_healthy(client, server)
    finally:
        workplace.remove_server(client, server)


def browser_run(client: docker.DockerClient, browser, ref: str) -> dict[str, float]:  # noqa: ANN001
    """One container, one fresh browser context: launcher, kernel, imports."""
    server = workplace.run_server(ref, "bench")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        lab = workplace.Lab(context.new_page(), server)
        lab.open()
        launcher = time.monotonic() - server.started
        # typing needs vim mode off (the image's default until issue 24's fix); a no-op after
        try:
            workplace.put_lab_setting(server, "@axlair/jupyterlab_vim:plugin", '{"enabled": false}')
            lab.open()
        except ImageToolError:
            pass  # the extension is gone: nothing to turn off
        kernel = lab.new_notebook()
        cell, imports = lab.run_cell(IMPORTS)
        if cell.source.strip() != IMPORTS or "Error" in cell.text:
            sys.exit(f"the imports cell did not run as typed: {cell.source!r}\n{cell.text}")
        return {"launcher_s": launcher, "kernel_s": kernel, "imports_s": imports}
    finally:
        context.close()
        workplace.remove_server(client, server)


def markdown(results: dict) -> str:
    rows = [
        f"The analyst's workplace through the browser on {results['machine']},"
        f" {results['image']} (commit {results['commit']}),",
        f"{results['runs']} runs each; Debian's chromium {results['chromium']}",
        "",
        f"load before: `{results['load_before']}`  ",
        f"load after: `{results['load_after']}`",
        "",
        "| measure | median | min | max | target |",
        "|---|---|---|---|---|",
    ]
    for key, (name, target, unit) in MEASURES.items():
        values = results[key]
        fmt = (lambda v: f"{v:.2f} ×") if unit == "×" else (lambda v: f"{v:.2f} s")
        goal = f"≤ {target} {unit}" if target is not None else ""
        rows.append(
            f"| {name} | {fmt(statistics.median(values))} | {fmt(min(values))}"
            f" | {fmt(max(values))} | {goal} |"
        )
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-ref", help="default: the cpu image built from HEAD")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--output", default="workplace", help="bench/results/<name>.{json,md}")
    args = parser.parse_args()
    head = revision.current(ROOT)
    ref = args.image_ref or tags.sha_tag(config.load(ROOT), "cpu", head.sha)
    client = docker.from_env()
    try:
        labels = client.images.get(ref).labels or {}
        executable = workplace.ensure_browser()
    except docker.errors.ImageNotFound:
        sys.exit(f"{ref} is not built; run `make image`")
    except ImageToolError as exc:
        sys.exit(str(exc))
    from playwright.sync_api import sync_playwright

    load_before = uptime()
    print(f"{ref}, {args.runs} runs; {load_before}", file=sys.stderr, flush=True)
    samples: dict[str, list[float]] = {key: [] for key in MEASURES}
    bare_run(ref)  # the first run after a build pays for the engine's caches: not counted
    with sync_playwright() as playwright:
        browser = workplace.launch(playwright, executable)
        try:
            for run in range(args.runs):
                samples["bare_s"].append(bare_run(ref))
                samples["healthy_s"].append(healthy_run(client, ref))
                samples["healthy_ratio"].append(samples["healthy_s"][-1] / samples["bare_s"][-1])
                for key, value in browser_run(client, browser, ref).items():
                    samples[key].append(value)
                print(
                    f"run {run + 1}: " + ", ".join(f"{k} {v[-1]:.2f}" for k, v in samples.items()),
                    file=sys.stderr,
                    flush=True,
                )
        finally:
            browser.close()
    chromium = subprocess.run([executable, "--version"], capture_output=True, text=True)
    results = {
        "machine": f"{os.cpu_count()} cores",
        # the image's own revision (--image-ref may name another commit's build)
        "commit": labels.get("org.opencontainers.image.revision")
        or head.sha + (" + uncommitted changes" if head.dirty else ""),
        "image": ref.rsplit("/", 1)[-1],
        "chromium": chromium.stdout.split()[1] if chromium.stdout else "?",
        "runs": args.runs,
        "load_before": load_before,
        "load_after": uptime(),
        **{key: [round(v, 3) for v in values] for key, values in samples.items()},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.output}.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (RESULTS / f"{args.output}.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
