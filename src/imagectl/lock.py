"""Hash-locked requirements: `<image>.in` holds the requirements, `<image>.lock` exact versions with
hashes for the image's Python and platform, which the Dockerfile installs with hash checking."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from imagectl import proc
from imagectl.errors import BuildError, ConfigError

# The images' interpreter (Debian trixie's python3) and platform, not the host's.
PYTHON_VERSION = "3.13"
PLATFORM = "x86_64-manylinux_2_28"


def compile_lock(
    requirements: Path, constraints: Path | None = None, upgrade: bool = False
) -> Path:
    """Resolve `requirements` into the lock beside it with uv; returns the lock's path.

    uv keeps the versions the existing lock pins wherever they still satisfy the
    requirements; with `upgrade`, every package goes to the newest version that does (what
    `imagectl update` does). uv leaves `--upgrade` out of the lock's header, so a resolution
    that finds nothing new rewrites the lock byte for byte.

    A child image passes its parent's lock as `constraints`: every package the two share
    then resolves to the parent's version, so installing the child's lock on top of the
    parent downgrades nothing and never holds two versions of one package.

    An `<image>.excludes` file beside the requirements names distributions left out of the
    resolution even where a dependency asks for them (an optional extra's package, say):
    uv drops them and whatever only they need. The file says why for each.
    """
    if not requirements.is_file():
        raise ConfigError(
            f"{requirements} does not exist", "create it with one requirement per line"
        )
    if constraints is not None and not constraints.is_file():
        raise ConfigError(
            f"{constraints} (the parent's lock) does not exist",
            "lock the parent image first: `imagectl lock` locks parents before children",
        )
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    lock = requirements.with_suffix(".lock")
    argv = [
        uv, "pip", "compile", requirements.name, "--generate-hashes", "--quiet",
        "--python-version", PYTHON_VERSION, "--python-platform", PLATFORM, "-o", lock.name,
    ]  # fmt: skip
    if upgrade:
        argv.append("--upgrade")
    if constraints is not None:  # relative, so the lock's header names no host path
        argv += ["-c", os.path.relpath(constraints, requirements.parent)]
    excludes = requirements.with_suffix(".excludes")
    if excludes.is_file():
        argv += ["--excludes", excludes.name]
    try:
        proc.run_echoed(argv, cwd=str(requirements.parent))
    except FileNotFoundError:
        raise BuildError(
            f"locking {requirements.name} failed: {uv} is not installed",
            "run scripts/bootstrap (it installs uv into .venv)",
        ) from None
    except subprocess.CalledProcessError as exc:
        reason = resolver_error(exc.output or "")
        raise BuildError(
            f"locking {requirements.name} failed: {reason or f'uv exited {exc.returncode}'}",
            f"change the requirement it names in {requirements.name} (or the pin it "
            "conflicts with), or check that the package index is reachable",
        ) from None
    return lock


def resolver_error(output: str) -> str:
    """uv's explanation of a failed resolution (the lines after `No solution found`, or its
    `error:` lines), joined into one message that names the package."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if "No solution found" in line:
            rest = [
                part.lstrip("╰─▶ ").strip().removeprefix("cause:").strip()
                for part in lines[index + 1 :]
            ]
            return " ".join(part for part in rest if part and not part.startswith("$ "))
    errors = [line for line in lines if line.startswith(("error:", "×"))]
    return " ".join(errors)


def requirement_name(line: str) -> str | None:
    """The distribution a line of a `.in` file asks for, or None (comment, blank, option)."""
    line = line.split("#", 1)[0].strip()
    if not line or line.startswith("-"):
        return None
    return re.split(r"[\s\[<>=!~;@]", line, maxsplit=1)[0]


def required_packages(requirements: Path) -> list[str]:
    """The distribution names a `.in` file asks for (the image tests import each of them)."""
    return [
        name for line in requirements.read_text().splitlines() if (name := requirement_name(line))
    ]


def pinned_versions(lock: Path) -> dict[str, str]:
    """{normalized distribution name: version} of the `name==version` pins in a lock file."""
    pins = {}
    for line in lock.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", line)
        if match:
            pins[normalize(match[1])] = match[2]
    return pins


def normalize(name: str) -> str:
    """A distribution name as PEP 503 compares them (Foo_Bar -> foo-bar)."""
    return re.sub(r"[-_.]+", "-", name).lower()
