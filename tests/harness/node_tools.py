"""The npm tools the end-to-end tests and benches run (gitlab-ci-local, JupyterHub's proxy, the
Dev Containers CLI) and the Node.js they run on, pinned here once and installed into
.cache/node/ (nothing global changes) by `make test-tools`, which `make test` runs first.

The tools run on the Node.js release pinned here (npm carries Node releases as packages,
`node-linux-<arch>`), never on the host's: a host with no Node.js, or an older one than the
tools need (Debian 12's is 18), works the same. All that setting up needs is an npm that runs;
as root, Debian's `nodejs` and `npm` are installed when there is none.

    python -m harness.node_tools [--prefix DIR]   (PYTHONPATH=tests)
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

from imagectl import host, proc
from imagectl.errors import ImageToolError

ROOT = Path(__file__).resolve().parents[2]
PREFIX = ROOT / ".cache" / "node"

# The Node.js the tools run on: gitlab-ci-local 4.73.0 is its last release for Node 20.
NODE_VERSION = "20.20.2"
# command -> (npm package, version)
TOOLS: dict[str, tuple[str, str]] = {
    "gitlab-ci-local": ("gitlab-ci-local", "4.73.0"),
    "configurable-http-proxy": ("configurable-http-proxy", "5.3.0"),
    "devcontainer": ("@devcontainers/cli", "0.89.0"),
}
_NODE_ARCH = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}


class NodeToolError(ImageToolError):
    """An npm tool is missing or another version; the message says how to install it."""


def bin_dir(prefix: Path = PREFIX) -> Path:
    return prefix / "node_modules" / ".bin"


def path(command: str, prefix: Path = PREFIX) -> Path:
    return bin_dir(prefix) / command


def env(base: dict[str, str] | None = None, prefix: Path = PREFIX) -> dict[str, str]:
    """`base` (default: this process's environment) with the tools and the pinned `node`
    first on PATH, where the tools' `#!/usr/bin/env node` finds it."""
    base = dict(os.environ if base is None else base)
    return {**base, "PATH": os.pathsep.join(filter(None, [str(bin_dir(prefix)), base.get("PATH")]))}


def installed(command: str, prefix: Path = PREFIX) -> str:
    """`command --version` as the tool prints it (without a leading v), or "none"."""
    try:
        found = subprocess.run(
            [str(path(command, prefix)), "--version"],
            env=env(prefix=prefix),
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (FileNotFoundError, PermissionError, subprocess.TimeoutExpired):
        return "none"
    return found.stdout.strip().removeprefix("v") if found.returncode == 0 else "none"


def wanted() -> dict[str, tuple[str, str]]:
    """Every pinned command, the pinned `node` among them: command -> (package, version)."""
    arch = _NODE_ARCH.get(platform.machine().lower())
    if arch is None:
        raise NodeToolError(
            f"npm carries no Node.js build for this machine ({platform.machine()})",
            "run the end-to-end tests on an amd64 or arm64 Linux host",
        )
    return {"node": (f"node-linux-{arch}", NODE_VERSION), **TOOLS}


def missing(prefix: Path = PREFIX) -> dict[str, tuple[str, str]]:
    return {
        command: spec for command, spec in wanted().items() if installed(command, prefix) != spec[1]
    }


def require(command: str, prefix: Path = PREFIX) -> Path:
    """The installed `command` of TOOLS, checked to be the pinned version."""
    package, version = TOOLS[command]
    found = installed(command, prefix)
    if found != version:
        raise NodeToolError(
            f"{package} {version} is not installed at {path(command, prefix)} (found: {found})",
            "run `make test-tools` (it installs the npm tools and the Node.js they run on)",
        )
    return path(command, prefix)


def _npm() -> str | None:
    """An npm that runs here (on whatever Node.js the PATH has), or None."""
    npm = shutil.which("npm")
    if npm is None:
        return None
    try:
        subprocess.run([npm, "--version"], capture_output=True, check=True, timeout=120)
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return None
    return npm


def setup(prefix: Path = PREFIX) -> None:
    """Install what is missing of the pinned Node.js and tools into `prefix`, in one npm call
    (npm drops what an earlier --no-save install put there)."""
    if not missing(prefix):
        print(f"npm tools: all pinned versions are installed in {prefix}", file=sys.stderr)
        return
    npm = _npm()
    if npm is None:
        # npm only fetches; the tools then run on the pinned Node.js, whatever this one is
        host.ensure_debian_packages(
            {"nodejs": "node", "npm": "npm"}, "installing the npm tools the tests run"
        )
        npm = _npm()
    if npm is None:
        raise NodeToolError(
            "no npm runs here, although `npm` is installed",
            "install a working Node.js with npm (Debian's `nodejs` and `npm` will do), "
            "then rerun `make test-tools`",
        )
    specs = [f"{package}@{version}" for package, version in wanted().values()]
    try:
        proc.run_echoed(
            [npm, "install", "--prefix", str(prefix), "--no-save", "--no-audit", "--no-fund",
             "--loglevel=error", *specs],
        )  # fmt: skip
    except subprocess.CalledProcessError as exc:
        raise NodeToolError(
            f"npm install failed (exit {exc.returncode}):\n{(exc.output or '').strip()[-2000:]}",
            "check that npm's registry is reachable (npm config get registry), then rerun "
            "`make test-tools`",
        ) from None
    still = missing(prefix)
    if still:
        raise NodeToolError(
            "after npm install, these do not run at their pinned versions: "
            + ", ".join(f"{package} {version}" for package, version in still.values()),
            f"remove {prefix} and rerun `make test-tools`",
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prefix", type=Path, default=PREFIX)
    prefix = parser.parse_args().prefix
    try:
        setup(prefix)
    except ImageToolError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
