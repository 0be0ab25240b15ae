"""Hash-locked requirements: `<image>.in` holds the wishes, `<image>.lock` exact versions with
hashes for the image's Python and platform, which the Dockerfile installs with hash checking."""

from __future__ import annotations

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


def compile_lock(wishes: Path) -> Path:
    """Resolve `wishes` into the lock beside it with uv; returns the lock's path."""
    if not wishes.is_file():
        raise ConfigError(f"{wishes} does not exist", "create it with one requirement per line")
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    lock = wishes.with_suffix(".lock")
    argv = [
        uv, "pip", "compile", wishes.name, "--generate-hashes", "--quiet",
        "--python-version", PYTHON_VERSION, "--python-platform", PLATFORM, "-o", lock.name,
    ]  # fmt: skip
    try:
        proc.run_echoed(argv, cwd=str(wishes.parent))
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        raise BuildError(
            f"locking {wishes.name} failed: {exc}",
            "check the requirement names and that PyPI is reachable (uv must be installed)",
        ) from None
    return lock


def wished_packages(wishes: Path) -> list[str]:
    """The distribution names a `.in` file asks for (the image tests import each of them)."""
    names = []
    for line in wishes.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.append(re.split(r"[\s\[<>=!~;@]", line, maxsplit=1)[0])
    return names
