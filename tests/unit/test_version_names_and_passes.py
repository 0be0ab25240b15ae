"""Naming versions on the command line, and the test-pass records promote relies on."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import ROOT

from imagectl import config, passes, tags
from imagectl.errors import ConfigError

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def graph(monkeypatch: pytest.MonkeyPatch) -> config.ImageGraph:
    monkeypatch.delenv("REGISTRY_URL", raising=False)
    return config.load(ROOT)


@pytest.mark.parametrize(
    ("text", "suffix"),
    [(f"cpu:{SHA}", f"/cpu:{SHA}"), ("cpu:latest", "/cpu:latest"),
     ("cpu@sha256:" + "f" * 64, "/cpu@sha256:" + "f" * 64)],
)  # fmt: skip
def test_image_versions_resolve_to_the_graph_registry(
    graph: config.ImageGraph, text: str, suffix: str
) -> None:
    assert tags.resolve(graph, text) == graph.registry + suffix


def test_a_full_reference_is_taken_as_it_is(graph: config.ImageGraph) -> None:
    assert tags.resolve(graph, "local/debian-minbase:trixie") == "local/debian-minbase:trixie"


def test_a_bare_image_name_is_refused_with_the_forms_to_use(graph: config.ImageGraph) -> None:
    with pytest.raises(ConfigError, match="names no version") as caught:
        tags.resolve(graph, "cpu")
    assert "cpu:latest" in caught.value.hint


def test_an_unknown_image_name_is_a_config_error(graph: config.ImageGraph) -> None:
    with pytest.raises(ConfigError, match="unknown image"):
        tags.resolve(graph, f"cpuu:{SHA}")


def test_a_short_sha_for_a_version_is_refused_with_how_to_get_the_full_one(
    graph: config.ImageGraph,
) -> None:
    with pytest.raises(ConfigError, match="full 40-character") as caught:
        tags.version_tag(graph, "cpu", SHA[:12])
    assert "git rev-parse" in caught.value.hint


def test_a_pass_record_is_found_by_image_and_image_id_only(tmp_path: Path) -> None:
    image_id = "sha256:" + "1" * 64
    path = passes.record(tmp_path, "cpu", image_id, f"r/cpu:{SHA}", tests=42)
    assert path == tmp_path / ".cache/test-passes/cpu" / f"{'1' * 64}.json"
    assert passes.find(tmp_path, "cpu", image_id)["tests"] == 42
    assert passes.find(tmp_path, "cpu", "sha256:" + "2" * 64) is None
    assert passes.find(tmp_path, "gpu", image_id) is None


def test_a_pass_needs_every_image_test_file_of_the_image(graph: config.ImageGraph) -> None:
    files = sorted((ROOT / "tests/image/cpu").glob("test_*.py"))
    assert passes.covers_image(graph, "cpu", files)
    assert not passes.covers_image(graph, "cpu", files[1:])
    assert not passes.covers_image(graph, "cpu", [ROOT / "tests/unit/test_config.py"])
