"""Diffs of two versions: the packages added, removed and changed, the label changes, and the
bytes that a machine holding the old version pulls to get the new one."""

from __future__ import annotations

from pathlib import Path

import docker

from imagectl import contents, platforms, publish
from imagectl.contents import PACKAGE_KINDS, human_size
from imagectl.engine import has_image
from imagectl.errors import RegistryError
from imagectl.registry import Manifest, Reference, RegistryClient, parse_reference
from imagectl.registry_server import Registries


def compare(
    docker_client: docker.DockerClient,
    refs: tuple[str, str],
    script: Path,
    registries: Registries,
    listed: tuple[tuple[str, ...], tuple[str, ...]] = ((), ()),
    echo: publish.Echo = publish.stderr,
) -> dict:
    """The diff of two versions. One that is not local is pulled first (the tool's own
    registry is started only for that); compressed pull sizes come from the registry when
    both versions there are the local images. Versions of several platforms (an index in the
    registry, or local `<sha>-<platform>` builds of the platforms images.yml `listed`) are
    compared platform by platform."""
    sides = [
        _Side.find(docker_client, text, registries, names)
        for text, names in zip(refs, listed, strict=True)
    ]
    if all(len(side.platforms) <= 1 for side in sides):
        return _compare_one(docker_client, sides, None, script, registries, echo)
    old_platforms, new_platforms = (side.platforms or [platforms.native().name] for side in sides)
    both = [p for p in platforms.KNOWN if p in old_platforms and p in new_platforms]
    return {
        "from": refs[0],
        "to": refs[1],
        "platforms": {
            p: _compare_one(docker_client, sides, p, script, registries, echo) for p in both
        },
        "only_in": {
            "from": [p for p in old_platforms if p not in new_platforms],
            "to": [p for p in new_platforms if p not in old_platforms],
        },
    }


class _Side:
    """One version of a diff: how it is named, its registry (if one answers) and the
    manifest there, and the platforms it has (empty: one image, as before platforms)."""

    def __init__(
        self,
        text: str,
        ref: Reference | None,
        client: RegistryClient | None,
        in_registry: Manifest | None,
        platforms: list[str],
    ) -> None:
        self.text, self.ref, self.client = text, ref, client
        self.in_registry, self.platforms = in_registry, platforms

    @classmethod
    def find(
        cls,
        docker_client: docker.DockerClient,
        text: str,
        registries: Registries,
        listed: tuple[str, ...],
    ) -> _Side:
        ref = _parse_or_none(text)
        client = None
        if ref is not None:
            client = registries.reachable(ref.host, start=not has_image(docker_client, text))
        in_registry = client.manifest(ref.repository, ref.reference) if ref and client else None
        if in_registry is not None and in_registry.is_index:
            found = in_registry.platforms
        elif len(listed) > 1 and ref is not None and ref.tag:
            found = [
                p for p in listed if has_image(docker_client, _local_name(text, platforms.get(p)))
            ]
        else:
            found = []
        if in_registry is None and not has_image(docker_client, text) and not found:
            raise RegistryError(
                f"{text} is neither a local image nor in a registry that answers",
                "build or pull it first, or start its registry",
            )
        return cls(text, ref, client, in_registry, found)

    def local(
        self,
        docker_client: docker.DockerClient,
        platform: str | None,
        registries: Registries,
        echo: publish.Echo,
    ) -> str:
        """The local image of this version for `platform` (None: the version as named),
        pulled first when it is not here."""
        chosen = platforms.get(platform) if platform else None
        name = self.text if chosen is None else _local_name(self.text, chosen)
        if has_image(docker_client, name):
            return name
        if self.ref is None or self.client is None or self.in_registry is None:
            raise RegistryError(
                f"{name} is neither a local image nor in a registry that answers",
                "build or pull it first, or start its registry",
            )
        pulled = publish.pull(
            docker_client, self.client, self.ref, registries.credentials, chosen, echo
        )
        return pulled.local

    def registry_layers(self, platform: str | None, image_id: str) -> list[tuple[str, int]] | None:
        """The compressed layers of `platform`'s image in the registry, when it is `image_id`."""
        if self.in_registry is None or self.ref is None or self.client is None:
            return None
        manifest = self.in_registry
        if manifest.is_index:
            manifest = self.client.platform_manifest(
                self.ref.repository, self.ref.reference, platform
            )
        return manifest.layers if manifest and manifest.config_digest == image_id else None


def _local_name(text: str, platform: platforms.Platform) -> str:
    """Where a platform's image of a version is here: the host's under the version's own
    name, another under `<sha>-<platform>` (a digest has no such name)."""
    if platform == platforms.native() or "@" in text:
        return text
    return f"{text}-{platform.slug}"


