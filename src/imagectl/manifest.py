"""What an image holds: Python and Debian packages with versions (listed inside the image by
docker/rootfs/usr/local/bin/image-manifest), labels, layers and size; written as JSON and
Markdown next to the build, and diffed between two versions."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import docker
import docker.errors

from imagectl.errors import ManifestError

SCRIPT = Path("docker/rootfs/usr/local/bin/image-manifest")
# Where the cpu image's last RUN writes the same listing, for `docker run IMAGE cat ...`.
EMBEDDED_PATH = "/usr/share/analysis-template/manifest.json"
OUTPUT_DIR = Path("build/manifests")
PACKAGE_KINDS = ("python_packages", "debian_packages")


def script_path(root: Path) -> Path:
    """The listing script: the project's copy, else the one beside this tool's source."""
    for candidate in (root / SCRIPT, Path(__file__).resolve().parents[2] / SCRIPT):
        if candidate.is_file():
            return candidate
    raise ManifestError(f"{SCRIPT} is missing", "restore it from git")


def collect(engine: docker.DockerClient, ref: str, script: Path) -> dict:
    """The manifest of the local image `ref`."""
    try:
        image = engine.images.get(ref)
    except docker.errors.ImageNotFound:
        raise ManifestError(
            f"{ref} is not a local image", "build it, or pull it (`imagectl pull`)"
        ) from None
    attrs = image.attrs
    diff_ids = attrs["RootFS"].get("Layers", [])
    steps = layer_steps(diff_ids, list(reversed(image.history())))  # the API lists newest first
    return {
        "schema": 1,
        "ref": ref,
        "id": image.id,
        "created": attrs.get("Created"),
        "size": attrs.get("Size"),
        "labels": dict(attrs["Config"].get("Labels") or {}),
        "layers": [
            {
                "diff_id": diff_id,
                "size": steps[i].get("Size", 0) if steps else None,
                "created_by": steps[i].get("CreatedBy", "") if steps else None,
            }
            for i, diff_id in enumerate(diff_ids)
        ],
        **_list_contents(engine, image.id, ref, script),
    }


def _list_contents(engine: docker.DockerClient, image_id: str, ref: str, script: Path) -> dict:
    """Run the listing script in a throwaway container; an image without python3 (a bare
    Debian) gets its Debian packages listed the way the script lists them."""
    listing = _run(engine, image_id, ref, ["python3", "/.image-manifest"], script)
    if listing is not None:
        return json.loads(listing)
    listing = _run(engine, image_id, ref, ["dpkg-query", "-W", "-f", DPKG_FORMAT])
    if listing is None:
        raise ManifestError(
            f"cannot list the packages of {ref}: it has neither python3 nor dpkg-query",
            "describe a Debian-based image, or add python3 to it",
        )
    return {
        "schema": 1,
        "python": None,
        "python_packages": {},
        "debian_packages": parse_dpkg(listing),
    }


# The same query as the script's; ${db:Status-Abbrev} tells installed ("ii") from removed.
DPKG_FORMAT = "${db:Status-Abbrev}\t${Package}\t${Version}\n"


def parse_dpkg(listing: str) -> dict[str, str]:
    installed = {}
    for line in listing.splitlines():
        status, package, version = line.split("\t")
        if status.startswith("ii"):
            installed[package] = version
    return dict(sorted(installed.items()))


def _run(
    engine: docker.DockerClient,
    image_id: str,
    ref: str,
    entrypoint: list[str],
    script: Path | None = None,
) -> str | None:
    """stdout of `entrypoint` in a throwaway container without network, or None when its
    program is not in the image. The script is copied in rather than bind-mounted, so an
    engine on another host (DOCKER_HOST) works too."""
    container = engine.containers.create(image_id, entrypoint=entrypoint, network_mode="none")
    try:
        if script:
            container.put_archive("/", _tar(script, ".image-manifest"))  # even FROM scratch has /
        try:
            container.start()
        except docker.errors.APIError:  # "executable file not found in $PATH"
            return None
        status = container.wait(timeout=120).get("StatusCode")
        if status != 0:
            errors = container.logs(stdout=False, stderr=True).decode(errors="replace")
            raise ManifestError(
                f"listing the packages of {ref} failed (exit {status}): {errors[-500:]}",
                f"run {' '.join(entrypoint)} inside the image to see why",
            )
        return container.logs(stdout=True, stderr=False).decode()
    finally:
        container.remove(force=True)


def _tar(path: Path, name: str) -> bytes:
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        info = tar.gettarinfo(str(path), arcname=name)
        info.mode, info.uid, info.gid = 0o755, 0, 0
        with path.open("rb") as source:
            tar.addfile(info, source)
    return archive.getvalue()


# The Dockerfile steps that make a filesystem layer; the rest (ENV, LABEL, USER, ...) only
# change the config. The engine's history API tells sizes but not which entries are layers.
_LAYER_STEPS = ("RUN ", "COPY ", "ADD ", "WORKDIR ", "/bin/sh -c ", "|")


def _makes_layer(created_by: str) -> bool:
    step = created_by.strip()
    if "#(nop)" in step:  # the classic builder's metadata steps, and its COPY/ADD
        return any(f"#(nop) {kind}" in step for kind in ("COPY", "ADD"))
    return step.startswith(_LAYER_STEPS)


def layer_steps(diff_ids: list[str], history: list[dict]) -> list[dict] | None:
    """The history entry (oldest first) that made each layer, bottom first, or None when the
    history can't be matched to the layers."""
    sized = [entry for entry in history if entry.get("Size", 0) > 0]
    if len(sized) == len(diff_ids):
        return sized
    # Empty layers (a WORKDIR that made a directory) have size 0 like metadata steps do.
    candidates = [
        entry
        for entry in history
        if entry.get("Size", 0) > 0 or _makes_layer(entry.get("CreatedBy", ""))
    ]
    return candidates if len(candidates) == len(diff_ids) else None


