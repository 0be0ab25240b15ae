"""What the browser test reads as trouble in a cell, checked without a browser."""

from harness import workplace


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
