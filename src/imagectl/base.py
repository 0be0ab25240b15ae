"""The base image every root image is built FROM: pinned by digest in images.yml (and the CI
file), pulled when a registry has it, otherwise made once from Debian's archive (debootstrap +
import) and cached under a local name labelled with the archive state it was made from."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import docker
import docker.errors

from imagectl import host, platforms, proc
from imagectl.config import BaseImage
from imagectl.engine import has_image
from imagectl.errors import BuildError
from imagectl.platforms import Platform


def ensure(
    base: BaseImage,
    docker_client: docker.DockerClient,
    docker_cli: str,
    cache: Path,
    platform: Platform | None = None,
) -> str:
    """The reference to build FROM for `platform` (default: the host's): the configured image
    if present or pullable, else the local equivalent, made here the first time."""
    platform = platform or platforms.native()
    if platform != platforms.native():
        return _ensure_foreign(base, docker_client, docker_cli, cache, platform)
    if has_image(docker_client, base.image):
        return base.image
    try:
        docker_client.images.pull(base.image)
        return base.image
    except docker.errors.APIError as exc:
        reason = str(exc.explanation or exc).splitlines()[0]
        print(f"cannot pull {base.image} ({reason})", file=sys.stderr)
    if not has_image(docker_client, base.local_name):
        print(f"making {base.local_name} from Debian's archive instead", file=sys.stderr)
        bootstrap(base, docker_cli, cache)
    return base.local_name


def local_name(base: BaseImage, platform: Platform) -> str:
    """The made base's local tag: `local_name` for the host's platform, with the platform
    after it for another (the engine keeps one platform per tag)."""
    if platform == platforms.native():
        return base.local_name
    return f"{base.local_name}-{platform.slug}"


def _ensure_foreign(
    base: BaseImage,
    docker_client: docker.DockerClient,
    docker_cli: str,
    cache: Path,
    platform: Platform,
) -> str:
    # The engine keeps one platform per tag, so the pinned image is not pulled here (that
    # would replace the host's under the same name): BuildKit resolves its platform itself
    # when the registry answers. Where it does not, the base is made from Debian's archive.
    name = local_name(base, platform)
    if has_image(docker_client, name):
        return name
    if _registry_has(docker_client, base.image):
        return base.image
    print(f"making {name} from Debian's archive for {platform.name}", file=sys.stderr)
    bootstrap_foreign(base, docker_cli, cache, platform)
    return name


def _registry_has(docker_client: docker.DockerClient, image: str) -> bool:
    try:
        docker_client.images.get_registry_data(image)
        return True
    except docker.errors.APIError as exc:
        reason = str(exc.explanation or exc).splitlines()[0]
        print(f"cannot reach {image} ({reason})", file=sys.stderr)
        return False


# Labels of a debootstrapped base: the archive it came from, and the date of that archive's
# Release file (what a rebuild from a snapshot of the archive would name).
ARCHIVE_LABEL = "org.debian.archive"
ARCHIVE_DATE_LABEL = "org.debian.archive.date"
PINNED_FILES = ("images.yml", ".gitlab-ci.yml")


def lock(base: BaseImage, docker_client: docker.DockerClient, root: Path) -> str:
    """Pin `base.image` to the digest its tag has now: pull the tag, read the digest the
    registry gave, and write `tag@digest` into images.yml and the CI file's DEBIAN_IMAGE."""
    tag = base.image.split("@", 1)[0]
    proc.echo(["docker", "pull", tag])
    try:
        image = docker_client.images.pull(tag)
    except docker.errors.APIError as exc:
        reason = str(exc.explanation or exc).splitlines()[0]
        raise BuildError(
            f"cannot pull {tag} to read its digest ({reason}); the pin stays {base.image}",
            "run `make lock-base` where that registry (or a mirror named in images.yml) is "
            "reachable, or write the digest into images.yml and .gitlab-ci.yml by hand",
        ) from None
    digests = [d for d in image.attrs.get("RepoDigests") or [] if "@sha256:" in d]
    if not digests:
        raise BuildError(f"the engine recorded no digest for {tag}", "retry the pull")
    pinned = f"{tag}@{digests[0].split('@', 1)[1]}"
    for name in PINNED_FILES:
        path = root / name
        path.write_text(path.read_text().replace(base.image, pinned))
    return pinned


def refresh(base: BaseImage, docker_client: docker.DockerClient, root: Path) -> str:
    """What `imagectl update` does to the base: move the pin to the digest the tag names now
    (`lock`), or, where that registry cannot be reached, say so and carry on, with the state
    of the local base made by debootstrap. Returns that as one line for the report."""
    try:
        pinned = lock(base, docker_client, root)
    except BuildError as exc:
        reason = str(exc).split(";", 1)[0]
        line = f"{reason}; the pin stays {base.image}"
        if not has_image(docker_client, base.local_name):
            return line
        made = _archive_date_of(docker_client, base.local_name)
        if made is None:
            return f"{line}; the local base {base.local_name} names no archive date"
        now = release_date(docker_client, base.local_name, base.suite)
        state = f"; the local base {base.local_name} is made from the package archive of {made}" + (
            f" (the archive now: {now})" if now and now != made else ""
        )
        if now and now != made:
            state += f"; to move to it, remove {base.local_name} and build again"
        return line + state
    if pinned == base.image:
        return f"{pinned.split('@', 1)[0]}: the pin is current ({pinned})"
    return f"{base.image.split('@', 1)[0]}: the pin moves to {pinned}"


def _archive_date_of(docker_client: docker.DockerClient, name: str) -> str | None:
    try:
        labels = docker_client.images.get(name).labels or {}
    except docker.errors.ImageNotFound:
        return None
    return labels.get(ARCHIVE_DATE_LABEL)


def release_date(docker_client: docker.DockerClient, name: str, suite: str) -> str | None:
    """The Date of the archive's Release file for `suite` now, from the mirror the local base
    `name` was made from (its label); None when the archive does not answer."""
    try:
        archive = (docker_client.images.get(name).labels or {}).get(ARCHIVE_LABEL, "")
    except docker.errors.ImageNotFound:
        return None
    mirror = archive.split(" ", 1)[0]
    if not mirror.startswith(("http://", "https://")):
        return None
    url = f"{mirror.rstrip('/')}/dists/{suite}/Release"
    try:
        with urllib.request.urlopen(url, timeout=15) as response:  # noqa: S310 (http(s) only)
            text = response.read(64_000).decode(errors="replace")
    except (OSError, ValueError):
        return None
    found = re.search(r"^Date:\s*(.+)$", text, re.MULTILINE)
    return found[1].strip() if found else None


def bootstrap(base: BaseImage, docker_cli: str, cache: Path) -> None:
    """debootstrap a minimal Debian `base.suite` and import it as `base.local_name`."""
    host.ensure_debian_packages({"debootstrap": "debootstrap"}, "making the base image")
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix="rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        try:
            proc.run_echoed(["debootstrap", "--variant=minbase", base.suite, str(rootfs)])
        except subprocess.CalledProcessError as exc:
            raise BuildError(
                f"debootstrap {base.suite} failed (exit {exc.returncode}):\n{exc.output}",
                "check that Debian's archive is reachable; or load the base image with "
                f"`docker load` and tag it {base.image}",
            ) from None
        archive, archive_date = archive_state(rootfs, base.suite)
        _finish_rootfs(rootfs, base.suite)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        argv = [
            docker_cli, "import", "--change", 'CMD ["bash"]',
            "--change", f'LABEL {ARCHIVE_LABEL}="{archive}" {ARCHIVE_DATE_LABEL}="{archive_date}"',
            "-", base.local_name,
        ]  # fmt: skip
        proc.echo(argv)
        imported = subprocess.run(
            argv,
            stdin=tar.stdout,
            capture_output=True,
            text=True,
        )
        tar.wait()
        if imported.returncode != 0 or tar.returncode != 0:
            raise BuildError(
                f"importing the base rootfs failed: {imported.stderr.strip()}",
                "check the engine's disk space and retry",
            )
    print(f"made {base.local_name}", file=sys.stderr)


def bootstrap_foreign(base: BaseImage, docker_cli: str, cache: Path, platform: Platform) -> None:
    """mmdebstrap a minimal Debian `base.suite` for another architecture (its maintainer
    scripts run under QEMU) and build it FROM scratch for that platform: `docker import`
    of Debian's 20.10 engine records the host's architecture whatever --platform says."""
    # arch-test: how mmdebstrap checks that the foreign architecture runs here
    host.ensure_debian_packages(
        {"mmdebstrap": "mmdebstrap", "arch-test": "arch-test"}, "making a base image"
    )
    name = local_name(base, platform)
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix="rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        argv = [
            "mmdebstrap", "--variant=minbase", f"--architectures={platform.architecture}",
            "--format=directory", "--skip=cleanup/apt/lists", base.suite, str(rootfs),
        ]  # fmt: skip
        try:
            proc.run_echoed(argv)
        except subprocess.CalledProcessError as exc:
            raise BuildError(
                f"mmdebstrap {base.suite} for {platform.name} failed (exit {exc.returncode})",
                "check that Debian's archive is reachable and that QEMU emulation works "
                "(imagectl checks binfmt_misc first)",
            ) from None
        archive, archive_date = archive_state(rootfs, base.suite)
        _finish_rootfs(rootfs, base.suite)
        context = Path(tmp) / "context"
        context.mkdir()
        subprocess.run(
            ["tar", "-C", str(rootfs), "-cf", str(context / "rootfs.tar"), "."], check=True
        )
        (context / "Dockerfile").write_text(
            "FROM scratch\nADD rootfs.tar /\n"
            f'LABEL {ARCHIVE_LABEL}="{archive}" {ARCHIVE_DATE_LABEL}="{archive_date}"\n'
            'CMD ["bash"]\n'
        )
        argv = [docker_cli, "build", "--platform", platform.name, "-t", name, str(context)]
        try:
            proc.run_echoed(argv, env={**os.environ, "DOCKER_BUILDKIT": "1"})
        except subprocess.CalledProcessError as exc:
            raise BuildError(
                f"building {name} from the rootfs failed (exit {exc.returncode})",
                "check the engine's disk space and retry",
            ) from None
    print(f"made {name}", file=sys.stderr)