def write(manifest: dict, directory: Path, name: str, sha: str) -> tuple[Path, Path]:
    """Write `<name>-<sha>.json` and `.md` into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / f"{name}-{sha}.json"
    json_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    md_path = json_path.with_suffix(".md")
    md_path.write_text(markdown(manifest))
    return json_path, md_path


def human_size(size: int | None) -> str:
    if size is None:
        return "unknown"
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def markdown(manifest: dict) -> str:
    python = manifest.get("python") or {}
    lines = [
        f"# {manifest['ref']}",
        "",
        f"- image ID: `{manifest['id']}`",
        f"- size: {human_size(manifest['size'])} ({manifest['size']} bytes, uncompressed)",
        f"- Python: {python.get('version')} (`{python.get('executable')}`)"
        if python
        else "- Python: none",
        f"- created: {manifest.get('created')}",
        "",
        "## Labels",
        "",
        "| label | value |",
        "|---|---|",
        *(f"| {key} | {value} |" for key, value in sorted(manifest["labels"].items())),
        "",
        "## Layers (bottom first)",
        "",
        "| # | size | diff ID | created by |",
        "|---|---|---|---|",
    ]
    for i, layer in enumerate(manifest["layers"], 1):
        step = (layer["created_by"] or "").replace("|", "\\|")
        step = step if len(step) <= 80 else step[:77] + "..."
        lines.append(f"| {i} | {human_size(layer['size'])} | `{layer['diff_id'][:19]}` | {step} |")
    for kind, title in (("python_packages", "Python"), ("debian_packages", "Debian")):
        packages = manifest[kind]
        lines += ["", f"## {title} packages ({len(packages)})", "", "| package | version |"]
        lines += ["|---|---|", *(f"| {name} | {version} |" for name, version in packages.items())]
    return "\n".join(lines) + "\n"


def _compare(old: dict[str, str], new: dict[str, str]) -> dict[str, dict]:
    both = sorted(old.keys() & new.keys())
    return {
        "added": {k: new[k] for k in sorted(new.keys() - old.keys())},
        "removed": {k: old[k] for k in sorted(old.keys() - new.keys())},
        "changed": {k: [old[k], new[k]] for k in both if old[k] != new[k]},
    }


def diff(
    old: dict,
    new: dict,
    old_registry_layers: list[tuple[str, int]] | None = None,
    new_registry_layers: list[tuple[str, int]] | None = None,
) -> dict:
    """What changes from image `old` to `new`, and the bytes a holder of `old` pulls to get
    `new`: compressed sizes when both registry manifests are given, else local layer sizes."""
    result: dict = {
        "from": old["ref"],
        "to": new["ref"],
        **{kind: _compare(old[kind], new[kind]) for kind in PACKAGE_KINDS},
        "python": [_python_version(old), _python_version(new)],
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


def _python_version(manifest: dict) -> str | None:
    return (manifest.get("python") or {}).get("version")


def render_diff(result: dict) -> str:
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
