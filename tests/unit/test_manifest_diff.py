"""Diffing two image manifests: package changes, label changes, and the bytes to pull."""

from __future__ import annotations

import copy

import pytest

from imagectl import manifest


def _manifest(ref: str, layers: list[tuple[str, int]], **changes: object) -> dict:
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


def test_packages_added_removed_and_changed_are_each_listed_once() -> None:
    old = _manifest("r/cpu:a", BASE)
    new = _manifest(
        "r/cpu:b",
        BASE,
        python_packages={"numpy": "2.3.1", "pandas": "2.3.1", "polars": "1.0.0"},
        debian_packages={"bash": "5.2.37-2", "mecab": "0.996-15", "tree": "2.2.1-1"},
    )
    result = manifest.diff(old, new)
    assert result["python_packages"] == {
        "added": {"polars": "1.0.0"},
        "removed": {"tqdm": "4.67.1"},
        "changed": {"numpy": ["2.3.0", "2.3.1"]},
    }
    assert result["debian_packages"] == {"added": {"tree": "2.2.1-1"}, "removed": {}, "changed": {}}


def test_label_changes_are_reported_like_packages() -> None:
    labels = {"org.opencontainers.image.revision": "b" * 40, "owner": "me"}
    result = manifest.diff(_manifest("r/cpu:a", BASE), _manifest("r/cpu:b", BASE, labels=labels))
    assert result["labels"] == {
        "added": {"owner": "me"},
        "removed": {"team": "data"},
        "changed": {"org.opencontainers.image.revision": ["a" * 40, "b" * 40]},
    }


def test_local_pull_size_counts_only_layers_the_old_image_lacks() -> None:
    old = _manifest("r/cpu:a", BASE)
    new = _manifest("r/cpu:b", [*BASE, ("sha256:probe", 40_000)])
    pull = manifest.diff(old, new)["pull"]
    assert pull == {
        "bytes": 40_000,
        "layers": 1,
        "of_layers": 3,
        "image_bytes": 1_920_040_000,
        "source": "local",
    }


def test_registry_pull_size_uses_compressed_blobs_when_both_manifests_are_given() -> None:
    old, new = _manifest("r/cpu:a", BASE), _manifest("r/cpu:b", BASE)
    old_blobs = [("sha256:gz-base", 40_000_000), ("sha256:gz-stack", 600_000_000)]
    new_blobs = [("sha256:gz-base", 40_000_000), ("sha256:gz-stack2", 610_000_000)]
    pull = manifest.diff(old, new, old_blobs, new_blobs)["pull"]
    assert pull["source"] == "registry"
    assert (pull["bytes"], pull["layers"], pull["image_bytes"]) == (610_000_000, 1, 650_000_000)


def test_unknown_layer_sizes_make_the_pull_size_unknown_not_wrong() -> None:
    new = _manifest("r/cpu:b", [*BASE, ("sha256:x", 0)])
    new["layers"][-1]["size"] = None
    result = manifest.diff(_manifest("r/cpu:a", BASE), new)
    assert result["pull"]["bytes"] is None
    assert "To pull: unknown" in manifest.render_diff(result)


def test_the_table_names_each_change_and_where_the_sizes_come_from() -> None:
    new = _manifest(
        "r/cpu:b",
        [*BASE, ("sha256:probe", 40_000)],
        python_packages={"numpy": "2.3.0", "pandas": "2.3.1", "tqdm": "4.67.1", "probe": "1.0"},
    )
    text = manifest.render_diff(manifest.diff(_manifest("r/cpu:a", BASE), new))
    assert "Python packages: 1 added, 0 removed, 0 changed" in text
    assert "+ probe" in text and "1.0" in text
    assert "Debian packages: no change" in text
    assert "40.0 kB in 1 of 3 layers, of 1.9 GB" in text
    assert "uncompressed local layer sizes" in text


def test_an_image_without_python_diffs_its_debian_packages() -> None:
    old = _manifest("r/tiny:a", BASE, python=None, python_packages={})
    new = _manifest("r/tiny:b", BASE, python=None, python_packages={})
    result = manifest.diff(old, new)
    assert result["python"] == [None, None]
    assert "Python packages: no change" in manifest.render_diff(result)


# `docker history` of the cpu image, oldest first: the WORKDIR made a layer of size 0.
CPU_HISTORY = [
    {"CreatedBy": "", "Size": 120_000_000},
    {"CreatedBy": "SHELL [/bin/bash -o pipefail -c]", "Size": 0},
    {"CreatedBy": "ENV LANG=C.UTF-8 LC_ALL=C.UTF-8", "Size": 0},
    {"CreatedBy": "RUN /bin/bash -o pipefail -c apt-get install ...", "Size": 784_000_000},
    {"CreatedBy": "ENV VIRTUAL_ENV=/opt/venv", "Size": 0},
    {"CreatedBy": "RUN /bin/bash -o pipefail -c uv pip sync ...", "Size": 1_030_000_000},
    {"CreatedBy": "COPY docker/rootfs/ / # buildkit", "Size": 1_580},
    {"CreatedBy": "USER analyst", "Size": 0},
    {"CreatedBy": "WORKDIR /home/analyst/work", "Size": 0},
    {"CreatedBy": 'CMD ["jupyter" "lab"]', "Size": 0},
]


def test_layer_sizes_follow_the_history_including_an_empty_workdir_layer() -> None:
    steps = manifest.layer_steps([f"sha256:{i}" for i in range(5)], CPU_HISTORY)
    assert steps is not None
    assert [step["Size"] for step in steps] == [120_000_000, 784_000_000, 1_030_000_000, 1_580, 0]
    assert steps[-1]["CreatedBy"].startswith("WORKDIR")


def test_a_history_that_does_not_match_the_layers_gives_no_sizes() -> None:
    assert manifest.layer_steps([f"sha256:{i}" for i in range(7)], CPU_HISTORY) is None


@pytest.mark.parametrize(
    ("size", "text"),
    [(None, "unknown"), (512, "512 B"), (40_000, "40.0 kB"), (1_930_000_000, "1.9 GB")],
)
def test_sizes_read_like_dockers(size: int | None, text: str) -> None:
    assert manifest.human_size(size) == text


def test_dpkg_listing_keeps_installed_packages_only() -> None:
    listing = "ii \tbash\t5.2.37-2\nrc \told-lib\t1.0\nii \tmecab\t0.996-15\n"
    assert manifest.parse_dpkg(listing) == {"bash": "5.2.37-2", "mecab": "0.996-15"}


def test_markdown_has_a_table_per_package_kind() -> None:
    text = manifest.markdown(_manifest("r/cpu:a", BASE))
    assert "## Python packages (3)" in text and "| numpy | 2.3.0 |" in text
    assert "## Debian packages (2)" in text and "| mecab | 0.996-15 |" in text
    assert "## Layers (bottom first)" in text
