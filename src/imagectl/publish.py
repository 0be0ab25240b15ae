"""Versions in a registry: push a SHA tag once (never to another image) with its SBOM attached,
pull one back, and promote `latest` to a pushed, tested SHA by copying its manifest (no layers
move). An image built for several platforms is one index under the SHA tag, over each
platform's image pushed under `<sha>-<platform>`."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import docker
import docker.errors
import docker.models.images

from imagectl import attachments, passes, platforms, sbom
from imagectl.contents import human_size
from imagectl.errors import RegistryError
from imagectl.platforms import Platform
from imagectl.registry import (
    Credentials,
    Manifest,
    Reference,
    RegistryClient,
    manifest_list,
)
from imagectl.tags import LATEST

Echo = Callable[[str], None]
_SHA = re.compile(r"^[0-9a-f]{40}$")
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


def platform_ref(ref: Reference, platform: Platform) -> Reference:
    """One platform's image of the version `ref` (a SHA tag): `<sha>-linux-arm64`, the same
    name locally (where the build tagged it) and in the registry."""
    return replace(ref, tag=f"{ref.tag}-{platform.slug}", digest=None)


def push_platforms(
    docker_client: docker.DockerClient,
    registry: RegistryClient,
    name: str,
    ref: Reference,
    listed: list[Platform],
    credentials: Credentials | None,
    attach: Callable[[str, Reference], None] | None = None,
    wanted: list[Platform] | None = None,
    echo: Echo = stderr,
) -> str | None:
    """Push the version `ref` (a SHA tag) of an image built for the platforms `listed`: each
    platform's local `<sha>-<platform>` image under that same tag, then, last, one index over
    them under `<sha>`, so a push that fails never writes `<sha>`. `wanted` (default: all
    listed) are the platforms pushed from here; the index is written once every listed
    platform is in the registry (runners of each platform push theirs). `attach(local image,
    its registry reference by digest)` runs for each platform image (the SBOM). Returns the
    index's digest, None while platforms are missing. Nothing is pushed unless each wanted
    platform is built here for its architecture and no tag of the version holds another
    image. A version already in the registry is only checked against the platform images
    here (a test job that pulled one) and gets their SBOMs."""
    wanted = wanted or listed
    local = {p: _local_platform_image(docker_client, name, ref, p) for p in wanted}
    images = {p: found for p, found in local.items() if found is not None}
    existing = registry.manifest(ref.repository, ref.reference)
    missing = [p.name for p, found in local.items() if found is None]
    if missing and (existing is None or not images):
        raise RegistryError(
            f"refusing to push {ref}: {name} is not built here for {', '.join(missing)} (no "
            f"local {', '.join(str(platform_ref(ref, platforms.get(m))) for m in missing)}); "
            "the version is one index over all its platforms, so nothing was pushed",
            f"build them first: `imagectl build {name} --platform all` (or `make image "
            f"IMAGE={name} PLATFORMS={','.join(p.name for p in listed)}`), then push again",
        )
    if existing is not None:
        held = _check_existing_index(registry, ref, existing, images)
        echo(f"{ref} is already in the registry as this build ({existing.digest}): no push")
        if attach:
            for platform, (local_name, _) in images.items():
                attach(local_name, replace(ref, digest=held[platform.name]))
        return existing.digest
    for platform, (_, image) in images.items():  # refuse before anything moves
        pref = platform_ref(ref, platform)
        before = registry.manifest(ref.repository, pref.reference)
        if before is not None and before.config_digest != image.id:
            raise RegistryError(
                f"refusing to push {ref}: the registry holds another {platform.name} image "
                f"under {pref.tag} (image {_short(before.config_digest)}, local "
                f"{_short(image.id)}); a version's tags never move, and nothing was pushed",
                "the local build differs from the one pushed before (uncommitted changes, "
                "another base image, or a rebuild without the build cache): commit your change "
                "and push the new commit",
            )
    for platform, (local_name, _) in images.items():
        pref = platform_ref(ref, platform)
        digest = push(docker_client, registry, pref, credentials, echo)
        if attach:
            attach(local_name, replace(pref, digest=digest))
    return _write_index(registry, name, ref, listed, echo)


def _write_index(
    registry: RegistryClient, name: str, ref: Reference, listed: list[Platform], echo: Echo
) -> str | None:
    """Write `<sha>` as the index over the listed platforms' `<sha>-<platform>` images in the
    registry, each checked to be of its platform; None while one is missing."""
    children: list[tuple[Manifest, str]] = []
    absent = []
    for platform in listed:
        pref = platform_ref(ref, platform)
        manifest = registry.manifest(ref.repository, pref.reference)
        if manifest is None:
            absent.append(platform.name)
            continue
        config = registry.image_config(ref.repository, manifest.digest) or {}
        built_for = f"{config.get('os')}/{config.get('architecture')}"
        if built_for != platform.name:
            raise RegistryError(
                f"refusing to write {ref}: the registry's {pref.tag} is a {built_for} image, "
                f"not {platform.name}; {ref.tag} was not written",
                f"push {name}'s commit again from a correct build under a new commit",
            )
        children.append((manifest, platform.name))
    if absent:
        echo(
            f"{ref} is not written yet: the registry lacks its {', '.join(absent)} image; the "
            "index over all platforms is written by the push that completes them "
            f"(`imagectl push {name} --platform PLATFORM` where each is built)"
        )
        return None
    index = manifest_list(children)
    if registry.manifest(ref.repository, ref.reference) is not None:
        raise RegistryError(
            f"{ref} appeared in the registry while its platforms were pushed; it was left as it is",
            "someone pushed the same version at the same time: check it with `imagectl pull`",
        )
    registry.put_manifest(ref.repository, ref.reference, index)
    written = registry.manifest(ref.repository, ref.reference)
    if written is None or written.digest != index.digest:
        raise RegistryError(f"the registry did not keep {ref} as {index.digest}", "retry")
    platforms_text = ", ".join(platform for _, platform in children)
    echo(f"pushed {ref}: an index over {platforms_text}\n  digest {index.digest}")
    return index.digest


def _local_platform_image(
    docker_client: docker.DockerClient, name: str, ref: Reference, platform: Platform
) -> tuple[str, docker.models.images.Image] | None:
    """(local name, image) of one platform's image of the version: `<sha>-<platform>`,
    checked to be built for that platform; for the host's platform also `<sha>` (what a pull
    of the version gives here) when that is the host's."""
    tagged = str(platform_ref(ref, platform))
    image = _image_or_none(docker_client, tagged)
    if image is not None:
        built_for = _platform_of(image)
        if built_for != platform.name:
            raise RegistryError(
                f"refusing to push {ref}: the local {tagged} is a {built_for} image, not "
                f"{platform.name}; nothing was pushed",
                f"rebuild it with `imagectl build {name} --platform {platform.name}`",
            )
        return tagged, image
    if platform == platforms.native():
        image = _image_or_none(docker_client, str(ref))
        if image is not None and _platform_of(image) == platform.name:
            return str(ref), image
    return None


