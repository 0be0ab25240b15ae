"""An analyst's workplace in a real browser: the image started as the README says
(`docker run -p 127.0.0.1:PORT:8888 -e JUPYTER_TOKEN=... [-v VOLUME:/home/analyst] IMAGE`) and
JupyterLab driven in Debian's `chromium` by Playwright's Python client, the way a person uses
it: the launcher's cards, keys typed into a cell, Shift+Enter, Ctrl+S, keys typed into a
terminal. What the page shows is read from the page (a cell's editor and outputs, the status
bar, the terminal's rows).

Chromium and the Noto CJK fonts (so screenshots show Japanese, not boxes) come from Debian's
archive, installed on demand as root like the Docker engine; Playwright's own browser download
is never used (`executable_path`). A test harness (Playwright is a dev extra): used by
tests/browser/ and scripts/bench_workplace.py, never by an `imagectl` command.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors
import requests
from playwright.sync_api import Browser, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from imagectl import host
from imagectl.errors import ImageToolError

CHROMIUM = "/usr/bin/chromium"
CJK_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
HOME = "/home/analyst"
WORK_DIR = f"{HOME}/work"  # the image's working directory: Jupyter's root
HEALTHY_TIMEOUT_S = 60
PAGE_TIMEOUT_MS = 20_000  # one action on the page
PAGE_LOAD_TIMEOUT_MS = 30_000  # JupyterLab drawn after the navigation (~4 s here, 10 s loaded)
# the status bar's kernel item once the kernel has started and answered
KERNEL_IDLE = re.compile(r"\(ipykernel\) \| Idle")
# an output an analyst reads as trouble
TROUBLE = re.compile(r"warning|error|traceback|missing from font|exception", re.IGNORECASE)
STDERR = "application/vnd.jupyter.stderr"
# the main area's current tab (the left and right sidebars have tab bars too)
MAIN_TAB_ITEM = "#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current"
MAIN_TAB = f"{MAIN_TAB_ITEM} .lm-TabBar-tabLabel"


class WorkplaceError(ImageToolError):
    """The container or the browser could not be started, or the page never came up."""


def ensure_browser() -> str:
    """Debian's chromium (and CJK fonts for it), installed as root when missing."""
    host.ensure_debian_packages(
        {"chromium": "chromium", "fonts-noto-cjk": CJK_FONT},
        "the browser test and bench of JupyterLab (Debian's chromium, driven by Playwright)",
    )
    return shutil.which("chromium") or CHROMIUM


def launch(playwright, executable: str) -> Browser:  # noqa: ANN001 (a Playwright instance)
    """Headless Debian chromium; as root it needs --no-sandbox."""
    return playwright.chromium.launch(
        executable_path=executable, args=["--no-sandbox", "--disable-dev-shm-usage"]
    )


def docker_cli() -> str:
    return os.environ.get("DOCKER", "docker")


# ---- the container ---------------------------------------------------------------------------


@dataclass
class Server:
    """One container of the image serving JupyterLab on a loopback port."""

    id: str
    port: int
    token: str
    started: float  # time.monotonic() just before `docker run`

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def run_server(image: str, token: str, volume: str | None = None, port: int = 0) -> Server:
    """`docker run -d -p 127.0.0.1:PORT:8888 -e JUPYTER_TOKEN=...` (the README's command, on
    loopback), with the named volume as the analyst's home when given."""
    port = port or host.free_port()
    args = [docker_cli(), "run", "-d", "-p", f"127.0.0.1:{port}:8888"]
    args += ["-e", f"JUPYTER_TOKEN={token}"]
    if volume:
        args += ["-v", f"{volume}:{HOME}"]
    started = time.monotonic()
    run = subprocess.run([*args, image], capture_output=True, text=True)
    if run.returncode != 0:
        raise WorkplaceError(f"docker run {image} failed: {run.stderr.strip()}")
    return Server(run.stdout.strip(), port, token, started)


