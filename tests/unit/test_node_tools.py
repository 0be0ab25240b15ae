"""The npm tools the tests run are pinned once: scripts/bootstrap installs the versions that
imagectl.node_tools checks for, and a missing one names the fix."""

from __future__ import annotations

import re

import pytest
from support import ROOT

from imagectl import node_tools


def test_bootstrap_installs_the_versions_the_tool_checks_for() -> None:
    bootstrap = (ROOT / "scripts" / "bootstrap").read_text()
    installs = dict(re.findall(r'"(@?[\w./-]+)@\$(\w+)"', bootstrap))
    pinned = dict(re.findall(r"^(\w+)=(\S+)$", bootstrap, re.MULTILINE))
    for package, version in node_tools.TOOLS.values():
        assert pinned[installs[package]] == version, package


def test_a_missing_npm_tool_names_scripts_bootstrap(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(node_tools, "NODE_MODULES", tmp_path)
    with pytest.raises(node_tools.NodeToolError) as missing:
        node_tools.require("configurable-http-proxy")
    assert "configurable-http-proxy 5.3.0 is not installed" in str(missing.value)
    assert "run scripts/bootstrap" in str(missing.value)
