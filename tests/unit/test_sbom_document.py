"""The SBOM maker: CycloneDX 1.6 JSON that validates against the schema, with purls, versions,
the lock's hashes and licences; the image as subject by digest; malformed ones refused."""

from __future__ import annotations

import json

import pytest
from contents_fixtures import BASE, listing

from imagectl import sbom

A, B, C = "a" * 64, "b" * 64, "c" * 64
LOCK = f"""\
numpy==2.3.0 \\
    --hash=sha256:{A} \\
    --hash=sha256:{B}
    # via -r cpu.in
tqdm==4.67.1 \\
    --hash=sha256:{C}
    # via -r cpu.in
"""
DIGEST = "sha256:" + "d" * 64


@pytest.fixture
def contents() -> dict:
    return listing(
        "r/cpu:a",
        BASE,
        os={"id": "debian", "version_id": "13", "version_codename": "trixie"},
        debian_architectures={"bash": "amd64", "mecab": "amd64"},
        licenses={"python": {"numpy": "BSD-3-Clause", "tqdm": "MPL-2.0 AND MIT"},
                  "debian": {"bash": ["GPL-3+", "GFDL-NIV-1.3"]}},
    )  # fmt: skip


@pytest.fixture
def text(contents: dict) -> str:
    return sbom.render(sbom.make(contents, sbom.lock_hashes([LOCK]), sbom.image_component("cpu")))


def components(text: str) -> dict[str, dict]:
    return {c["purl"].split("@")[0]: c for c in json.loads(text)["components"]}


def test_the_sbom_is_valid_cyclonedx_1_6(text: str) -> None:
    sbom.validate(text)
    assert json.loads(text)["specVersion"] == "1.6"


def test_every_package_has_its_purl_and_version(text: str, contents: dict) -> None:
    found = components(text)
    assert found["pkg:pypi/numpy"]["version"] == "2.3.0"
    assert found["pkg:deb/debian/bash"]["purl"] == (
        "pkg:deb/debian/bash@5.2.37-2?arch=amd64&distro=debian-13"
    )
    assert len(found) == len(contents["python_packages"]) + len(contents["debian_packages"])


def test_python_packages_carry_their_lock_hashes_and_licences(text: str) -> None:
    numpy = components(text)["pkg:pypi/numpy"]
    assert [h["content"] for h in numpy["hashes"]] == [A, B]
    assert numpy["licenses"] == [{"license": {"id": "BSD-3-Clause"}}]
    assert components(text)["pkg:pypi/tqdm"]["licenses"] == [{"expression": "MPL-2.0 AND MIT"}]
    assert "hashes" not in components(text)["pkg:pypi/pandas"]  # not in this lock


def test_debian_licences_are_the_names_its_copyright_file_gives(text: str) -> None:
    names = [
        entry["license"]["name"] for entry in components(text)["pkg:deb/debian/bash"]["licenses"]
    ]
    assert sorted(names) == ["GFDL-NIV-1.3", "GPL-3+"]


def test_the_pushed_image_becomes_the_subject_by_digest(text: str) -> None:
    subject = sbom.image_component(
        "cpu", "a" * 40, "reg.example/g/cpu", DIGEST, "sha256:" + "e" * 64
    )
    pushed = sbom.with_subject(text, subject)
    sbom.validate(pushed)
    described = json.loads(pushed)["metadata"]["component"]
    assert described["type"] == "container" and described["version"] == "a" * 40
    assert described["purl"].startswith("pkg:oci/cpu@sha256")
    assert "repository_url=reg.example/g/cpu" in described["purl"]
    assert components(pushed) == components(text)
    assert json.loads(pushed)["serialNumber"] != json.loads(text)["serialNumber"]


@pytest.mark.parametrize(
    "bad",
    [
        "{not json",
        "{}",
        json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": "x"}),
    ],
    ids=["not-json", "empty", "wrong-type"],
)
def test_a_malformed_sbom_is_refused(bad: str) -> None:
    with pytest.raises(sbom.InvalidSbom):
        sbom.validate(bad)
