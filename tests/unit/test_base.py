"""The base image: pinned by digest, and a debootstrapped one says which archive state it is."""

from __future__ import annotations

import re
from pathlib import Path

from support import ROOT

from imagectl import base, config


def test_the_base_image_is_pinned_by_digest() -> None:
    # (tests/unit/test_gitlab_ci.py checks that the CI file's DEBIAN_IMAGE is the same pin)
    pinned = config.load(ROOT).base.image
    assert re.fullmatch(r"debian:trixie-slim@sha256:[0-9a-f]{64}", pinned)


def test_a_debootstrapped_rootfs_tells_its_archive_and_release_date(tmp_path: Path) -> None:
    (tmp_path / "etc/apt").mkdir(parents=True)
    (tmp_path / "etc/apt/sources.list").write_text("deb http://mirror.example/debian trixie main\n")
    lists = tmp_path / "var/lib/apt/lists"
    lists.mkdir(parents=True)
    (lists / "mirror.example_debian_dists_trixie_InRelease").write_text(
        "-----BEGIN PGP SIGNED MESSAGE-----\nOrigin: Debian\nSuite: stable\nVersion: 13.8\n"
        "Codename: trixie\nDate: Sat, 21 Nov 2026 09:15:44 UTC\n"
    )
    archive, date = base.archive_state(tmp_path, "trixie")
    assert archive == "http://mirror.example/debian trixie 13.8"
    assert date == "Sat, 21 Nov 2026 09:15:44 UTC"
