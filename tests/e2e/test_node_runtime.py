"""The npm tools the end-to-end tests run work on a host whatever its Node.js: an older one
than they need is passed over for the pinned one, and a host with none stops `make
test-tools` at once, naming the fix."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from support import ROOT

from harness import node_tools


def test_the_tools_run_on_the_pinned_node_when_the_path_has_an_older_one(tmp_path: Path) -> None:
    # Debian 12's Node.js is 18; gitlab-ci-local 4.73.0 needs 20
    old = tmp_path / "bin"
    old.mkdir()
    (old / "node").write_text("#!/bin/sh\necho v18.19.0\n")
    (old / "node").chmod(0o755)
    env = node_tools.env({**os.environ, "PATH": f"{old}:{os.environ['PATH']}"})
    for command, (_, version) in node_tools.wanted().items():
        found = subprocess.run(
            [str(node_tools.path(command)), "--version"], env=env, capture_output=True, text=True
        )
        assert found.stdout.strip().removeprefix("v") == version, (command, found.stderr)


def test_with_no_node_npm_or_apt_on_path_make_test_tools_stops_at_once_naming_the_fix(
    tmp_path: Path,
) -> None:
    # nothing on PATH: no node, no npm, and no apt-get to install Debian's (as for a user who
    # is not root, the same message)
    prefix = tmp_path / "node"
    prefix.mkdir()
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "harness.node_tools", "--prefix", str(prefix)],
        cwd=ROOT,
        env={"PATH": str(tmp_path / "empty"), "PYTHONPATH": str(ROOT / "tests"), "HOME": "/"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert time.monotonic() - start < 60
    assert result.returncode == 2, result.stderr
    assert "installing the npm tools the tests run needs the Debian package(s) nodejs npm" in (
        result.stderr
    )
    assert "fix: run as root: apt-get install -y nodejs npm" in result.stderr
    assert list(prefix.iterdir()) == []
