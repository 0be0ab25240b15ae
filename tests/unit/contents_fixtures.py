"""A made-up contents listing of an image, as `imagectl.contents.collect` returns them."""

from __future__ import annotations

import copy


def listing(ref: str, layers: list[tuple[str, int]], **changes: object) -> dict:
    """Contents of image `ref` with these layers; `changes` replace whole fields."""
    found = {
        "schema": 1,
        "ref": ref,
        "id": "sha256:" + ref[-1] * 64,
        "size": sum(size for _, size in layers),
        "labels": {"org.opencontainers.image.revision": "a" * 40, "team": "data"},
        "layers": [{"diff_id": d, "size": s, "created_by": "RUN x"} for d, s in layers],
        "python": {"version": "3.13.5", "executable": "/opt/venv/bin/python3"},
        "python_packages": {"numpy": "2.3.0", "pandas": "2.3.1", "tqdm": "4.67.1"},
        "debian_packages": {"bash": "5.2.37-2", "mecab": "0.996-15"},
    }
    found.update(copy.deepcopy(changes))
    return found


BASE = [("sha256:base", 120_000_000), ("sha256:stack", 1_800_000_000)]
