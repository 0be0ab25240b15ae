"""An image's SBOM: CycloneDX JSON made with cyclonedx-python-lib from the image's contents
(every Debian and Python package, its purl, version and licence) and its locks (the hashes).

It runs in two places, so it needs only the standard library and cyclonedx-python-lib, and no
other module of the tool: inside the image build (`python sbom.py`, this one file, run by the
throwaway uv stage's Python) to write the SBOM the image carries, and in the tool, which names
the pushed image by digest as the SBOM's subject and validates what it reads back."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from cyclonedx.contrib.license.factories import LicenseFactory
from cyclonedx.model import HashAlgorithm, HashType, Property
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.license import DisjunctiveLicense
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.schema import SchemaVersion
from packageurl import PackageURL

SCHEMA = SchemaVersion.V1_6
MEDIA_TYPE = "application/vnd.cyclonedx+json"
# Where the images carry it, beside contents.json (docker/*.Dockerfile write it there).
EMBEDDED_PATH = "/usr/share/analysis-template/sbom.cdx.json"
IMAGE_ID_PROPERTY = "analysis-template:image-id"


class InvalidSbom(ValueError):
    """A document that is not a valid CycloneDX SBOM of the schema version we write."""


_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==")
_HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")


def lock_hashes(locks: Iterable[str]) -> dict[str, list[str]]:
    """{distribution: [sha256 hex, ...]} from hash-locked files (`name==version` lines, each
    followed by its `--hash=` lines)."""
    hashes: dict[str, list[str]] = {}
    for text in locks:
        name = None
        for line in text.splitlines():
            if pin := _PIN.match(line):
                name = re.sub(r"[-_.]+", "-", pin[1]).lower()
                hashes.setdefault(name, [])
            for found in _HASH.findall(line):
                if name and found not in hashes[name]:
                    hashes[name].append(found)
    return hashes


def make(contents: dict, hashes: dict[str, list[str]], subject: Component) -> Bom:
    """The BOM of an image whose `contents` (imagectl.contents' listing) is given."""
    os_info = contents.get("os") or {}
    distro = (
        f"{os_info.get('id', 'debian')}-{os_info['version_id']}"
        if "version_id" in os_info
        else None
    )
    architectures = contents.get("debian_architectures") or {}
    licences = contents.get("licenses") or {}
    factory = LicenseFactory()
    components = []
    for name, version in contents["debian_packages"].items():
        qualifiers = {"arch": architectures.get(name), "distro": distro}
        components.append(
            Component(
                type=ComponentType.OPERATING_SYSTEM
                if name == "base-files"
                else ComponentType.LIBRARY,
                name=name,
                version=version,
                bom_ref=f"deb:{name}",
                purl=PackageURL(
                    "deb", "debian", name, version, {k: v for k, v in qualifiers.items() if v}
                ),
                licenses=[
                    DisjunctiveLicense(name=n) for n in licences.get("debian", {}).get(name, [])
                ],
            )
        )
    for name, version in contents["python_packages"].items():
        licence = licences.get("python", {}).get(name)
        components.append(
            Component(
                name=name,
                version=version,
                bom_ref=f"pypi:{name}",
                purl=PackageURL("pypi", None, name, version),
                hashes=[
                    HashType(alg=HashAlgorithm.SHA_256, content=h) for h in hashes.get(name, [])
                ],
                licenses=[factory.make_from_string(licence)] if licence else [],
            )
        )
    bom = Bom(
        components=components,
        metadata=BomMetaData(component=subject, timestamp=_timestamp()),
    )
    bom.register_dependency(subject, components)  # the image holds every package
    bom.serial_number = uuid.uuid5(uuid.NAMESPACE_URL, _fingerprint(bom))
    return bom


def image_component(
    name: str,
    version: str | None = None,
    repository: str | None = None,
    digest: str | None = None,
    image_id: str | None = None,
) -> Component:
    """The SBOM's subject: the image, by registry digest where it has one (pkg:oci purl)."""
    purl = None
    if digest:
        qualifiers = {"repository_url": repository} if repository else {}
        purl = PackageURL("oci", None, name, digest, qualifiers)
    return Component(
        type=ComponentType.CONTAINER,
        name=name,
        version=version,
        bom_ref=f"image:{digest or name}",
        purl=purl,
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=digest.removeprefix("sha256:"))]
        if digest
        else [],
        properties=[Property(name=IMAGE_ID_PROPERTY, value=image_id)] if image_id else [],
    )


def with_subject(text: str, subject: Component) -> str:
    """The SBOM `text` with `subject` as the image it describes (and a serial of its own)."""
    bom = parse(text)
    bom.metadata.component = subject
    bom.dependencies.clear()
    bom.register_dependency(subject, bom.components)
    bom.serial_number = uuid.uuid5(uuid.NAMESPACE_URL, _fingerprint(bom))
    return render(bom)


def render(bom: Bom) -> str:
    return JsonV1Dot6(bom).output_as_string(indent=1) + "\n"


def validate(text: str) -> None:
    """Raise InvalidSbom unless `text` is CycloneDX JSON valid against the 1.6 schema."""
    # here, not at the top: jsonschema's import takes about a second, which every imagectl
    # command would pay otherwise
    from cyclonedx.validation.json import JsonStrictValidator

    try:
        error = JsonStrictValidator(SCHEMA).validate_str(text)
    except ValueError as exc:  # not JSON at all
        raise InvalidSbom(f"not JSON: {exc}") from None
    if error is not None:
        raise InvalidSbom(str(error)[:500])


def parse(text: str) -> Bom:
    validate(text)
    return Bom.from_json(json.loads(text))  # type: ignore[attr-defined]


def _timestamp() -> datetime:
    """SOURCE_DATE_EPOCH when the build sets it, else now."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    return datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC)


def _fingerprint(bom: Bom) -> str:
    subject = bom.metadata.component
    names = [str(c.purl) for c in bom.components]
    return json.dumps([str(subject.purl or subject.name) if subject else None, names])


def main(argv: list[str] | None = None) -> None:
    """Inside a build: print the SBOM of this image from its contents and its locks."""
    parser = argparse.ArgumentParser(prog="sbom.py", description=main.__doc__)
    parser.add_argument("--name", required=True, help="the image's name (its title label)")
    parser.add_argument("contents", type=Path, help="the contents.json that image-contents wrote")
    parser.add_argument("locks", type=Path, nargs="+", help="the hash-locked requirements")
    args = parser.parse_args(argv)
    contents = json.loads(args.contents.read_text())
    hashes = lock_hashes(path.read_text() for path in args.locks)
    sys.stdout.write(render(make(contents, hashes, image_component(args.name))))


if __name__ == "__main__":
    main()
