"""Files attached to a pushed image in its registry (its SBOM, the record of its test pass): an
OCI artifact whose subject is the image's manifest, tagged `sha256-<hex>.<kind>` after that
digest, the scheme that tools read from registries without the OCI 1.1 referrers API (such as
Debian's docker-registry 2.8). Like the version it describes, an attachment never changes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from imagectl.registry import OCI_MANIFEST, Manifest, Reference, RegistryClient

_EMPTY_CONFIG = b"{}"
_EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"


@dataclass(frozen=True)
class Kind:
    """One kind of attachment: its tag suffix, media type and file name."""

    suffix: str  # "sbom": the tag sha256-<hex>.sbom
    media_type: str
    title: str  # the file name tools give the attached file
    what: str  # what it is, in messages: "SBOM"


def tag(kind: Kind, image_digest: str) -> str:
    return image_digest.replace(":", "-") + "." + kind.suffix


def attach(
    registry: RegistryClient,
    ref: Reference,
    image: Manifest,
    kind: Kind,
    data: bytes,
    echo: Callable[[str], None],
) -> str:
    """Attach `data` to the manifest `image` of `ref`'s repository; the artifact's digest. One
    that is there already is kept."""
    name = tag(kind, image.digest)
    existing = registry.manifest(ref.repository, name)
    if existing is not None:
        echo(f"its {kind.what} is already attached as :{name}")
        return existing.digest
    body = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": kind.media_type,
        "config": {
            "mediaType": _EMPTY_MEDIA_TYPE,
            "digest": registry.put_blob(ref.repository, _EMPTY_CONFIG),
            "size": len(_EMPTY_CONFIG),
        },
        "layers": [
            {
                "mediaType": kind.media_type,
                "digest": registry.put_blob(ref.repository, data),
                "size": len(data),
                "annotations": {"org.opencontainers.image.title": kind.title},
            }
        ],
        "subject": {"mediaType": image.media_type, "digest": image.digest, "size": len(image.raw)},
    }
    raw = json.dumps(body, separators=(",", ":")).encode()
    artifact = Manifest(raw, OCI_MANIFEST, "sha256:" + hashlib.sha256(raw).hexdigest())
    registry.put_manifest(ref.repository, name, artifact)
    echo(f"attached its {kind.what} as {ref.host}/{ref.repository}:{name}")
    return artifact.digest


class Untrusted(Exception):
    """The tag is there, but what it holds is no attachment of that kind to that image."""


def fetch(registry: RegistryClient, repository: str, image: Manifest, kind: Kind) -> bytes | None:
    """The file of kind `kind` attached to the manifest `image`; None when none is attached.
    Raises Untrusted for a tag that holds anything else than an artifact of that kind whose
    subject is that very manifest, with one file matching its digest."""
    name = tag(kind, image.digest)
    attached = registry.manifest(repository, name)
    if attached is None:
        return None
    body = attached.body
    layers = body.get("layers") or []
    if (
        body.get("artifactType") != kind.media_type
        or (body.get("subject") or {}).get("digest") != image.digest
        or len(layers) != 1
        or layers[0].get("mediaType") != kind.media_type
    ):
        raise Untrusted(f":{name} is not a {kind.what} attached to {image.digest}")
    data = registry.blob(repository, layers[0]["digest"])
    if data is None:
        raise Untrusted(f"the file of :{name} is missing from the registry")
    return data
