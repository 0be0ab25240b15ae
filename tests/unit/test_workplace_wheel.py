"""The wheel the browser test installs with %pip is made by the test itself: pip accepts it."""

import subprocess
import sys
from pathlib import Path

import pytest

workplace = pytest.importorskip("imagectl.workplace", reason="Playwright (.[dev]) is missing")


def test_made_wheel_installs_and_imports(tmp_path: Path) -> None:
    wheel = workplace.make_wheel(tmp_path, "analyst-day-probe", "1.0", "VALUE = 42\n")
    assert wheel.name == "analyst_day_probe-1.0-py3-none-any.whl"
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
         "--disable-pip-version-check", "--target", str(target), str(wheel)],
        check=True,
    )  # fmt: skip
    found = subprocess.run(
        [sys.executable, "-c", "import analyst_day_probe; print(analyst_day_probe.VALUE)"],
        env={"PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout.strip() == "42"
    assert (target / "analyst_day_probe-1.0.dist-info" / "RECORD").is_file()