def _compare_one(
    docker_client: docker.DockerClient,
    sides: list[_Side],
    platform: str | None,
    script: Path,
    registries: Registries,
    echo: publish.Echo,
) -> dict:
    listed = []
    layers = []
    for side in sides:
        local = side.local(docker_client, platform, registries, echo)
        listed.append(contents.collect(docker_client, local, script))
        layers.append(side.registry_layers(platform, listed[-1]["id"]))
    old, new = layers
    return contents_diff(
        listed[0], listed[1], old if old and new else None, new if old and new else None
    )


def _parse_or_none(text: str) -> Reference | None:
    try:
        return parse_reference(text)
    except RegistryError:  # a local-only name such as local/debian-minbase:trixie
        return None


def _compare(old: dict[str, str], new: dict[str, str]) -> dict[str, dict]:
    both = sorted(old.keys() & new.keys())
    return {
        "added": {k: new[k] for k in sorted(new.keys() - old.keys())},
        "removed": {k: old[k] for k in sorted(old.keys() - new.keys())},
        "changed": {k: [old[k], new[k]] for k in both if old[k] != new[k]},
    }


def contents_diff(
    old: dict,
    new: dict,
    old_registry_layers: list[tuple[str, int]] | None = None,
    new_registry_layers: list[tuple[str, int]] | None = None,
) -> dict:
    """What changes from contents `old` to `new`, and the bytes a holder of `old` pulls to get
    `new`: compressed sizes when both registry manifests are given, else local layer sizes."""
    result: dict = {
        "from": old["ref"],
        "to": new["ref"],
        **{kind: _compare(old[kind], new[kind]) for kind in PACKAGE_KINDS},
        "python": [_python_version(old), _python_version(new)],
        "size": [old.get("size"), new.get("size")],  # uncompressed, bytes
        "labels": _compare(old["labels"], new["labels"]),
    }
    if old_registry_layers is not None and new_registry_layers is not None:
        have = {digest for digest, _ in old_registry_layers}
        missing = [size for digest, size in new_registry_layers if digest not in have]
        pull = {
            "bytes": sum(missing),
            "layers": len(missing),
            "of_layers": len(new_registry_layers),
            "image_bytes": sum(size for _, size in new_registry_layers),
            "source": "registry",
        }
    else:
        have = {layer["diff_id"] for layer in old["layers"]}
        missing_layers = [layer for layer in new["layers"] if layer["diff_id"] not in have]
        sizes = [layer["size"] for layer in missing_layers]
        pull = {
            "bytes": None if None in sizes else sum(sizes),
            "layers": len(missing_layers),
            "of_layers": len(new["layers"]),
            "image_bytes": new["size"],
            "source": "local",
        }
    result["pull"] = pull
    return result


def _python_version(listed: dict) -> str | None:
    return (listed.get("python") or {}).get("version")


def render(result: dict) -> str:
    """The diff as a table for people; one section per platform for versions of several."""
    lines = [f"{result['from']}", f"  -> {result['to']}", ""]
    if "platforms" not in result:
        return "\n".join(lines + _render_one(result))
    for platform, one in result["platforms"].items():
        lines += [f"== {platform} ==", *_render_one(one), ""]
    for side, word in (("from", "old"), ("to", "new")):
        for platform in result["only_in"][side]:
            lines.append(f"== {platform}: only in the {word} version ==")
    return "\n".join(lines).rstrip("\n")


def _render_one(result: dict) -> list[str]:
    lines: list[str] = []
    for kind, title in (
        ("python_packages", "Python packages"),
        ("debian_packages", "Debian packages"),
    ):
        lines += _change_table(title, result[kind])
    old_python, new_python = result["python"]
    lines.append(
        f"Python: {old_python}" + (f" -> {new_python}" if new_python != old_python else " (same)")
    )
    lines += _change_table("Labels", result["labels"])
    pull = result["pull"]
    source = (
        "compressed layer sizes from the registry"
        if pull["source"] == "registry"
        else "uncompressed local layer sizes; push both to see compressed bytes"
    )
    lines += [
        "",
        f"To pull: {human_size(pull['bytes'])} in {pull['layers']} of {pull['of_layers']} "
        f"layers, of {human_size(pull['image_bytes'])} for the whole image ({source})",
    ]
    return lines


def _change_table(title: str, changes: dict[str, dict]) -> list[str]:
    rows = [
        *(("+", k, "", v) for k, v in changes["added"].items()),
        *(("-", k, v, "") for k, v in changes["removed"].items()),
        *(("~", k, a, b) for k, (a, b) in changes["changed"].items()),
    ]
    if not rows:
        return [f"{title}: no change"]
    width = max(len(r[1]) for r in rows)
    old_width = max(len(r[2]) for r in rows)
    count = {sign: sum(1 for r in rows if r[0] == sign) for sign in "+-~"}
    lines = [f"{title}: {count['+']} added, {count['-']} removed, {count['~']} changed"]
    lines += [f"  {s} {k:<{width}}  {a:<{old_width}}  {b}".rstrip() for s, k, a, b in rows]
    return lines
