"""Diffs of two versions: the packages added, removed and changed, the label changes, and the
bytes that a machine holding the old version pulls to get the new one."""

from __future__ import annotations

from pathlib import Path

import docker

from imagectl import contents, publish
from imagectl.contents import PACKAGE_KINDS, human_size
from imagectl.engine import has_image
from imagectl.errors import RegistryError
from imagectl.registry import Manifest, Reference, parse_reference
from imagectl.registry_server import Registries


def compare(
    docker_client: docker.DockerClient,
    refs: tuple[str, str],
    script: Path,
    registries: Registries,
    echo: publish.Echo = publish.stderr,
) -> dict:
    """The diff of two versions. One that is not local is pulled first (the tool's own
    registry is started only for that); compressed pull sizes come from the registry when
    both versions there are the local images."""
    listed: list[dict] = []
    remote: list[Manifest | None] = []
    for text in refs:
        ref = _parse_or_none(text)
        if has_image(docker_client, text):
            client = registries.reachable(ref.host) if ref else None
        else:
            client = registries.reachable(ref.host, start=True) if ref else None
            if ref is None or client is None:
                raise RegistryError(
                    f"{text} is neither a local image nor in a registry that answers",
                    "build or pull it first, or start its registry",
                )
            publish.pull(docker_client, client, ref, registries.credentials, echo)
        listed.append(contents.collect(docker_client, text, script))
        in_registry = client.manifest(ref.repository, ref.reference) if ref and client else None
        same = in_registry is not None and in_registry.config_digest == listed[-1]["id"]
        remote.append(in_registry if same else None)
    old, new = remote
    return contents_diff(
        listed[0],
        listed[1],
        old.layers if old and new else None,
        new.layers if old and new else None,
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
    """The diff as a table for people."""
    lines = [f"{result['from']}", f"  -> {result['to']}", ""]
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
    return "\n".join(lines)


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
