"""Records that an image's tests passed, keyed by image ID (the config digest a registry shows):
`promote` moves `latest` only to an image with such a record, so a tag can't point at an image
that differs from the one tested. The test session (tests/conftest.py) writes them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from imagectl.config import ImageGraph

DIRECTORY = Path(".cache/test-passes")


def record_path(root: Path, name: str, image_id: str) -> Path:
    return root / DIRECTORY / name / f"{image_id.removeprefix('sha256:')}.json"


def record(root: Path, name: str, image_id: str, ref: str, tests: int) -> Path:
    """Note that `tests` tests of `name` passed against the image `image_id` (tagged `ref`)."""
    path = record_path(root, name, image_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "image": name,
                "image_id": image_id,
                "ref": ref,
                "tests": tests,
                "passed_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
            indent=2,
        )
        + "\n"
    )
    return path


def find(root: Path, name: str, image_id: str) -> dict | None:
    path = record_path(root, name, image_id)
    return json.loads(path.read_text()) if path.is_file() else None


def covers_image(graph: ImageGraph, name: str, test_files: Iterable[Path]) -> bool:
    """Whether a run that collected `test_files` ran every image test file of `name` and its
    parents: a run of one file or of tests/unit alone proves nothing about the image."""
    wanted = {
        path.resolve()
        for spec in graph.lineage(name)
        for path in (graph.root / "tests" / "image" / spec.name).glob("test_*.py")
    }
    return bool(wanted) and wanted <= {Path(p).resolve() for p in test_files}
