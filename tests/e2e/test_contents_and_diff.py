"""The contents of real builds, and diffs between them: the cpu image tells what it holds, and
a child of it that adds one package differs from it by exactly that package and a few kB."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest
from e2e_support import Project, make_project, random_sha, remove_project_images
from support import ROOT

from imagectl import config, contents, revision, tags

PROBE = "e2e_probe-1.0-py3-none-any.whl"
# the downstream pattern from the README: USER root, install, refresh the contents, USER back
CHILD_DOCKERFILE = f"""
        ARG BASE_IMAGE
        FROM ${{BASE_IMAGE}}
        USER root
        RUN --mount=type=bind,source={PROBE},target=/tmp/{PROBE} \\
            pip install --no-cache-dir --no-index --disable-pip-version-check /tmp/{PROBE}
        RUN image-contents > {contents.EMBEDDED_PATH}
        USER analyst
        """


def write_wheel(path: Path) -> None:
    """A one-module pure-Python wheel, made here so the child build needs no network."""
    files = {
        "e2e_probe/__init__.py": b'VERSION = "1.0"\n',
        "e2e_probe-1.0.dist-info/METADATA": (
            b"Metadata-Version: 2.1\nName: e2e-probe\nVersion: 1.0\n"
        ),
        "e2e_probe-1.0.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: e2e\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append("e2e_probe-1.0.dist-info/RECORD,,")
    with zipfile.ZipFile(path, "w") as wheel:
        for name, data in files.items():
            wheel.writestr(name, data)
        wheel.writestr("e2e_probe-1.0.dist-info/RECORD", "\n".join(record) + "\n")


@pytest.fixture(scope="module")
def cpu_ref(docker_client: docker.DockerClient) -> str:
    graph = config.load(ROOT)
    ref = tags.sha_tag(graph, "cpu", revision.current(ROOT).sha)
    try:
        docker_client.images.get(ref)
    except docker.errors.ImageNotFound:
        pytest.fail(f"{ref} is not built; run `make image`")
    return ref


@pytest.fixture(scope="module")
def child(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient, cpu_ref: str
) -> Iterator[tuple[Project, str, str]]:
    """(project, sha, ref) of an image FROM the cpu image that adds one Python package."""
    wheel = tmp_path_factory.mktemp("wheel") / PROBE
    write_wheel(wheel)
    images = {"child": {"Dockerfile": CHILD_DOCKERFILE, PROBE: wheel.read_bytes()}}
    project = make_project(tmp_path_factory.mktemp("child"), base_image=cpu_ref, images=images)
    sha = random_sha()
    try:
        yield project, sha, project.build("child", sha)
    finally:
        project.run("registry", "down", check=False)
        remove_project_images(docker_client, project)


def _embedded(docker_client: docker.DockerClient, ref: str) -> dict:
    out = docker_client.containers.run(
        ref, ["cat", contents.EMBEDDED_PATH], remove=True, network_mode="none"
    )
    return json.loads(out)


def test_the_cpu_image_embeds_the_contents_the_tool_lists(
    docker_client: docker.DockerClient, cpu_ref: str
) -> None:
    listed = contents.collect(docker_client, cpu_ref, contents.script_path(ROOT))
    embedded = _embedded(docker_client, cpu_ref)
    assert embedded["python_packages"] == listed["python_packages"]
    assert embedded["debian_packages"] == listed["debian_packages"]
    assert {"numpy", "pandas", "jupyterlab", "lightgbm"} <= listed["python_packages"].keys()
    assert {"mecab", "fonts-noto-cjk", "tini"} <= listed["debian_packages"].keys()
    assert listed["python"]["version"].startswith("3.")
    assert listed["labels"]["org.opencontainers.image.title"] == "cpu"
    assert sum(layer["size"] for layer in listed["layers"]) == listed["size"]


def test_build_writes_the_contents_as_json_and_markdown_next_to_the_build(
    docker_client: docker.DockerClient, child: tuple[Project, str, str]
) -> None:
    project, sha, ref = child
    written = json.loads((project.root / f"build/contents/child-{sha}.json").read_text())
    assert written["id"] == docker_client.images.get(ref).id
    assert written["python_packages"]["e2e-probe"] == "1.0"
    markdown = (project.root / f"build/contents/child-{sha}.md").read_text()
    assert "| e2e-probe | 1.0 |" in markdown


def test_a_child_refreshes_the_embedded_contents(
    docker_client: docker.DockerClient, child: tuple[Project, str, str]
) -> None:
    assert _embedded(docker_client, child[2])["python_packages"]["e2e-probe"] == "1.0"


def test_diff_to_a_child_shows_exactly_the_added_package_and_a_small_pull(
    child: tuple[Project, str, str], cpu_ref: str
) -> None:
    project, sha, _ = child
    result = json.loads(project.run("diff", cpu_ref, f"child:{sha}", "--json").stdout)
    assert result["python_packages"] == {
        "added": {"e2e-probe": "1.0"},
        "removed": {},
        "changed": {},
    }
    assert result["debian_packages"] == {"added": {}, "removed": {}, "changed": {}}
    assert result["labels"]["changed"]["org.opencontainers.image.title"] == ["cpu", "child"]
    pull = result["pull"]
    assert pull["source"] == "local"
    assert pull["layers"] == 2 and pull["of_layers"] > 2
    assert pull["bytes"] < 1_000_000 < 500_000_000 < pull["image_bytes"]

    assert not project.state.exists()  # local versions: no registry was started for them

    table = project.run("diff", cpu_ref, f"child:{sha}").stdout
    assert "Python packages: 1 added, 0 removed, 0 changed" in table
    assert "+ e2e-probe" in table and "Debian packages: no change" in table
    assert "uncompressed local layer sizes" in table


def test_diff_of_two_pushed_versions_counts_compressed_registry_bytes(project: Project) -> None:
    old, new = random_sha(), random_sha()
    project.build("deb", old)
    project.new_nonce()
    project.build("deb-plus", new)
    for name, sha in (("deb", old), ("deb-plus", new)):
        project.run("push", name, "--sha", sha)
    result = json.loads(
        project.run("diff", project.ref("deb", old), project.ref("deb-plus", new), "--json").stdout
    )
    layers = project.registry_manifest("deb-plus", new).layers
    base_blob = project.registry_manifest("deb", old).layers[0]
    assert result["pull"]["source"] == "registry"
    assert result["pull"]["bytes"] == sum(size for digest, size in layers if digest != base_blob[0])
    assert result["pull"]["image_bytes"] == sum(size for _, size in layers)
    assert result["debian_packages"] == {"added": {}, "removed": {}, "changed": {}}
