"""Versions in a registry: push a SHA tag once (never to another image) with its SBOM attached,
pull one back, and promote `latest` to a pushed, tested SHA by copying its manifest (no layers
move)."""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import docker.errors

from imagectl import passes, sbom
from imagectl.contents import human_size
from imagectl.errors import RegistryError
from imagectl.registry import OCI_MANIFEST, Credentials, Manifest, Reference, RegistryClient
from imagectl.tags import LATEST

Echo = Callable[[str], None]
PROGRESS_EVERY_S = 2.0


def stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def push(
    docker_client: docker.DockerClient,
    registry: RegistryClient,
    ref: Reference,
    credentials: Credentials | None,
    echo: Echo = stderr,
) -> str:
    """Push the local image `ref` (a SHA tag) unless the registry has that tag already;
    return the registry's manifest digest. A tag that names another image is refused."""
    try:
        image = docker_client.images.get(str(ref))
    except docker.errors.ImageNotFound:
        raise RegistryError(
            f"{ref} is not a local image", "build it first: `imagectl build NAME`"
        ) from None
    existing = registry.manifest(ref.repository, ref.reference)
    if existing is not None:
        if existing.config_digest == image.id:
            echo(f"{ref} is already in the registry as this image ({existing.digest}): no push")
            return existing.digest
        raise RegistryError(
            f"refusing to push {ref}: the registry holds another image under that SHA tag "
            f"(image {_short(existing.config_digest)}, local {_short(image.id)}), and a SHA "
            "tag never moves; the registry is unchanged",
            "the local build differs from the pushed one (uncommitted changes, another base "
            "image, or a rebuild without the build cache): pull the pushed version "
            "(`imagectl pull NAME --sha SHA`), or commit your change and push the new commit",
        )
    echo(f"pushing {ref} ({human_size(image.attrs.get('Size'))} uncompressed)")
    events = docker_client.api.push(
        f"{ref.host}/{ref.repository}",
        tag=ref.tag,
        stream=True,
        decode=True,
        auth_config=credentials.auth_config() if credentials else None,
    )
    _follow(events, registry, f"pushing {ref}", echo)
    pushed = registry.manifest(ref.repository, ref.reference)
    if pushed is None or pushed.config_digest != image.id:
        raise RegistryError(
            f"after the push, the registry's {ref} is not the local image",
            "someone pushed the same tag at the same time; compare with `imagectl diff`",
        )
    echo(f"pushed {ref}\n  digest {pushed.digest}")
    return pushed.digest


def promote(
    registry: RegistryClient, root: Path, name: str, ref: Reference, echo: Echo = stderr
) -> str:
    """Point `latest` at the pushed SHA tag `ref`, if that very image passed its tests here."""
    manifest = registry.manifest(ref.repository, ref.reference)
    if manifest is None:
        raise RegistryError(
            f"{ref} is not in the registry, so `latest` cannot point at it",
            f"push it first: `imagectl push {name} --sha {ref.tag}`",
        )
    image_id = manifest.config_digest or ""
    if passes.find(root, name, image_id) is None:
        raise RegistryError(
            f"refusing to promote {ref}: no passing test run is recorded for its image "
            f"{_short(image_id)} (looked for {passes.record_path(root, name, image_id)})",
            f"run its tests first (`make test IMAGE={name}` on that build); a pass is recorded "
            "only when all of the image's tests passed",
        )
    current = registry.manifest(ref.repository, LATEST)
    if current is not None and current.digest == manifest.digest:
        echo(f"latest already points at {ref} ({manifest.digest}): nothing to do")
        return manifest.digest
    registry.put_manifest(ref.repository, LATEST, manifest)
    moved = registry.manifest(ref.repository, LATEST)
    if moved is None or moved.digest != manifest.digest:
        raise RegistryError(f"the registry did not keep latest at {manifest.digest}", "retry")
    before = current.digest if current else "nothing"
    echo(f"latest: {before} -> {manifest.digest} ({ref.tag})")
    return manifest.digest


