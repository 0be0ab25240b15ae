"""An image's contents: layer sizes from the history, dpkg's listing, sizes and Markdown."""

from __future__ import annotations

import pytest
from contents_fixtures import BASE, listing

from imagectl import contents

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
    steps = contents.layer_steps([f"sha256:{i}" for i in range(5)], CPU_HISTORY)
    assert steps is not None
    assert [step["Size"] for step in steps] == [120_000_000, 784_000_000, 1_030_000_000, 1_580, 0]
    assert steps[-1]["CreatedBy"].startswith("WORKDIR")


def test_a_history_that_does_not_match_the_layers_gives_no_sizes() -> None:
    assert contents.layer_steps([f"sha256:{i}" for i in range(7)], CPU_HISTORY) is None


@pytest.mark.parametrize(
    ("size", "text"),
    [(None, "unknown"), (512, "512 B"), (40_000, "40.0 kB"), (1_930_000_000, "1.9 GB")],
)
def test_sizes_read_like_dockers(size: int | None, text: str) -> None:
    assert contents.human_size(size) == text


def test_dpkg_listing_keeps_installed_packages_only() -> None:
    listing = "ii \tbash\t5.2.37-2\nrc \told-lib\t1.0\nii \tmecab\t0.996-15\n"
    assert contents.parse_dpkg(listing) == {"bash": "5.2.37-2", "mecab": "0.996-15"}


def test_markdown_has_a_table_per_package_kind() -> None:
    text = contents.markdown(listing("r/cpu:a", BASE))
    assert "## Python packages (3)" in text and "| numpy | 2.3.0 |" in text
    assert "## Debian packages (2)" in text and "| mecab | 0.996-15 |" in text
    assert "## Layers (bottom first)" in text
