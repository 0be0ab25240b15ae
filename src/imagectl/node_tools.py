"""The npm tools the end-to-end tests and benches run, installed by scripts/bootstrap into
.cache/node/ (as gitlab-ci-local is: nothing global changes): JupyterHub's proxy and the Dev
Containers CLI. The versions here and in scripts/bootstrap are the same (a unit test holds
them together)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from imagectl.errors import ImageToolError

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / ".cache" / "node" / "node_modules"

# command -> (npm package, version): each runs on Node 20, the host's
TOOLS: dict[str, tuple[str, str]] = {
    "configurable-http-proxy": ("configurable-http-proxy", "5.3.0"),
    "devcontainer": ("@devcontainers/cli", "0.89.0"),
}


class NodeToolError(ImageToolError):
    """An npm tool is missing or another version; the message says how to install it."""


def path(command: str) -> Path:
    return NODE_MODULES / ".bin" / command


def require(command: str) -> Path:
    """The installed `command` of TOOLS, checked to be the pinned version."""
    package, version = TOOLS[command]
    try:
        found = subprocess.run(
            [str(path(command)), "--version"], capture_output=True, text=True, timeout=60
        ).stdout.strip()
    except FileNotFoundError:
        found = "none"
    if found.removeprefix("v") != version:
        raise NodeToolError(
            f"{package} {version} is not installed at {path(command)} (found: {found})",
            "run scripts/bootstrap (it needs npm and Node.js 20)",
        )
    return path(command)
