"""What an image holds, its contents: Python and Debian packages with versions (listed inside
the image by docker/rootfs/usr/local/bin/image-contents), labels, layers and size; written as
JSON and Markdown next to the build. (`diff.py` compares two versions' contents.)"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import docker
import docker.errors
from cyclonedx.model.component import Component

from imagectl import sbom
from imagectl.errors import ContentsError

SCRIPT = Path("docker/rootfs/usr/local/bin/image-contents")
# Where the cpu image's last RUN writes the same listing, for `docker run IMAGE cat ...`.
EMBEDDED_PATH = "/usr/share/analysis-template/contents.json"
OUTPUT_DIR = Path("build/contents")
PACKAGE_KINDS = ("python_packages", "debian_packages")


def script_path(root: Path) -> Path:
    """The listing script: the project's copy, else the one beside this tool's source."""
    for candidate in (root / SCRIPT, Path(__file__).resolve().parents[2] / SCRIPT):
        if candidate.is_file():
            return candidate
    raise ContentsError(f"{SCRIPT} is missing", "restore it from git")


def collect(
    docker_client: docker.DockerClient, ref: str, script: Path, built_here: bool = False
) -> dict:
    """The contents of the local image `ref`. `built_here`: `ref` was just built from this
    project's Dockerfiles, whose last package step writes the same listing to EMBEDDED_PATH,
    so that file is read (no process runs: under QEMU the script takes seconds) rather than
    the script run again."""
    try:
        image = docker_client.images.get(ref)
    except docker.errors.ImageNotFound:
        raise ContentsError(
            f"{ref} is not a local image", "build it, or pull it (`imagectl pull`)"
        ) from None
    attrs = image.attrs
    diff_ids = attrs["RootFS"].get("Layers", [])
    steps = layer_steps(diff_ids, list(reversed(image.history())))  # the API lists newest first
    return {  # "schema" comes with the package listing
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
        **(
            (built_here and _embedded_listing(docker_client, image.id))
            or _list_packages(docker_client, image.id, ref, script)
        ),
    }


def _embedded_listing(docker_client: docker.DockerClient, image_id: str) -> dict | None:
    embedded = read_file(docker_client, image_id, EMBEDDED_PATH)
    return json.loads(embedded) if embedded is not None else None


def read_file(docker_client: docker.DockerClient, ref: str, path: str) -> bytes | None:
    """A file of the local image `ref`, or None when the image has no such file."""
    container = docker_client.containers.create(ref, entrypoint=["/"], network_mode="none")
    try:
        stream, _ = container.get_archive(path)
        archive = b"".join(stream)
    except docker.errors.NotFound:
        return None
    finally:
        container.remove(force=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        member = tar.next()
        extracted = tar.extractfile(member) if member else None
        return extracted.read() if extracted else None


def sbom_of(
    docker_client: docker.DockerClient,
    ref: str,
    script: Path,
    subject: Component | None = None,
    listed: dict | None = None,
) -> str:
    """The CycloneDX SBOM of the local image `ref`: the one the image carries (made in its
    build, with the lock's hashes), else one made here from its contents (`listed`, when the
    caller has collected them already; an image built by another Dockerfile). With `subject`,
    that becomes the image it describes (checked first); without, a carried SBOM is returned
    as it is."""
    carried = read_file(docker_client, ref, sbom.EMBEDDED_PATH)
    if carried is not None and subject is None:
        return carried.decode()
    if carried is not None:
        try:
            return sbom.with_subject(carried.decode(), subject)
        except sbom.InvalidSbom as exc:
            raise ContentsError(
                f"the SBOM that {ref} carries at {sbom.EMBEDDED_PATH} is not valid: {exc}",
                "rebuild the image; a downstream image should not edit that file",
            ) from None
    listed = listed or collect(docker_client, ref, script)
    name = listed["labels"].get("org.opencontainers.image.title") or ref
    return sbom.render(sbom.make(listed, {}, subject or sbom.image_component(name)))


def _list_packages(
    docker_client: docker.DockerClient, image_id: str, ref: str, script: Path
) -> dict:
    """Run the listing script in a throwaway container; an image without python3 (a bare
    Debian) gets its Debian packages listed the way the script lists them, and one with
    neither (FROM scratch) has no packages to list."""
    listing = _run(docker_client, image_id, ref, ["python3", "/.image-contents"], script)
    if listing is not None:
        return json.loads(listing)
    listing = _run(docker_client, image_id, ref, ["dpkg-query", "-W", "-f", DPKG_FORMAT])
    return {
        "schema": 2,
        "python": None,
        "python_packages": {},
        "debian_packages": parse_dpkg(listing) if listing is not None else {},
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
    docker_client: docker.DockerClient,
    image_id: str,
    ref: str,
    entrypoint: list[str],
    script: Path | None = None,
) -> str | None:
    """stdout of `entrypoint` in a throwaway container without network, or None when its
    program is not in the image. The script is copied in rather than bind-mounted, so an
    engine on another host (DOCKER_HOST) works too."""
    container = docker_client.containers.create(
        image_id, entrypoint=entrypoint, network_mode="none"
    )
    try:
        if script:
            container.put_archive("/", _tar(script, ".image-contents"))  # even FROM scratch has /
        try:
            container.start()
        except docker.errors.APIError:  # "executable file not found in $PATH"
            return None
        status = container.wait(timeout=120).get("StatusCode")
        if status != 0:
            errors = container.logs(stdout=False, stderr=True).decode(errors="replace")
            raise ContentsError(
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


def write(contents: dict, directory: Path, name: str, sha: str) -> tuple[Path, Path]:
    """Write `<name>-<sha>.json` and `.md` into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / f"{name}-{sha}.json"
    json_path.write_text(json.dumps(contents, indent=1, sort_keys=True) + "\n")
    md_path = json_path.with_suffix(".md")
    md_path.write_text(markdown(contents))
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


def markdown(contents: dict) -> str:
    python = contents.get("python") or {}
    lines = [
        f"# {contents['ref']}",
        "",
        f"- image ID: `{contents['id']}`",
        f"- size: {human_size(contents['size'])} ({contents['size']} bytes, uncompressed)",
        f"- Python: {python.get('version')} (`{python.get('executable')}`)"
        if python
        else "- Python: none",
        f"- created: {contents.get('created')}",
        "",
        "## Labels",
        "",
        "| label | value |",
        "|---|---|",
        *(f"| {key} | {value} |" for key, value in sorted(contents["labels"].items())),
        "",
        "## Layers (bottom first)",
        "",
        "| # | size | diff ID | created by |",
        "|---|---|---|---|",
    ]
    for i, layer in enumerate(contents["layers"], 1):
        step = (layer["created_by"] or "").replace("|", "\\|")
        step = step if len(step) <= 80 else step[:77] + "..."
        lines.append(f"| {i} | {human_size(layer['size'])} | `{layer['diff_id'][:19]}` | {step} |")
    for kind, title in (("python_packages", "Python"), ("debian_packages", "Debian")):
        packages = contents[kind]
        lines += ["", f"## {title} packages ({len(packages)})", "", "| package | version |"]
        lines += ["|---|---|", *(f"| {name} | {version} |" for name, version in packages.items())]
    return "\n".join(lines) + "\n"
