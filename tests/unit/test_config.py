"""The image graph is read once from images.yml and every mistake in it is named."""

from pathlib import Path

import pytest
from support import ROOT

from imagectl import config
from imagectl.errors import ConfigError

GRAPH = """
registry: 127.0.0.1:5000/demo
base: {image: "debian:trixie-slim", suite: trixie, local_name: "local/debian:trixie"}
images:
  cpu: {dockerfile: cpu.Dockerfile}
  gpu: {dockerfile: gpu.Dockerfile, parent: cpu, build_args: {CUDA: 12}}
"""


def write_graph(tmp_path: Path, text: str = GRAPH) -> Path:
    (tmp_path / "images.yml").write_text(text)
    for name in ("cpu", "gpu"):
        (tmp_path / f"{name}.Dockerfile").write_text("FROM scratch\n")
    return tmp_path


def test_repository_graph_names_the_cpu_image_and_its_dockerfile() -> None:
    graph = config.load(ROOT)
    cpu = graph.get("cpu")
    assert cpu.dockerfile == ROOT / "docker/cpu.Dockerfile"
    assert cpu.lock_file == ROOT / "docker/requirements/cpu.lock"
    assert cpu.lock_file.is_file()


def test_lineage_lists_parents_first(tmp_path: Path) -> None:
    graph = config.load(write_graph(tmp_path))
    assert [s.name for s in graph.lineage("gpu")] == ["cpu", "gpu"]
    assert [s.name for s in graph.build_order(["gpu", "cpu"])] == ["cpu", "gpu"]
    assert graph.get("gpu").build_args == {"CUDA": "12"}


def test_unknown_image_name_lists_the_known_ones(tmp_path: Path) -> None:
    graph = config.load(write_graph(tmp_path))
    with pytest.raises(ConfigError, match="unknown image 'cpuu'") as err:
        graph.get("cpuu")
    assert "cpu, gpu" in err.value.hint


def test_missing_dockerfile_is_named(tmp_path: Path) -> None:
    write_graph(tmp_path)
    (tmp_path / "gpu.Dockerfile").unlink()
    with pytest.raises(ConfigError, match=r"images.gpu.dockerfile gpu.Dockerfile does not exist"):
        config.load(tmp_path)


def test_malformed_yaml_is_reported_with_the_file(tmp_path: Path) -> None:
    write_graph(tmp_path, "images: [cpu\n")
    with pytest.raises(ConfigError, match="images.yml is not valid YAML"):
        config.load(tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a list\n", "must be a mapping"),
        (GRAPH.replace("base:", "bass:"), "the top level has no 'base'"),
        (GRAPH.replace("suite: trixie, ", ""), "base has no 'suite'"),
        (GRAPH.replace("parent: cpu", "parent: tpu"), "parent 'tpu' is not an image"),
        (GRAPH.replace("{dockerfile: cpu.Dockerfile}", "{dockerfile: cpu.Dockerfile, parent: gpu}"),
         "parent cycle"),
        (GRAPH.replace("{CUDA: 12}", "[CUDA]"), "build_args must be a mapping"),
    ],
)  # fmt: skip
def test_structural_mistakes_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config.load(write_graph(tmp_path, text))


def test_no_graph_file_anywhere_above(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no images.yml"):
        config.find_root(tmp_path)


def test_replaces_maps_the_parents_distribution_to_the_childs(tmp_path: Path) -> None:
    text = GRAPH.replace("build_args: {CUDA: 12}", "replaces: {xgboost-cpu: xgboost}")
    graph = config.load(write_graph(tmp_path, text))
    assert graph.get("gpu").replaces == {"xgboost-cpu": "xgboost"}
    assert graph.get("cpu").replaces == {}


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("build_args: {CUDA: 12}", "replaces: [xgboost-cpu]", "replaces must be a mapping"),
        ("{dockerfile: cpu.Dockerfile}", "{dockerfile: cpu.Dockerfile, replaces: {a: b}}",
         "replaces needs a parent"),
    ],
)  # fmt: skip
def test_malformed_replaces_is_named(tmp_path: Path, old: str, new: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config.load(write_graph(tmp_path, GRAPH.replace(old, new)))
