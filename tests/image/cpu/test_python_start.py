"""The venv's Python starts light: analysis_template_site.pth runs at every start (every
`python`, `pip`, kernel and Jupyter server), so it may add its finder but no heavy import.
`importlib.abc` pulled in `importlib.resources` and cost ~30-45 ms of a ~14 ms start."""

import pytest

pytestmark = pytest.mark.same_on_every_platform  # the same Python files on every platform


def _imported_at_start(host) -> set[str]:
    # -X importtime writes one line per module imported: "import time: self | cumulative | name"
    result = host.run("python -X importtime -c pass")
    assert result.rc == 0, result.stderr
    return {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def test_the_start_up_hook_runs_and_imports_nothing_heavy(host) -> None:
    imported = _imported_at_start(host)
    assert "analysis_template_site" in imported
    heavy = imported & {"importlib.abc", "importlib.resources", "importlib.metadata", "typing"}
    assert heavy == set(), f"imported at every Python start: {sorted(heavy)}"
