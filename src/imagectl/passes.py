"""Records that an image's tests passed, keyed by image ID (the config digest a registry shows):
`promote` moves `latest` only to an image with such a record, so a tag can't point at an image
that differs from the one tested. The test session (tests/conftest.py) writes them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from imagectl import attachments
from imagectl.config import ImageGraph
from imagectl.registry import Manifest, Reference, RegistryClient

DIRECTORY = Path(".cache/test-passes")


def record_path(root: Path, name: str, image_id: str) -> Path:
    return root / DIRECTORY / name / f"{image_id.removeprefix('sha256:')}.json"


def record(
    root: Path, name: str, image_id: str, ref: str, tests: int, passed_at: str | None = None
) -> Path:
    """Note that `tests` tests of `name` passed against the image `image_id` (tagged `ref`),
    now or at `passed_at` (a pass brought from the registry keeps its time)."""
    path = record_path(root, name, image_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "image": name,
                "image_id": image_id,
                "ref": ref,
                "tests": tests,
                "passed_at": passed_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
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


# A pass goes to the registry beside the image it is about, tagged `sha256-<hex>.pass`
# (attachments.py): `imagectl push` attaches the pass recorded here, `imagectl pull` brings it
# back, so a pipeline that pulls an image its merge request tested need not test it again.
PASS = attachments.Kind(
    "pass", "application/vnd.analysis-template.test-pass.v1+json", "test-pass.json", "test pass"
)


def attach(
    registry: RegistryClient,
    root: Path,
    name: str,
    ref: Reference,
    image: Manifest,
    echo: Callable[[str], None],
) -> None:
    """Attach the pass recorded here for `image` (a manifest of `ref`'s repository), if any."""
    found = find(root, name, image.config_digest or "")
    if found is not None:
        data = (json.dumps(found, indent=2) + "\n").encode()
        attachments.attach(registry, ref, image, PASS, data, echo)


def fetch(
    registry: RegistryClient,
    root: Path,
    name: str,
    repository: str,
    image: Manifest,
    echo: Callable[[str], None],
) -> dict | None:
    """The pass attached to `image` in the registry, recorded here too; None when it has none,
    or one that is not about this very image of `name` (said, and not trusted)."""
    image_id = image.config_digest or ""
    try:
        data = attachments.fetch(registry, repository, image, PASS)
        found = json.loads(data) if data is not None else None
    except (attachments.Untrusted, ValueError) as exc:
        echo(f"warning: the test pass attached to {image.digest} is not trusted ({exc})")
        return None
    if found is None:
        return None
    if not isinstance(found, dict) or (found.get("image"), found.get("image_id")) != (
        name,
        image_id,
    ):
        echo(
            f"warning: the test pass attached to {image.digest} is about another image; "
            "it is not trusted"
        )
        return None
    record(
        root,
        name,
        image_id,
        found.get("ref", ""),
        int(found.get("tests", 0)),
        found.get("passed_at"),
    )
    return found
