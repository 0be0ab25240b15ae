"""Parts of the browser test that need no browser: the wheel it installs with %pip (made by
the test itself: pip accepts it), and what it reads as trouble in a cell."""

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


def test_a_cell_is_trouble_when_it_holds_other_text_than_was_typed() -> None:
    typed = "import numpy as np\nprint(1)"
    assert workplace.Cell(typed=typed, source=typed, prompt="[1]:").trouble() == []
    (found,) = workplace.Cell(typed=typed, source=typed[1:], prompt="[1]:").trouble()
    assert "from character 0: 'mport numpy" in found


def test_stderr_warnings_and_tracebacks_are_trouble_plain_output_is_not() -> None:
    def cell(*outputs: tuple[str, str]) -> workplace.Cell:
        return workplace.Cell(typed="x", source="x", prompt="[1]:", outputs=list(outputs))

    stdout = "application/vnd.jupyter.stdout"
    assert cell((stdout, "Successfully installed analyst-day-probe-1.0")).trouble() == []
    assert cell((workplace.STDERR, "  0%|  | 0/30")).trouble()
    assert cell((stdout, "UserWarning: Glyph 26481 missing from font(s) DejaVu Sans.")).trouble()
    assert cell((stdout, "ERROR: Could not install packages")).trouble()
    assert cell(("text/html", "Traceback (most recent call last)")).trouble()
