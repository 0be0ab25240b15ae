"""Platforms an image is built for (images.yml's `platforms`): their names, the host's own, and
what a foreign one needs here (QEMU user emulation through binfmt_misc)."""

from __future__ import annotations

import platform as _platform
from dataclasses import dataclass

from imagectl.errors import ConfigError


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


def host() -> Platform:
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
        names = [host().name]
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