def wait_healthy(client: docker.DockerClient, server: Server) -> float:
    """Seconds from `docker run` to the engine reporting the container healthy (20 ms polls)."""
    while time.monotonic() < server.started + HEALTHY_TIMEOUT_S:
        state = client.api.inspect_container(server.id)["State"]
        if state.get("Health", {}).get("Status") == "healthy":
            return time.monotonic() - server.started
        if state["Status"] == "exited":
            break
        time.sleep(0.02)
    logs = client.api.logs(server.id).decode(errors="replace")
    raise WorkplaceError(f"container {server.id[:12]} not healthy; its log:\n{logs[-3000:]}")


def remove_server(client: docker.DockerClient, server: Server) -> None:
    with contextlib.suppress(docker.errors.NotFound):
        client.api.remove_container(server.id, force=True)


def remove_volume(client: docker.DockerClient, name: str) -> None:
    with contextlib.suppress(docker.errors.NotFound):
        client.api.remove_volume(name, force=True)


def put_file(client: docker.DockerClient, server: Server, source: Path, directory: str) -> str:
    """Copy a host file into the running container (docker's put_archive), owned by the
    analyst; returns its path there."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        folder = tarfile.TarInfo(directory.strip("/"))
        folder.type, folder.mode, folder.uid, folder.gid = tarfile.DIRTYPE, 0o755, 1000, 1000
        tar.addfile(folder)
        info = tar.gettarinfo(str(source), arcname=f"{directory.strip('/')}/{source.name}")
        info.uid = info.gid = 1000
        with source.open("rb") as data:
            tar.addfile(info, data)
    client.api.put_archive(server.id, "/", buffer.getvalue())
    return f"{directory.rstrip('/')}/{source.name}"


def read_file(client: docker.DockerClient, server: Server, path: str) -> bytes | None:
    """A file's bytes from the container, or None when it is not there."""
    try:
        stream, _ = client.api.get_archive(server.id, path)
    except docker.errors.NotFound:
        return None
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        member = tar.next()
        extracted = tar.extractfile(member) if member else None
        return extracted.read() if extracted else None


def put_lab_setting(server: Server, plugin: str, raw: str) -> None:
    """Save a JupyterLab user setting through the server's settings API (as the Settings
    editor does)."""
    response = requests.put(
        f"{server.url}/lab/api/settings/{plugin}",
        json={"raw": raw},
        headers={"Authorization": f"token {server.token}"},
        timeout=10,
    )
    if response.status_code not in (200, 204):
        raise WorkplaceError(f"saving {plugin}'s settings: HTTP {response.status_code}")


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=0.5).status_code == 200
    except requests.RequestException:
        return False


# ---- the page --------------------------------------------------------------------------------


@dataclass
class Cell:
    """A code cell as the page shows it after it ran."""

    typed: str  # what was typed
    source: str  # what the cell's editor holds
    prompt: str  # "[3]:"
    outputs: list[tuple[str, str]] = field(default_factory=list)  # (MIME type, text)
    images: int = 0
    widgets: int = 0
    table_headers: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(text for _, text in self.outputs)

    def trouble(self) -> list[str]:
        """What an analyst would read as a warning or an error in this cell."""
        found = []
        if self.source.strip() != self.typed.strip():
            at = next(
                (
                    i
                    for i, (a, b) in enumerate(zip(self.source, self.typed, strict=False))
                    if a != b
                ),
                min(len(self.source), len(self.typed)),
            )
            found.append(
                f"the editor holds other text than was typed, from character {at}:"
                f" {self.source[max(0, at - 10) : at + 30]!r}"
                f" where {self.typed[max(0, at - 10) : at + 30]!r} was typed"
            )
        for mime, text in self.outputs:
            if mime == STDERR or TROUBLE.search(text):
                kind = "stderr output" if mime == STDERR else f"{mime} output"
                found.append(f"{kind}: {text.strip()[:600]}")
        return found


