"""Diffing two versions' contents: package changes, label changes, and the bytes to pull."""

from __future__ import annotations

from contents_fixtures import BASE, listing

from imagectl import diff


def test_packages_added_removed_and_changed_are_each_listed_once() -> None:
    old = listing("r/cpu:a", BASE)
    new = listing(
        "r/cpu:b",
        BASE,
        python_packages={"numpy": "2.3.1", "pandas": "2.3.1", "polars": "1.0.0"},
        debian_packages={"bash": "5.2.37-2", "mecab": "0.996-15", "tree": "2.2.1-1"},
    )
    result = diff.contents_diff(old, new)
    assert result["python_packages"] == {
        "added": {"polars": "1.0.0"},
        "removed": {"tqdm": "4.67.1"},
        "changed": {"numpy": ["2.3.0", "2.3.1"]},
    }
    assert result["debian_packages"] == {"added": {"tree": "2.2.1-1"}, "removed": {}, "changed": {}}


def test_label_changes_are_reported_like_packages() -> None:
    labels = {"org.opencontainers.image.revision": "b" * 40, "owner": "me"}
    result = diff.contents_diff(listing("r/cpu:a", BASE), listing("r/cpu:b", BASE, labels=labels))
    assert result["labels"] == {
        "added": {"owner": "me"},
        "removed": {"team": "data"},
        "changed": {"org.opencontainers.image.revision": ["a" * 40, "b" * 40]},
    }


def test_local_pull_size_counts_only_layers_the_old_image_lacks() -> None:
    old = listing("r/cpu:a", BASE)
    new = listing("r/cpu:b", [*BASE, ("sha256:probe", 40_000)])
    pull = diff.contents_diff(old, new)["pull"]
    assert pull == {
        "bytes": 40_000,
        "layers": 1,
        "of_layers": 3,
        "image_bytes": 1_920_040_000,
        "source": "local",
    }


def test_registry_pull_size_uses_compressed_blobs_when_both_manifests_are_given() -> None:
    old, new = listing("r/cpu:a", BASE), listing("r/cpu:b", BASE)
    old_blobs = [("sha256:gz-base", 40_000_000), ("sha256:gz-stack", 600_000_000)]
    new_blobs = [("sha256:gz-base", 40_000_000), ("sha256:gz-stack2", 610_000_000)]
    pull = diff.contents_diff(old, new, old_blobs, new_blobs)["pull"]
    assert pull["source"] == "registry"
    assert (pull["bytes"], pull["layers"], pull["image_bytes"]) == (610_000_000, 1, 650_000_000)


def test_unknown_layer_sizes_make_the_pull_size_unknown_not_wrong() -> None:
    new = listing("r/cpu:b", [*BASE, ("sha256:x", 0)])
    new["layers"][-1]["size"] = None
    result = diff.contents_diff(listing("r/cpu:a", BASE), new)
    assert result["pull"]["bytes"] is None
    assert "To pull: unknown" in diff.render(result)


def test_the_table_names_each_change_and_where_the_sizes_come_from() -> None:
    new = listing(
        "r/cpu:b",
        [*BASE, ("sha256:probe", 40_000)],
        python_packages={"numpy": "2.3.0", "pandas": "2.3.1", "tqdm": "4.67.1", "probe": "1.0"},
    )
    text = diff.render(diff.contents_diff(listing("r/cpu:a", BASE), new))
    assert "Python packages: 1 added, 0 removed, 0 changed" in text
    assert "+ probe" in text and "1.0" in text
    assert "Debian packages: no change" in text
    assert "40.0 kB in 1 of 3 layers, of 1.9 GB" in text
    assert "uncompressed local layer sizes" in text


def test_an_image_without_python_diffs_its_debian_packages() -> None:
    old = listing("r/tiny:a", BASE, python=None, python_packages={})
    new = listing("r/tiny:b", BASE, python=None, python_packages={})
    result = diff.contents_diff(old, new)
    assert result["python"] == [None, None]
    assert "Python packages: no change" in diff.render(result)


# `docker history` of the cpu image, oldest first: the WORKDIR made a layer of size 0.


def test_versions_of_several_platforms_render_one_section_each_and_name_a_missing_one() -> None:
    same = diff.contents_diff(listing("r/cpu:a", BASE), listing("r/cpu:b", BASE))
    arm = diff.contents_diff(
        listing("r/cpu:a-linux-arm64", BASE),
        listing("r/cpu:b-linux-arm64", BASE, debian_packages={"bash": "5.2.37-2", "tree": "2"}),
    )
    result = {
        "from": "r/cpu:a",
        "to": "r/cpu:b",
        "platforms": {"linux/amd64": same, "linux/arm64": arm},
        "only_in": {"from": [], "to": ["linux/riscv64"]},
    }
    text = diff.render(result)
    amd64_part, arm64_part = text.split("== linux/arm64 ==")
    assert text.startswith("r/cpu:a\n  -> r/cpu:b\n")
    assert "== linux/amd64 ==" in amd64_part and "Debian packages: no change" in amd64_part
    assert "+ tree" in arm64_part and "tree" not in amd64_part
    assert text.endswith("== linux/riscv64: only in the new version ==")
