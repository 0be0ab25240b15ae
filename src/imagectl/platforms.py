"""Platforms an image is built for (images.yml's `platforms`): their names, the host's own, and
what a foreign one needs here (QEMU user emulation through binfmt_misc)."""

from __future__ import annotations

import platform as _platform
from dataclasses import dataclass
from pathlib import Path

from imagectl import host, proc
from imagectl.errors import ConfigError, EngineError


@dataclass(frozen=True)
class Platform:
    """One OCI platform: `linux/arm64` is os linux, architecture arm64 (uname: aarch64)."""

    name: str
    architecture: str
    machine: str  # what `uname -m` and Python's platform.machine() print there

    @property
    def slug(self) -> str:
        """The platform in a tag: `<sha>-linux-arm64`."""
        return self.name.replace("/", "-")

    @property
    def os(self) -> str:
        return self.name.split("/", 1)[0]

    @property
    def wheel_platform(self) -> str:
        """uv's --python-platform for the images' Debian trixie (glibc 2.41)."""
        return f"{self.machine}-manylinux_2_28"


KNOWN = {
    p.name: p
    for p in (
        Platform("linux/amd64", "amd64", "x86_64"),
        Platform("linux/arm64", "arm64", "aarch64"),
    )
}
DEFAULT = ("linux/amd64",)


def get(name: str) -> Platform:
    try:
        return KNOWN[name]
    except KeyError:
        raise ConfigError(
            f"unknown platform {name!r}", f"use one of: {', '.join(sorted(KNOWN))}"
        ) from None


def native() -> Platform:
    """The platform this machine runs natively."""
    machine = _platform.machine()
    for known in KNOWN.values():
        if machine in (known.machine, known.architecture):
            return known
    raise ConfigError(
        f"this host's architecture {machine!r} is not one the images are built for",
        f"build on one of: {', '.join(sorted(KNOWN))}",
    )


def select(text: str | None, image: str, listed: tuple[str, ...]) -> list[Platform]:
    """The platforms a command names (comma-separated, or `all`) for `image`, which lists
    `listed` in images.yml. None or empty: the host's own, if the image lists it."""
    if not text:
        names = [native().name]
    elif text == "all":
        names = list(listed)
    else:
        names = [part.strip() for part in text.split(",") if part.strip()]
    chosen = [get(name) for name in names]
    for p in chosen:
        if p.name not in listed:
            raise ConfigError(
                f"{image} is not built for {p.name}: images.yml lists {', '.join(listed)}",
                f"choose from those, or add {p.name} to images.{image}.platforms in images.yml",
            )
    return chosen


BINFMT = Path("/proc/sys/fs/binfmt_misc")


def ensure_emulation(platform: Platform) -> None:
    """Make sure this host runs `platform`'s programs through QEMU user emulation: the
    binfmt_misc handler registered with the fix-binary flag (F), so containers and BuildKit's
    RUN steps find the emulator without it being copied into them. As root this installs
    Debian's qemu-user-static; otherwise it stops and says what is missing."""
    if _handler_ready(platform):
        return
    if not host.is_root():
        raise EngineError(
            f"building for {platform.name} on this {host_platform_name()} host needs QEMU user "
            f"emulation, and binfmt_misc has no {_handler(platform).name} handler with the "
            "fix-binary flag",
            "as root run: apt-get install -y qemu-user-static binfmt-support (or run the "
            "build as root, which installs them); or build on a native "
            f"{platform.name} host",
        )
    if not (BINFMT / "register").exists():
        proc.run_echoed(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)])
    host.ensure_debian_packages(
        {"qemu-user-static": f"qemu-{platform.machine}-static", "binfmt-support": "update-binfmts"},
        f"building for {platform.name}",
    )
    if not _handler_ready(platform):
        proc.run_echoed(["update-binfmts", "--enable", f"qemu-{platform.machine}"])
    if not _handler_ready(platform):
        raise EngineError(
            f"binfmt_misc still has no {_handler(platform).name} handler with the fix-binary "
            "flag after installing qemu-user-static",
            "this kernel may lack binfmt_misc (check /proc/sys/fs/binfmt_misc); build on a "
            f"native {platform.name} host instead",
        )


def host_platform_name() -> str:
    try:
        return native().name
    except ConfigError:
        return _platform.machine()


def _handler(platform: Platform) -> Path:
    return BINFMT / f"qemu-{platform.machine}"


def _handler_ready(platform: Platform) -> bool:
    """binfmt_misc's entry for the platform is enabled and has the fix-binary flag."""
    try:
        text = _handler(platform).read_text()
    except OSError:
        return False
    flags = next(
        (line.split(":", 1)[1] for line in text.splitlines() if line.startswith("flags:")), ""
    )
    return text.startswith("enabled") and "F" in flags
