"""The browser: Debian's chromium (installed on demand as root, like the Docker engine) driven
by Playwright's Python client; screenshots go to build/browser/ (CI keeps them as artifacts)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import ROOT

from harness import workplace
from imagectl.errors import ImageToolError

SHOTS = ROOT / "build" / "browser"


@pytest.fixture(scope="session")
def chromium() -> str:
    try:
        return workplace.ensure_browser()
    except ImageToolError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright's Python client is missing: run scripts/bootstrap (.[dev])")
    with sync_playwright() as playwright:
        launched = workplace.launch(playwright, chromium)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Path:
    """build/browser/<test name>/, emptied first: one PNG per step of the test."""
    folder = SHOTS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder
