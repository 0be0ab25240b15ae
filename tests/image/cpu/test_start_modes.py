"""Every start mode the README lists serves Jupyter without root: the default, NB_UID as root,
any UID (OpenShift's random UID with GID 0, or a UID with the notebook group added), a read-only
root, all capabilities dropped. In each (start_modes.py defines them, for the other tests that
run in every mode too), the container turns healthy, Jupyter answers with the token, a notebook
saved through the contents API lands in the mounted working directory, Jupyter's terminal knows
the user, and JupyterLab's settings can be saved. The NB_UID path (as root) names the
capabilities it needs when they are missing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from start_modes import BY_NAME, MODES, NB_UID_CAPS, StartMode, param, terminal_output

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a host dir away")

NOTEBOOK = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def assert_serves_and_saves(container, work: Path, uid: int) -> None:
    """Healthy, /api/status with the token, a notebook saved into the mounted dir as `uid`."""
    code, body = container.api("/api/status", token=container.token)
    assert code == 200, body
    put = container.host.run(
        "curl -s -o /tmp/put -w '%%{http_code}' -X PUT -H %s -d %s "
        "http://127.0.0.1:8888/api/contents/saved.ipynb",
        f"Authorization: token {container.token}",
        json.dumps({"type": "notebook", "content": NOTEBOOK}),
    )
    assert put.stdout == "201", container.host.run("cat /tmp/put").stdout + container.logs()
    saved = work / "saved.ipynb"
    assert json.loads(saved.read_text())["nbformat"] == 4
    assert saved.stat().st_uid == uid


@pytest.mark.parametrize("mode", MODES)
def test_serves_and_saves_into_the_working_directory(start_mode, mode: StartMode):
    started = start_mode(mode)
    assert_serves_and_saves(started.container, started.work, mode.uid)


@pytest.mark.parametrize("mode", MODES)
def test_jupyters_terminal_knows_the_user(start_mode, mode: StartMode):
    """Jupyter's terminal is bash with Debian's prompt (user@host), and the UID has a name and
    a home: `whoami` answers, and the prompt does not say "I have no name!"."""
    container = start_mode(mode).container
    screen = terminal_output(container, 'echo "uid=$(id -u) user=$(whoami) home=$HOME"')
    assert "I have no name" not in screen and "cannot find name" not in screen, screen
    assert f"uid={mode.uid} user=analyst home=/home/analyst" in screen, screen
    assert "analyst@" in screen, f"no bash prompt with the user's name: {screen}"


@pytest.mark.parametrize("mode", MODES)
def test_lab_settings_can_be_saved_into_the_home_or_scratch(start_mode, mode: StartMode):
    """What JupyterLab writes when a user changes a setting (here the theme): into the home, or
    under /tmp/analyst where the home is not writable (read-only root, GID 0)."""
    container = start_mode(mode).container
    result = container.host.run(
        "curl -s -o /tmp/put -w '%%{http_code}' -X PUT -H %s -d %s "
        "http://127.0.0.1:8888/lab/api/settings/@jupyterlab/apputils-extension:themes",
        f"Authorization: token {container.token}",
        json.dumps({"raw": json.dumps({"theme": "JupyterLab Dark"})}),
    )
    assert result.stdout == "204", container.host.run("cat /tmp/put").stdout
    settings = container.host.file(f"{mode.scratch}/.jupyter/lab/user-settings/@jupyterlab")
    assert settings.is_directory and settings.uid == mode.uid


@pytest.mark.parametrize("mode", [param(BY_NAME["read-only-root"])])
def test_read_only_root_is_read_only(start_mode, mode: StartMode):
    assert start_mode(mode).host.run("touch /home/analyst/x").rc != 0


@pytest.mark.parametrize("mode", [param(BY_NAME["least-privilege"])])
def test_least_privilege_runs_with_no_capability(start_mode, mode: StartMode):
    host = start_mode(mode).host
    assert host.check_output("grep CapEff /proc/1/status").split()[1] == "0" * 16


@pytest.mark.same_on_every_platform
@pytest.mark.parametrize("missing", [["DAC_OVERRIDE"], NB_UID_CAPS])
def test_nb_uid_path_without_its_capabilities_stops_naming_the_missing_ones(
    start_container, missing: list[str]
):
    container = start_container(
        user="root",
        environment={"NB_UID": "1234"},
        cap_drop=["ALL"],
        cap_add=[cap for cap in NB_UID_CAPS if cap not in missing],
    )
    status = container.container.wait(timeout=30)
    log = container.logs()
    assert status["StatusCode"] != 0, log
    assert f"missing: {' '.join(missing)}." in log, log
    assert " ".join(f"--cap-add {cap}" for cap in missing) in log, log
    assert "Traceback" not in log and "usermod" not in log, log
