"""An analyst's day in JupyterLab, in a real browser (Debian's chromium, Playwright).

The cpu image starts as the README says (`docker run -p 127.0.0.1:PORT:8888 -e JUPYTER_TOKEN=...`)
with the analyst's home on a named volume. In the browser: the launcher, a new notebook, and
cells typed key by key and run with Shift+Enter: the usual imports, a plot with a Japanese title
and labels after `sns.set_theme()`, a DataFrame with Japanese columns, MeCab, `%pip install` of a
wheel the test made (copied into the container: no index is asked) and its import in the same
kernel, a `tqdm.auto` loop (a widget), a Parquet round trip; Ctrl+S, checked on disk. Then a
terminal: `python -c 'import pandas'`, `which python pip jupyter`, `pip list`. Then the
container is replaced by a new one on the same volume: the notebook opens again and the package
installed in the morning still imports.

Any warning or error an analyst would see fails it: stderr output areas, "Warning", "Error",
tracebacks, a glyph missing from the font, pop-ups. Every step is walked even when an earlier
one failed, so one run lists everything that is wrong; a screenshot of each step goes to
build/browser/<test>/ (CI artifacts), with steps.txt saying what each step found.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from support import make_wheel

from harness import workplace

PROBE = "analyst-day-probe"  # the package the analyst installs: made by the test, not an index's
NOTEBOOK = "analyst-day.ipynb"

IMPORTS = """\
import numpy as np
import pandas as pd
import sklearn
import matplotlib.pyplot as plt
import seaborn as sns
import lightgbm as lgb
print("imports ok", np.__version__, pd.__version__, sklearn.__version__, lgb.__version__)"""

PLOT = """\
sns.set_theme()
fig, ax = plt.subplots(figsize=(5, 3))
ax.bar(["東京", "大阪", "名古屋"], [3.2, 2.1, 1.4])
ax.set_title("都市別の売上")
ax.set_xlabel("都市")
ax.set_ylabel("売上（億円）")
plt.show()"""

DATAFRAME = """\
df = pd.DataFrame({"名前": ["佐藤", "鈴木", "高橋"], "売上": [120, 340, 560]})
df["地域"] = ["東京", "大阪", "名古屋"]
df"""

MECAB = """\
import MeCab
print(MeCab.Tagger().parse("すもももももももものうち"))"""

IMPORT_PROBE = """\
import analyst_day_probe
print(analyst_day_probe.hello())"""

TQDM = """\
from tqdm.auto import tqdm
import time
for i in tqdm(range(30)): time.sleep(0.01)
print("loop done")"""

PARQUET = """\
df.to_parquet("sales.parquet")
back = pd.read_parquet("sales.parquet")
print("parquet ok", back.equals(df), list(back.columns))"""


class Day:
    """The walk's steps: each one's problems are noted and the walk goes on; a screenshot
    after each step."""

    def __init__(self, shots: Path) -> None:
        self.shots = shots
        self.lab: workplace.Lab | None = None
        self.problems: list[str] = []
        self.log: list[str] = []

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        before = len(self.problems)
        try:
            yield
        except Exception as exc:  # noqa: BLE001 (a timeout or a failed check: note it, go on)
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            self.problems.append(f"{name}: {type(exc).__name__}: {first_line}")
        finally:
            if self.lab is not None:
                with contextlib.suppress(Exception):
                    self.lab.screenshot(name)
            found = self.problems[before:]
            self.log.append(
                f"{name}: {time.monotonic() - start:.1f} s, "
                + ("ok" if not found else "FAILED\n    " + "\n    ".join(found))
            )

    def check(self, name: str, ok: bool, message: str) -> None:
        if not ok:
            self.problems.append(f"{name}: {message}")

    def cell(self, name: str, code: str, expect: str | re.Pattern | None = None) -> workplace.Cell:
        """Type and run a cell in its own step; its output must hold `expect` (a string or a
        pattern) and nothing an analyst reads as trouble."""
        assert self.lab is not None
        cell = workplace.Cell(typed=code, source="", prompt="")
        with self.step(name):
            cell, _ = self.lab.run_cell(code)
            for trouble in cell.trouble():
                self.problems.append(f"{name}: {trouble}")
            if isinstance(expect, str):
                self.check(name, expect in cell.text, f"output lacks {expect!r}: {cell.text!r}")
            elif expect is not None:
                self.check(name, bool(expect.search(cell.text)), f"output: {cell.text!r}")
        return cell

    def write_log(self) -> None:
        (self.shots / "steps.txt").write_text("\n".join(self.log) + "\n")


def brief(problem: str, width: int = 300) -> str:
    """A problem in a line or two (steps.txt beside the screenshots has it whole)."""
    flat = " | ".join(line.strip() for line in problem.splitlines() if line.strip())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


def start_server(
    docker_client: docker.DockerClient, image: str, token: str, volume: str, started: list
) -> workplace.Server:
    server = workplace.run_server(image, token, volume=volume)
    started.append(server)
    workplace.wait_healthy(docker_client, server)
    return server


def test_an_analysts_day_in_jupyterlab(
    browser, shots: Path, docker_client: docker.DockerClient, image_ref: str, tmp_path: Path
) -> None:
    token = secrets.token_hex(16)
    volume = docker_client.volumes.create(f"analyst-day-{token[:12]}").name
    wheel = make_wheel(
        tmp_path, PROBE, "1.0", source="def hello():\n    return 'probe 1.0 from the home'\n"
    )
    started: list[workplace.Server] = []
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    day = Day(shots)
    begin = time.monotonic()
    try:
        server = start_server(docker_client, image_ref, token, volume, started)
        wheel_path = workplace.put_file(docker_client, server, wheel, "/tmp/wheels")
        # xterm draws on a canvas: its screen-reader rows are where the test reads the terminal
        workplace.put_lab_setting(
            server, "@jupyterlab/terminal-extension:plugin", '{"screenReaderMode": true}'
        )
        day.lab = lab = workplace.Lab(context.new_page(), server, shots)

        with day.step("launcher"):
            lab.open()
        with day.step("new-notebook"):
            lab.new_notebook()
        day.cell("imports", IMPORTS, "imports ok")
        plot = day.cell("japanese-plot", PLOT)
        day.check("japanese-plot", plot.images == 1, f"{plot.images} images drawn, not 1")
        frame = day.cell("japanese-dataframe", DATAFRAME)
        day.check(
            "japanese-dataframe",
            {"名前", "売上", "地域"} <= set(frame.table_headers),
            f"the table's headers are {frame.table_headers}",
        )
        day.cell("mecab", MECAB, re.compile(r"すもも\s+名詞.*\n.*も\s+助詞"))
        day.cell("pip-install", f"%pip install {wheel_path}", f"Successfully installed {PROBE}")
        day.cell("import-installed", IMPORT_PROBE, "probe 1.0 from the home")
        loop = day.cell("tqdm", TQDM, "loop done")
        day.check("tqdm", loop.widgets == 1, "tqdm.auto drew no progress widget")
        day.cell("parquet", PARQUET, "parquet ok True ['名前', '売上', '地域']")

        saved = NOTEBOOK
        with day.step("save"):
            saved = lab.save(NOTEBOOK)
            path = f"{workplace.WORK_DIR}/{saved}"
            raw = workplace.read_file(docker_client, server, path)
            assert raw is not None, f"{path} is not on disk after Ctrl+S"
            cells = json.loads(raw)["cells"]
            sources = ["".join(cell["source"]) for cell in cells]
            assert MECAB in sources and IMPORTS in sources, f"{path}'s cells: {sources}"
            outputs = json.dumps([cell.get("outputs") for cell in cells], ensure_ascii=False)
            assert "すもも\\t名詞" in outputs, f"{path} lacks MeCab's output"
        with day.step("no-pop-ups"):
            assert lab.toasts() == [], f"pop-ups on the page: {lab.toasts()}"

        with day.step("terminal"):
            lab.open_terminal()
        with day.step("terminal-import-pandas"):
            rows = lab.terminal_run("python -c 'import pandas' && echo pandas imports")
            assert rows == ["pandas imports"], rows
        with day.step("terminal-which"):
            rows = lab.terminal_run("which python pip jupyter")
            expected = [f"/opt/venv/bin/{name}" for name in ("python", "pip", "jupyter")]
            assert rows == expected, f"`which python pip jupyter` printed {rows}"
        with day.step("terminal-pip-list"):
            # stderr is not piped: a warning or notice of pip's would show on the screen
            rows = lab.terminal_run("pip list | grep -iE '^(pandas|lightgbm|analyst-day-probe) '")
            names = sorted(row.split()[0].lower() for row in rows if row.strip())
            assert names == ["analyst-day-probe", "lightgbm", "pandas"], rows
        with day.step("no-pop-ups-at-the-end"):
            assert lab.toasts() == [], f"pop-ups on the page: {lab.toasts()}"

        # the next morning: a new container on the same home volume
        with day.step("restart"):
            workplace.remove_server(docker_client, server)
            server = start_server(docker_client, image_ref, token, volume, started)
            lab.server = server
            lab.open(f"lab/tree/{saved}")
            lab.wait_kernel_idle()
            assert lab.document_name() == saved, f"{saved} opened as {lab.document_name()}"
            sources = [lab.read_cell(i).source for i in range(lab.cell_count())]
            assert MECAB in sources, f"the reopened notebook's cells: {sources}"
        day.cell("import-installed-after-restart", IMPORT_PROBE, "probe 1.0 from the home")
    finally:
        day.log.append(f"whole day: {time.monotonic() - begin:.1f} s")
        day.write_log()
        context.close()
        for server in started:
            workplace.remove_server(docker_client, server)
        workplace.remove_volume(docker_client, volume)
    if day.problems:
        pytest.fail(
            f"{len(day.problems)} problem(s) in the analyst's day (screenshots: {shots}):\n"
            + "\n".join(brief(problem) for problem in day.problems),
            pytrace=False,
        )
