#!/usr/bin/env python3
"""`make verify-rebuild`: is a version reproducible from its commit alone? Rebuilds the current
commit's image from an EMPTY build cache (as another machine would) and compares it with the
build that is here now:

- the Python package set must be equal, version for version (the locks pin it);
- the Debian package set is equal, or the report lists what Debian's archive updated since the
  first build (apt installs the suite's current versions);
- how many layer digests are identical.

The first build is put back under its tags afterwards, so its recorded test pass and any push
of it stay valid; the rebuilt image is removed. Writes bench/results/rebuild.{json,md}.
Exit 1 when the Python packages differ.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import docker

from imagectl import config, contents, diff, revision, tags

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def layer_match(first: dict, second: dict) -> tuple[int, int]:
    """(layers of the rebuild whose digest the first build has at the same place, of how many)."""
    old = [layer["diff_id"] for layer in first["layers"]]
    new = [layer["diff_id"] for layer in second["layers"]]
    return sum(1 for a, b in zip(old, new, strict=False) if a == b), len(new)


def report(name: str, sha: str, first: dict, second: dict, seconds: float) -> dict:
    changes = diff.contents_diff(first, second)
    same_layers, of_layers = layer_match(first, second)
    python = changes["python_packages"]
    return {
        "image": name,
        "commit": sha,
        "rebuild_s": round(seconds, 1),
        "python_equal": not any(python.values()),
        "python_changes": python,
        "debian_equal": not any(changes["debian_packages"].values()),
        "debian_updates": changes["debian_packages"],
        "same_image_id": first["id"] == second["id"],
        "identical_layers": same_layers,
        "layers": of_layers,
    }


def markdown(result: dict) -> str:
    debian = result["debian_updates"]
    lines = [
        f"# Rebuild of {result['image']} at {result['commit'][:12]} from an empty build cache",
        "",
        "| measure | value |",
        "|---|---|",
        f"| rebuild time | {result['rebuild_s']} s |",
        f"| Python packages equal | {'yes' if result['python_equal'] else 'NO'} |",
        "| Debian packages equal | "
        + ("yes |" if result["debian_equal"] else "no: archive updates below |"),
        f"| identical layer digests | {result['identical_layers']} of {result['layers']} |",
        f"| same image ID | {'yes' if result['same_image_id'] else 'no'} |",
    ]
    if not result["debian_equal"]:
        lines += ["", "Debian's archive updated since the first build:", ""]
        lines += [f"- {p}: {a} -> {b}" for p, (a, b) in debian["changed"].items()]
        lines += [f"- {p}: new, {v}" for p, v in debian["added"].items()]
        lines += [f"- {p}: gone, was {v}" for p, v in debian["removed"].items()]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", default="cpu")
    args = parser.parse_args()
    graph = config.load(ROOT)
    sha = revision.current(ROOT).sha
    ref, latest = tags.sha_tag(graph, args.image, sha), tags.latest_tag(graph, args.image)
    docker_client = docker.from_env(timeout=900)
    script = contents.script_path(ROOT)
    first = contents.collect(docker_client, ref, script)
    keep = f"{ref}-verify-first"
    docker_client.images.get(ref).tag(keep)
    try:
        print("$ docker builder prune --all --force", file=sys.stderr, flush=True)
        docker_client.api.prune_builds(all=True)
        start = time.monotonic()
        built = subprocess.run(
            [str(Path(sys.executable).with_name("imagectl")), "build", args.image], cwd=ROOT
        )
        if built.returncode != 0:
            return built.returncode
        seconds = time.monotonic() - start
        second = contents.collect(docker_client, ref, script)
    finally:  # the first build gets its tags back; the rebuild, if another image, goes
        rebuilt = docker_client.images.get(ref).id
        docker_client.images.get(keep).tag(ref)
        docker_client.images.get(keep).tag(latest)
        docker_client.images.remove(keep)
        if rebuilt != first["id"]:
            docker_client.images.remove(rebuilt, force=True)
    result = report(args.image, sha, first, second, seconds)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "rebuild.json").write_text(json.dumps(result, indent=1) + "\n")
    (RESULTS / "rebuild.md").write_text(markdown(result))
    print(markdown(result))
    return 0 if result["python_equal"] else 1


if __name__ == "__main__":
    sys.exit(main())
