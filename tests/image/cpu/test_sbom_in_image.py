"""The image carries its CycloneDX SBOM: schema-valid, every Debian and Python package it holds
with its purl and version, the locks' hashes, licences where the packages state them."""

from __future__ import annotations

import json

import pytest

from imagectl import config, contents, sbom
from imagectl.platforms import Platform


@pytest.fixture(scope="module")
def carried(host) -> sbom.Bom:
    return sbom.parse(host.file(sbom.EMBEDDED_PATH).content_string)


@pytest.fixture(scope="module")
def listed(host) -> dict:
    return json.loads(host.file(contents.EMBEDDED_PATH).content_string)


def by_type(bom: sbom.Bom, purl_type: str) -> dict:
    return {c.name: c for c in bom.components if c.purl and c.purl.type == purl_type}


def test_the_sbom_names_the_image_it_describes(carried: sbom.Bom, image_name: str) -> None:
    assert carried.metadata.component is not None
    assert carried.metadata.component.name == image_name


def test_every_package_the_image_holds_is_in_its_sbom_at_its_version(
    carried: sbom.Bom, listed: dict, platform: Platform
) -> None:
    python, debian = by_type(carried, "pypi"), by_type(carried, "deb")
    assert {name: c.version for name, c in python.items()} == listed["python_packages"]
    assert {name: c.version for name, c in debian.items()} == listed["debian_packages"]
    bash = debian["bash"].purl
    assert (bash.namespace, bash.version) == ("debian", listed["debian_packages"]["bash"])
    # the image's own architecture: an arm64 image's Debian packages are arm64 ones
    assert bash.qualifiers == {"arch": platform.architecture, "distro": "debian-13"}


def test_python_packages_carry_the_hashes_of_their_lock(
    carried: sbom.Bom, graph: config.ImageGraph, image_name: str
) -> None:
    locks = [spec.lock_file.read_text() for spec in graph.lineage(image_name) if spec.lock_file]
    locked = sbom.lock_hashes(locks)
    python = by_type(carried, "pypi")
    unhashed = sorted(set(python) - set(locked))
    assert unhashed == ["analysis-utils"], "only the bundled library is built, not locked"
    for name in set(python) - {"analysis-utils"}:
        assert {h.content for h in python[name].hashes} == set(locked[name]), name


def test_licences_are_given_where_packages_state_them(carried: sbom.Bom, listed: dict) -> None:
    python, debian = by_type(carried, "pypi"), by_type(carried, "deb")
    assert "BSD-3-Clause" in str(list(python["pandas"].licenses)[0])
    assert any("GPL-3+" in str(licence) for licence in debian["bash"].licenses)
    stated = listed["licenses"]["python"]  # what the packages' own metadata says
    assert {name for name, c in python.items() if c.licenses} == set(stated)
    assert len(stated) >= 0.95 * len(python), sorted(set(python) - set(stated))


def test_the_listing_made_at_build_is_what_the_running_image_lists(host, listed: dict) -> None:
    # for another platform the cpu build lists the image from its files on the build host
    # (image-contents --root); the image's own python3 and dpkg must say the same
    assert json.loads(host.check_output("image-contents")) == listed