def _image_or_none(
    docker_client: docker.DockerClient, name: str
) -> docker.models.images.Image | None:
    try:
        return docker_client.images.get(name)
    except docker.errors.ImageNotFound:
        return None


def _platform_of(image: docker.models.images.Image) -> str:
    return f"{image.attrs.get('Os')}/{image.attrs.get('Architecture')}"


def _check_existing_index(
    registry: RegistryClient,
    ref: Reference,
    existing: Manifest,
    images: dict[Platform, tuple[str, docker.models.images.Image]],
) -> dict[str, str]:
    """Refuse unless `existing`, under the SHA tag, is an index whose images of the platforms
    here are these (all of them when all are here); platform -> its manifest's digest."""
    local = {p.name: image.id for p, (_, image) in images.items()}
    held: dict[str, str | None] = {}
    digests: dict[str, str] = {}
    if existing.is_index:
        for child in existing.children:
            found = registry.manifest(ref.repository, child.digest)
            held[child.platform] = found.config_digest if found else None
            digests[child.platform] = child.digest
    differing = sorted(p for p in local if held.get(p) != local[p])
    if existing.is_index and not differing:
        return digests
    if not existing.is_index:
        what = f"a single-platform image ({_short(existing.config_digest)})"
    else:
        what = "an index whose " + ", ".join(
            f"{p} is image {_short(held.get(p))} (local {_short(local[p])})" for p in differing
        )
    raise RegistryError(
        f"refusing to push {ref}: the registry holds {what} under that SHA tag, and a SHA tag "
        "never moves; the registry is unchanged",
        "the local build differs from the pushed one (uncommitted changes, another base "
        "image, or a rebuild without the build cache): pull the pushed version "
        "(`imagectl pull NAME --sha SHA --platform P`), or commit your change and push the "
        "new commit",
    )


