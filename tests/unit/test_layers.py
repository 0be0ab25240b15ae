"""The lock's install layers: complete, each package once, and never needing a later layer."""

import shutil
from pathlib import Path

import pytest

from imagectl import layers
from imagectl.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
REQS = ROOT / "docker" / "requirements"

LOCK = """\
# header
a==1.0 \\
    --hash=sha256:aa
    # via -r x.in
b==2.0 \\
    --hash=sha256:bb
    # via
    #   a
    #   c
c==3.0 \\
    --hash=sha256:cc
    # via -r x.in
d==4.0 \\
    --hash=sha256:dd
    # via c
"""


def test_parse_lock_reads_pins_hashes_and_who_needs_them() -> None:
    entries = {e.name: e for e in layers.parse_lock(LOCK)}
    assert list(entries) == ["a", "b", "c", "d"]
    assert entries["b"].needed_by == ["a", "c"]
    assert entries["a"].needed_by == ["-r x.in"]
    assert entries["b"].lines == ["b==2.0 \\", "    --hash=sha256:bb"]


def test_a_shared_dependency_goes_to_the_earliest_layer_that_needs_it() -> None:
    split = layers.assign(layers.parse_lock(LOCK), [("early", ["a"]), ("late", ["c"])])
    assert [[e.name for e in layer] for layer in split] == [["a", "b"], ["c", "d"]]


def test_an_orphan_package_in_the_lock_is_an_error() -> None:
    orphan = LOCK + "e==5.0 \\\n    --hash=sha256:ee\n"
    with pytest.raises(ConfigError, match="e is in the lock but no requirement needs it"):
        layers.assign(layers.parse_lock(orphan), [("all", ["a", "c"])])


def test_committed_cpu_layers_are_what_the_lock_and_markers_give(tmp_path: Path) -> None:
    shutil.copy(REQS / "cpu.in", tmp_path)
    shutil.copy(REQS / "cpu.lock", tmp_path)
    written = layers.write_layers(tmp_path / "cpu.in", tmp_path / "cpu.lock")
    committed = sorted((REQS / "cpu.layers").glob("*.txt"))
    assert [p.name for p in written] == [p.name for p in committed]
    for fresh, kept in zip(written, committed, strict=True):
        assert fresh.read_text() == kept.read_text(), f"{kept.name} is stale: run `make lock`"


def test_layers_hold_every_locked_package_exactly_once() -> None:
    locked = [e.name for e in layers.parse_lock((REQS / "cpu.lock").read_text())]
    layered = [
        e.name
        for path in sorted((REQS / "cpu.layers").glob("*.txt"))
        for e in layers.parse_lock(path.read_text())
    ]
    assert sorted(layered) == sorted(locked)


def test_dockerfile_installs_every_layer_in_order() -> None:
    dockerfile = (ROOT / "docker" / "cpu.Dockerfile").read_text()
    names = [p.name for p in sorted((REQS / "cpu.layers").glob("*.txt"))]
    positions = [dockerfile.find(f"cpu.layers/{name}") for name in names]
    assert -1 not in positions, f"cpu.Dockerfile misses a layer of {names}"
    assert positions == sorted(positions)