def archive_state(rootfs: Path, suite: str) -> tuple[str, str]:
    """("<mirror> <suite> <version>", the Date of the suite's Release file) that debootstrap
    installed from."""
    mirror = (rootfs / "etc/apt/sources.list").read_text().split()[1]
    fields = {"Date": "unknown", "Version": ""}
    # the suite's own Release file (mmdebstrap also fetches <suite>-updates and -security)
    for release in (rootfs / "var/lib/apt/lists").glob(f"*_dists_{suite}_*Release"):
        text = release.read_text(errors="replace")
        for key in fields:
            found = re.search(rf"^{key}:\s*(.+)$", text, re.MULTILINE)
            if found:
                fields[key] = found[1].strip()
    return f"{mirror} {suite} {fields['Version']}".strip(), fields["Date"]


def _finish_rootfs(rootfs: Path, suite: str) -> None:
    """Make the rootfs look like Debian's own slim image: updates and security suites in
    deb822 sources, and no package caches."""
    legacy = rootfs / "etc/apt/sources.list"
    mirror = legacy.read_text().split()[1]  # "deb <mirror> <suite> main", written by debootstrap
    legacy.unlink()
    keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"
    (rootfs / "etc/apt/sources.list.d/debian.sources").write_text(
        f"Types: deb\nURIs: {mirror}\nSuites: {suite} {suite}-updates\nComponents: main\n"
        f"Signed-By: {keyring}\n\n"
        # Debian mirrors serve the security suite beside the main one, at <path>-security
        f"Types: deb\nURIs: {mirror.rstrip('/')}-security\nSuites: {suite}-security\n"
        f"Components: main\nSigned-By: {keyring}\n"
    )
    for leftovers in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for item in (rootfs / leftovers).glob("*"):
            if item.is_file():
                item.unlink()
            elif item.name != "partial":
                shutil.rmtree(item)
