"""The real requirements (docker/requirements/*.in) still resolve on the package index this
host uses, to the versions their locks pin, and the files those pins name are still the ones
served (each hash the lock pins is among the index's). Nothing here depends on which newer
versions the index holds: the locks are resolved as `make lock` does, without --upgrade, so uv
keeps every pin that still satisfies its requirements, whatever was released since.
(The update flow itself is tested against an index its test makes: test_update.py.)"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support import ROOT

from imagectl import config, layers, lock

GRAPH = config.load(ROOT)
REQUIREMENTS = ROOT / "docker" / "requirements"
# the installer's lock, then each image's, parents first (children resolve against them)
LOCKED = ["uv", *(spec.name for spec in GRAPH.build_order(list(GRAPH.images)) if spec.lock_file)]


def hashes(lock_text: str) -> dict[str, tuple[str, set[str]]]:
    """{name: (version, {hash})} of a lock's entries."""
    found = {}
    for entry in layers.parse_lock(lock_text):
        version = entry.lines[0].split("==", 1)[1].split()[0]
        found[entry.name] = (version, {line.split("--hash=")[1].strip(" \\") for line in
                                       entry.lines[1:]})  # fmt: skip
    return found


@pytest.mark.parametrize("name", LOCKED)
def test_the_locked_requirements_still_resolve_to_their_pins_with_the_hashes_they_pin(
    name: str, tmp_path: Path
) -> None:
    # a copy, so the repository's locks stay as they are whatever uv writes
    for path in REQUIREMENTS.glob("*"):
        if path.is_file():
            shutil.copy2(path, tmp_path / path.name)
    spec = GRAPH.images.get(name)
    parent = GRAPH.get(spec.parent).lock_file if spec and spec.parent else None
    committed = hashes((REQUIREMENTS / f"{name}.lock").read_text())
    resolved = hashes(
        lock.compile_lock(
            tmp_path / f"{name}.in", tmp_path / parent.name if parent else None
        ).read_text()
    )
    moved = {
        package: f"{version} -> {resolved.get(package, ('gone',))[0]}"
        for package, (version, _) in committed.items()
        if resolved.get(package, ("",))[0] != version
    }
    assert not moved, f"{name}.lock no longer resolves as it is: {moved}"
    unserved = {
        package: sorted(pinned - resolved[package][1])
        for package, (_, pinned) in committed.items()
        if not pinned <= resolved[package][1]
    }
    assert not unserved, f"the index no longer serves these pinned files: {unserved}"