class Lab:
    """JupyterLab in one browser page, with a screenshot per step under `shots`."""

    def __init__(self, page: Page, server: Server, shots: Path | None = None) -> None:
        self.page = page
        self.server = server
        self.shots = shots
        self.shot_count = 0
        page.set_default_timeout(PAGE_TIMEOUT_MS)

    def screenshot(self, name: str) -> Path | None:
        if self.shots is None:
            return None
        self.shots.mkdir(parents=True, exist_ok=True)
        self.shot_count += 1
        path = self.shots / f"{self.shot_count:02d}-{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def open(self, path: str = "lab", timeout: float = HEALTHY_TIMEOUT_S) -> None:
        """Go to the server's page once Jupyter answers (asked every 20 ms: a browser's
        navigation to a port that docker-proxy accepts before Jupyter listens fails slowly),
        and wait for JupyterLab's shell to show the launcher or the document the path names."""
        deadline = time.monotonic() + timeout
        while not _answers(f"{self.server.url}/api"):
            if time.monotonic() > deadline:
                raise WorkplaceError(f"{self.server.url} never answered")
            time.sleep(0.02)
        url = f"{self.server.url}/{path}?token={self.server.token}"
        response = self.page.goto(url, wait_until="commit")
        if response is None or not response.ok:
            raise WorkplaceError(f"{url}: {response.status if response else 'no response'}")
        target = ".jp-LauncherCard" if path == "lab" else ".jp-Notebook .jp-Cell"
        self.page.locator(target).first.wait_for(timeout=PAGE_LOAD_TIMEOUT_MS)

    def new_launcher(self) -> None:
        self.page.keyboard.press("Escape")
        self.page.keyboard.press("Control+Shift+L")
        self.page.locator(".jp-Launcher").last.wait_for()

    def new_notebook(self) -> float:
        """Click the launcher's Python 3 notebook card; seconds until the status bar says the
        kernel is idle."""
        card = self.page.locator('.jp-LauncherCard[data-category="Notebook"]').last
        start = time.monotonic()
        card.click()
        self.wait_kernel_idle()
        return time.monotonic() - start

    def wait_kernel_idle(self, timeout_ms: int = 60_000) -> None:
        self.page.locator(".jp-StatusBar-TextItem", has_text=KERNEL_IDLE).first.wait_for(
            timeout=timeout_ms
        )

    def cell_count(self) -> int:
        return self.page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-CodeCell").count()

    def run_cell(self, code: str, timeout_ms: int = 60_000) -> tuple[Cell, float]:
        """Type `code` into the notebook's last cell (a new one below if that one has text),
        run it with Shift+Enter, and read it back once its prompt has a number. Returns it and
        the seconds from the key press to the number."""
        cells = self.page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell")
        last = cells.last
        editor = last.locator(".cm-content")
        if editor.inner_text().strip():
            last.click()
            self.page.keyboard.press("Escape")
            self.page.keyboard.press("b")  # command mode: insert a cell below
            last = cells.last
            editor = last.locator(".cm-content")
        editor.click()
        self.page.keyboard.type(code)
        index = cells.count() - 1
        start = time.monotonic()
        self.page.keyboard.press("Shift+Enter")
        prompt = cells.nth(index).locator(".jp-InputPrompt")
        self.page.wait_for_function(
            "el => /\\[\\d+\\]/.test(el.innerText)", arg=prompt.element_handle(),
            timeout=timeout_ms,
        )  # fmt: skip
        elapsed = time.monotonic() - start
        self.wait_kernel_idle(timeout_ms)
        return self.read_cell(index, code), elapsed

    def read_cell(self, index: int, typed: str = "") -> Cell:
        cell = self.page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell").nth(index)
        seen = cell.evaluate(
            """el => ({
              source: [...el.querySelectorAll('.cm-content .cm-line')].map(l => l.innerText)
                .join('\\n').replace(/\\u00a0/g, ' '),
              prompt: el.querySelector('.jp-InputPrompt')?.innerText ?? '',
              outputs: [...el.querySelectorAll('.jp-OutputArea-output')].map(o => [
                o.dataset.mimeType || '', o.innerText]),
              images: el.querySelectorAll('.jp-OutputArea-output img').length,
              widgets: el.querySelectorAll('.jp-OutputArea-output .widget-progress,'
                + ' .jp-OutputArea-output .jupyter-widgets.widget-hprogress').length,
              headers: [...el.querySelectorAll('.jp-OutputArea-output table th')]
                .map(h => h.innerText),
            })"""
        )
        return Cell(
            typed=typed,
            source=seen["source"].replace("\u200b", ""),
            prompt=seen["prompt"],
            outputs=[(mime, text) for mime, text in seen["outputs"]],
            images=seen["images"],
            widgets=seen["widgets"],
            table_headers=seen["headers"],
        )

    def document_name(self) -> str:
        """The name on the main area's current tab (the open document's file name)."""
        return self.page.locator(MAIN_TAB).first.inner_text().strip()

    def save(self, name: str) -> str:
        """Ctrl+S, the way a person saves; if JupyterLab asks for a name (its first-save
        rename dialog) it gets `name`. Returns the file's name once the tab shows it with no
        unsaved changes."""
        self.page.keyboard.press("Escape")
        self.page.keyboard.press("Control+s")
        dialog = self.page.locator(".jp-Dialog")
        try:
            dialog.wait_for(timeout=3000)
        except PlaywrightTimeout:
            name = self.document_name()  # no dialog: saved under the name it has
        else:
            dialog.locator("input").first.fill(name)
            dialog.locator(".jp-mod-accept").first.click()
            dialog.wait_for(state="detached")
            # the tab takes the new name once the server has renamed the file
            self.page.locator(MAIN_TAB, has_text=name).first.wait_for()
        self.page.locator(f"{MAIN_TAB_ITEM}.jp-mod-dirty").first.wait_for(state="detached")
        return name

    def open_terminal(self) -> None:
        """A new launcher (Ctrl+Shift+L) and its Terminal card; waits for the shell's prompt."""
        self.new_launcher()
        self.page.locator('.jp-LauncherCard[title="Start a new terminal session"]').last.click()
        self.page.locator(".jp-Terminal .xterm").last.wait_for()
        self.wait_terminal(lambda lines: bool(lines) and lines[-1].endswith(("$", "#")))

    def terminal_rows(self) -> list[str]:
        """The terminal's screen rows (xterm's screen-reader rows: its canvas has no text)."""
        text = self.page.locator(".jp-Terminal:visible .xterm-accessibility-tree").last.inner_text()
        rows = [row.replace("\u00a0", " ").rstrip() for row in text.split("\n")]
        while rows and not rows[-1]:
            rows.pop()
        return rows

    def wait_terminal(self, done, timeout: float = 30) -> list[str]:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = self.terminal_rows()
            if done(rows):
                return rows
            time.sleep(0.1)
        raise WorkplaceError("the terminal did not show what was waited for:\n" + "\n".join(rows))

    def terminal_run(self, command: str, timeout: float = 60) -> list[str]:
        """Clear the screen, type `command` and Enter; the rows it printed once the prompt is
        back."""
        self.page.locator(".jp-Terminal:visible .xterm").last.click()
        self.page.keyboard.type("clear\n")
        self.wait_terminal(lambda rows: len(rows) == 1 and rows[0].endswith(("$", "#")))
        self.page.keyboard.type(command + "\n")
        rows = self.wait_terminal(
            lambda rows: len(rows) >= 2 and rows[-1].endswith(("$", "#")), timeout
        )
        return rows[1:-1]

    def toasts(self) -> list[str]:
        """The texts of notifications on the page now (JupyterLab's pop-ups)."""
        toasts = self.page.locator(".Toastify__toast, .jp-Notification-Toast")
        return [text.strip() for text in toasts.all_inner_texts() if text.strip()]