def images_of(registry: RegistryClient, ref: Reference, index: Manifest) -> dict[str, str]:
    """platform -> image ID (config digest) of each image of the index `index` of `ref`."""
    found = {}
    for child in index.children:
        image = registry.manifest(ref.repository, child.digest)
        found[child.platform] = (image.config_digest if image else None) or ""
    return found


def promote(
    registry: RegistryClient, root: Path, name: str, ref: Reference, echo: Echo = stderr
) -> str:
    """Point `latest` at the pushed SHA tag `ref`, if that very image passed its tests here;
    for an index, each platform's image."""
    manifest = registry.manifest(ref.repository, ref.reference)
    if manifest is None:
        raise RegistryError(
            f"{ref} is not in the registry, so `latest` cannot point at it",
            f"push it first: `imagectl push {name} --sha {ref.tag}`",
        )
    if manifest.is_index:
        tested = images_of(registry, ref, manifest)
        untested = {p: i for p, i in tested.items() if passes.find(root, name, i) is None}
        if untested:
            raise RegistryError(
                f"refusing to promote {ref}: no passing test run is recorded for its "
                + ", ".join(f"{p} image {_short(i)}" for p, i in untested.items())
                + f" (looked in {passes.record_path(root, name, 'x').parent})",
                f"run the tests of each platform's image first (`make test IMAGE={name}` "
                "for each platform built); a pass is recorded only when all of the image's "
                "tests passed",
            )
    else:
        image_id = manifest.config_digest or ""
        if passes.find(root, name, image_id) is None:
            raise RegistryError(
                f"refusing to promote {ref}: no passing test run is recorded for its image "
                f"{_short(image_id)} (looked for {passes.record_path(root, name, image_id)})",
                f"run its tests first (`make test IMAGE={name}` on that build); a pass is "
                "recorded only when all of the image's tests passed",
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


# An image's SBOM goes to the registry beside it, tagged `sha256-<hex>.sbom` (attachments.py).
SBOM = attachments.Kind("sbom", sbom.MEDIA_TYPE, "sbom.cdx.json", "SBOM")


def sbom_tag(image_digest: str) -> str:
    return attachments.tag(SBOM, image_digest)


def attach_sbom(registry: RegistryClient, ref: Reference, text: str, echo: Echo = stderr) -> str:
    """Attach the SBOM `text` to the pushed version `ref`; the artifact's digest. Like the
    version, an attached SBOM never changes: one that is there already is kept."""
    image = registry.manifest(ref.repository, ref.reference)
    if image is None:
        raise RegistryError(f"{ref} is not in the registry", "push it first: `imagectl push NAME`")
    return attachments.attach(registry, ref, image, SBOM, text.encode(), echo)


def fetch_sbom(registry: RegistryClient, ref: Reference, platform: str | None = None) -> str:
    """The SBOM attached to version `ref` (for an index: to its `platform` image, default the
    host's), checked: an artifact of that very image, its blob matching its digest, valid
    CycloneDX about that digest. Anything else is not trusted."""
    image = registry.platform_manifest(ref.repository, ref.reference, platform)
    if image is None:
        raise RegistryError(
            f"{ref} is not in the registry at {registry.base}",
            "check the SHA (versions are full commit SHAs)",
        )
    tag = sbom_tag(image.digest)
    try:
        data = attachments.fetch(registry, ref.repository, image, SBOM)
    except attachments.Untrusted as exc:
        raise RegistryError(
            f"{exc} in {ref.host}/{ref.repository}; it is not trusted",
            "delete that tag and attach the SBOM again with `imagectl push NAME --sha SHA`",
        ) from None
    if data is None:
        raise RegistryError(
            f"{ref} ({image.digest}) has no SBOM: the push of this version attached none "
            f"(no :{tag} in the registry; pushed by a plain `docker push`, or before SBOMs "
            "were attached)",
            "attach it from a machine that has the image: `imagectl push NAME --sha SHA` "
            "(the version itself is not pushed again)",
        )
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


@dataclass(frozen=True)
class Pulled:
    """What a pull fetched: the version's manifest digest (an index's, for several
    platforms), and the one platform image the engine now has."""

    digest: str
    image_id: str
    local: str  # the local name of the pulled image
    platform: str | None = None  # for an index: the platform pulled
    platform_digest: str | None = None  # for an index: that platform's manifest digest


def pull(
    docker_client: docker.DockerClient,
    registry: RegistryClient,
    ref: Reference,
    credentials: Credentials | None,
    platform: Platform | None = None,
    echo: Echo = stderr,
) -> Pulled:
    """Pull a tag or digest for `platform` (default: the host's). Of an index, the host's
    platform is pulled under the name asked for, as `docker pull` does; another platform
    under `<sha>-<platform>` (the build's tag for it), since the engine keeps one platform
    per tag and `<sha>` stays the one that runs here."""
    manifest = registry.manifest(ref.repository, ref.reference)
    if manifest is None:
        raise RegistryError(
            f"{ref} is not in the registry at {registry.base}",
            "check the SHA (versions are full commit SHAs) or push it first: "
            "`imagectl push NAME --sha SHA`",
        )
    auth = credentials.auth_config() if credentials else None
    repo = f"{ref.host}/{ref.repository}"
    if not manifest.is_index:
        echo(f"pulling {ref}")
        events = docker_client.api.pull(
            repo, tag=ref.digest or ref.tag, stream=True, decode=True, auth_config=auth
        )
        _follow(events, registry, f"pulling {ref}", echo)
        image = docker_client.images.get(str(ref))
        _tag_platform(image, ref)
        prefix = f"{repo}@"
        digests = [d.removeprefix(prefix) for d in image.attrs.get("RepoDigests", [])]
        digest = ref.digest or next((d for d in digests if d.startswith("sha256:")), "")
        echo(f"pulled {ref}\n  image {image.id}\n  digest {digest}")
        return Pulled(digest, image.id, str(ref))
    wanted = platform or platforms.native()
    child = manifest.child(wanted.name)
    if child is None:
        raise RegistryError(
            f"{ref} has no {wanted.name} image: its index has {', '.join(manifest.platforms)}",
            "pull one of those with --platform",
        )
    native = wanted == platforms.native()
    # The host's platform comes through the index itself, as `docker pull` gets it; another
    # one by its own manifest's digest, which names that platform's image alone.
    source = ref.digest or ref.tag if native else child.digest
    echo(f"pulling {ref} for {wanted.name}")
    events = docker_client.api.pull(
        repo,
        tag=source,
        stream=True,
        decode=True,
        auth_config=auth,
        platform=wanted.name if native else None,
    )
    _follow(events, registry, f"pulling {ref} for {wanted.name}", echo)
    local = str(ref) if native else f"{repo}@{child.digest}"
    image = docker_client.images.get(local)
    got = f"{image.attrs.get('Os')}/{image.attrs.get('Architecture')}"
    if got != wanted.name:
        raise RegistryError(
            f"the index of {ref} names a {got} image as its {wanted.name} one",
            "the version was pushed wrongly: push it again from a correct build under a new commit",
        )
    tagged = _tag_platform(image, ref)
    if not native and tagged:
        local = tagged
    echo(
        f"pulled {ref} for {wanted.name} as {local}\n  image {image.id}\n"
        f"  digest {manifest.digest} (the index)\n  {wanted.name} digest {child.digest}"
    )
    return Pulled(manifest.digest, image.id, local, wanted.name, child.digest)


def _tag_platform(image: docker.models.images.Image, ref: Reference) -> str | None:
    """Tag a pulled image of the SHA version `ref` as the build tags it, `<sha>-<platform>`,
    which the image tests and `contents --platform` look for; the tag, or None for a pull by
    digest or of another tag than a SHA's."""
    if not ref.tag or ref.digest or not _SHA.match(ref.tag):
        return None
    platform = _platform_of(image)
    if platform not in platforms.KNOWN:
        return None
    tag = f"{ref.tag}-{platforms.get(platform).slug}"
    image.tag(f"{ref.host}/{ref.repository}", tag)
    return f"{ref.host}/{ref.repository}:{tag}"


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