# An SBOM goes to the registry as an OCI artifact whose subject is the image's manifest, tagged
# `sha256-<hex>.sbom` after that digest, the scheme that tools read from registries without the
# OCI 1.1 referrers API (such as Debian's docker-registry 2.8).
_EMPTY_CONFIG = b"{}"
_EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"


def sbom_tag(image_digest: str) -> str:
    return image_digest.replace(":", "-") + ".sbom"


def attach_sbom(registry: RegistryClient, ref: Reference, text: str, echo: Echo = stderr) -> str:
    """Attach the SBOM `text` to the pushed version `ref`; the artifact's digest. Like the
    version, an attached SBOM never changes: one that is there already is kept."""
    image = registry.manifest(ref.repository, ref.reference)
    if image is None:
        raise RegistryError(f"{ref} is not in the registry", "push it first: `imagectl push NAME`")
    tag = sbom_tag(image.digest)
    existing = registry.manifest(ref.repository, tag)
    if existing is not None:
        echo(f"the SBOM of {ref} is already attached as :{tag}")
        return existing.digest
    data = text.encode()
    layer = {
        "mediaType": sbom.MEDIA_TYPE,
        "digest": registry.put_blob(ref.repository, data),
        "size": len(data),
        "annotations": {"org.opencontainers.image.title": "sbom.cdx.json"},
    }
    body = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": sbom.MEDIA_TYPE,
        "config": {
            "mediaType": _EMPTY_MEDIA_TYPE,
            "digest": registry.put_blob(ref.repository, _EMPTY_CONFIG),
            "size": len(_EMPTY_CONFIG),
        },
        "layers": [layer],
        "subject": {"mediaType": image.media_type, "digest": image.digest, "size": len(image.raw)},
    }
    raw = json.dumps(body, separators=(",", ":")).encode()
    artifact = Manifest(raw, OCI_MANIFEST, "sha256:" + hashlib.sha256(raw).hexdigest())
    registry.put_manifest(ref.repository, tag, artifact)
    echo(f"attached its SBOM as {ref.host}/{ref.repository}:{tag}")
    return artifact.digest


def fetch_sbom(registry: RegistryClient, ref: Reference) -> str:
    """The SBOM attached to version `ref`, checked: an artifact of that very image, its blob
    matching its digest, valid CycloneDX about that digest. Anything else is not trusted."""
    image = registry.manifest(ref.repository, ref.reference)
    if image is None:
        raise RegistryError(
            f"{ref} is not in the registry at {registry.base}",
            "check the SHA (versions are full commit SHAs)",
        )
    tag = sbom_tag(image.digest)
    attached = registry.manifest(ref.repository, tag)
    if attached is None:
        raise RegistryError(
            f"{ref} ({image.digest}) has no SBOM: the push of this version attached none "
            f"(no :{tag} in the registry; pushed by a plain `docker push`, or before SBOMs "
            "were attached)",
            "attach it from a machine that has the image: `imagectl push NAME --sha SHA` "
            "(the version itself is not pushed again)",
        )
    body = attached.body
    layers = body.get("layers") or []
    untrusted = (
        body.get("artifactType") != sbom.MEDIA_TYPE
        or (body.get("subject") or {}).get("digest") != image.digest
        or len(layers) != 1
        or layers[0].get("mediaType") != sbom.MEDIA_TYPE
    )
    if untrusted:
        raise RegistryError(
            f":{tag} in {ref.host}/{ref.repository} is not a CycloneDX SBOM of {image.digest}; "
            "it is not trusted",
            "delete that tag and attach the SBOM again with `imagectl push NAME --sha SHA`",
        )
    data = registry.blob(ref.repository, layers[0]["digest"])
    try:
        text = (data or b"").decode()
        described = sbom.parse(text).metadata.component
    except (UnicodeDecodeError, sbom.InvalidSbom) as exc:
        raise RegistryError(
            f"the SBOM attached to {ref} is malformed ({exc}); it is not trusted",
            "delete its tag and attach it again with `imagectl push NAME --sha SHA`",
        ) from None
    if described is None or described.purl is None or described.purl.version != image.digest:
        raise RegistryError(
            f"the SBOM attached to {ref} describes another image "
            f"({described.purl if described else 'none'}); it is not trusted",
            "delete its tag and attach it again with `imagectl push NAME --sha SHA`",
        )
    return text


