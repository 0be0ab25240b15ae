"""The lock's install layers: complete, each package once, and never needing a later layer."""

import shutil
from pathlib import Path

import pytest
from support import ROOT

from imagectl import config, layers
from imagectl.errors import ConfigError

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


GRAPH = config.load(ROOT)
LAYERED = [
    spec
    for spec in GRAPH.images.values()
    if spec.requirements and len(layers.requirement_layers(spec.requirements)) > 1
]


@pytest.mark.parametrize("spec", LAYERED, ids=lambda spec: spec.name)
def test_committed_layers_are_what_the_lock_and_markers_give(
    spec: config.ImageSpec, tmp_path: Path
) -> None:
    assert spec.requirements and spec.lock_file
    shutil.copy(spec.requirements, tmp_path)
    shutil.copy(spec.lock_file, tmp_path)
    written = layers.write_layers(tmp_path / spec.requirements.name, tmp_path / spec.lock_file.name)
    committed = sorted(layers.layer_dir(spec.lock_file).glob("*.txt"))
    assert [p.name for p in written] == [p.name for p in committed]
    for fresh, kept in zip(written, committed, strict=True):
        assert fresh.read_text() == kept.read_text(), f"{kept.name} is stale: run `make lock`"


@pytest.mark.parametrize("spec", LAYERED, ids=lambda spec: spec.name)
def test_layers_hold_every_locked_package_exactly_once(spec: config.ImageSpec) -> None:
    assert spec.lock_file
    locked = [e.name for e in layers.parse_lock(spec.lock_file.read_text())]
    layered = [
        e.name
        for path in sorted(layers.layer_dir(spec.lock_file).glob("*.txt"))
        for e in layers.parse_lock(path.read_text())
    ]
    assert sorted(layered) == sorted(locked)


@pytest.mark.parametrize("spec", LAYERED, ids=lambda spec: spec.name)
def test_dockerfile_installs_every_layer_in_order(spec: config.ImageSpec) -> None:
    assert spec.lock_file
    dockerfile = spec.dockerfile.read_text()
    layer_dir = layers.layer_dir(spec.lock_file)
    names = [f"{layer_dir.name}/{p.name}" for p in sorted(layer_dir.glob("*.txt"))]
    positions = [dockerfile.find(name) for name in names]
    assert -1 not in positions, f"{spec.dockerfile.name} misses a layer of {names}"
    assert positions == sorted(positions)


def test_every_image_with_layer_markers_is_covered() -> None:
    assert {spec.name for spec in LAYERED} >= {"cpu", "gpu"}
