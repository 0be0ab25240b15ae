"""The npm tools the tests run are pinned once (harness/node_tools.py), and a missing one
names the fix."""

from __future__ import annotations

import pytest

from harness import node_tools


def test_the_tools_are_pinned_with_the_node_they_run_on() -> None:
    wanted = node_tools.wanted()
    assert wanted["node"] == (wanted["node"][0], node_tools.NODE_VERSION)
    assert wanted["node"][0].startswith("node-linux-")
    assert set(node_tools.TOOLS) < set(wanted)


def test_a_missing_npm_tool_names_make_test_tools(tmp_path) -> None:
    with pytest.raises(node_tools.NodeToolError) as missing:
        node_tools.require("configurable-http-proxy", prefix=tmp_path)
    assert "configurable-http-proxy 5.3.0 is not installed" in str(missing.value)
    assert "run `make test-tools`" in str(missing.value)


def test_the_tools_find_the_pinned_node_first_on_path(tmp_path) -> None:
    env = node_tools.env({"PATH": "/usr/bin:/bin"}, prefix=tmp_path)
    assert env["PATH"] == f"{tmp_path}/node_modules/.bin:/usr/bin:/bin"