def latest_revision(registry: RegistryClient, ref: Reference) -> str:
    """The commit SHA that `latest` of `ref`'s repository stands for (its revision label)."""
    image_config = registry.image_config(ref.repository, LATEST)
    labels = ((image_config or {}).get("config") or {}).get("Labels") or {}
    sha = labels.get("org.opencontainers.image.revision")
    if not sha:
        raise RegistryError(
            f"{ref.host}/{ref.repository} has no promoted `latest` to pin",
            "promote a tested version first (`make release`), or pin one with --sha",
        )
    return sha


def pull(
    docker_client: docker.DockerClient,
    registry: RegistryClient,
    ref: Reference,
    credentials: Credentials | None,
    echo: Echo = stderr,
) -> str:
    """Pull a tag or digest; return the image's repo digest (the registry's manifest digest)."""
    if registry.manifest(ref.repository, ref.reference) is None:
        raise RegistryError(
            f"{ref} is not in the registry at {registry.base}",
            "check the SHA (versions are full commit SHAs) or push it first: "
            "`imagectl push NAME --sha SHA`",
        )
    echo(f"pulling {ref}")
    events = docker_client.api.pull(
        f"{ref.host}/{ref.repository}",
        tag=ref.digest or ref.tag,
        stream=True,
        decode=True,
        auth_config=credentials.auth_config() if credentials else None,
    )
    _follow(events, registry, f"pulling {ref}", echo)
    image = docker_client.images.get(str(ref))
    prefix = f"{ref.host}/{ref.repository}@"
    digests = [d.removeprefix(prefix) for d in image.attrs.get("RepoDigests", [])]
    digest = ref.digest or next((d for d in digests if d.startswith("sha256:")), "")
    echo(f"pulled {ref}\n  image {image.id}\n  digest {digest}")
    return digest


def _follow(events: Iterator[dict], registry: RegistryClient, what: str, echo: Echo) -> None:
    """Show the engine's progress: each layer's steps, and the bytes moved every few seconds.
    A registry that stops answering ends the wait at once: the engine would retry for a
    minute before saying so."""
    progress: dict[str, tuple[int, int]] = {}
    shown: dict[str, str] = {}
    last_report = time.monotonic()
    try:
        for event in events:
            status, layer = event.get("status", ""), event.get("id", "")
            failed = "error" in event or status.startswith("Retrying in")
            if failed and not registry.ping():
                raise RegistryError(
                    f"{what} stopped: the registry at {registry.base} stopped answering; "
                    "no tag was written (a push writes its tag last)",
                    "start the registry again (`make registry` for the local one) and rerun "
                    "the command; layers that arrived are not sent again",
                )
            if "error" in event:
                raise RegistryError(
                    f"{what} failed: {event['error'].strip()}",
                    "fix the cause above and run the command again; no tag was moved",
                )
            detail = event.get("progressDetail") or {}
            if detail.get("total"):
                progress[layer] = (min(detail.get("current", 0), detail["total"]), detail["total"])
            if layer in progress and status in ("Pushed", "Download complete"):
                progress[layer] = (progress[layer][1], progress[layer][1])
            if layer and status in ("Preparing", "Waiting") or status.startswith("Retrying"):
                continue
            step = status.split(" ")[0] if status.startswith(("Pushing", "Downloading")) else status
            if layer and shown.get(layer) != step:
                shown[layer] = step
                echo(f"  {layer}: {step}")
            elif not layer and status:
                echo(f"  {status}")
            if progress and time.monotonic() - last_report > PROGRESS_EVERY_S:
                last_report = time.monotonic()
                done = sum(current for current, _ in progress.values())
                total = sum(total for _, total in progress.values())
                echo(f"  {human_size(done)} of {human_size(total)} of layers in flight")
    except docker.errors.APIError as exc:
        raise RegistryError(f"{what} failed: {exc.explanation or exc}", "retry") from None
    finally:
        close = getattr(events, "close", None)
        if close:
            close()  # drops the connection, so the engine gives up retrying


def _short(digest: str | None) -> str:
    return (digest or "none").removeprefix("sha256:")[:12]
