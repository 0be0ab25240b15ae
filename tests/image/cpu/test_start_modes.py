"""Every start mode the README lists serves Jupyter without root: any UID (OpenShift's random UID
with GID 0, or a UID with the notebook group added), a read-only root, all capabilities dropped.
In each, the container turns healthy, Jupyter answers with the token, a notebook saved through
the contents API lands in the mounted working directory, and Jupyter's terminal knows the user.
The NB_UID path (as root) names the capabilities it needs when they are missing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a host dir away")

WORK = "/home/analyst/work"
USERS_GID = 100  # Debian's `users`, the image's notebook group
NOTEBOOK = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}

# A Jupyter terminal, as the browser drives it: open one through the REST API, type a command
# into its websocket, read what the shell prints (prompt included) until the end marker.
IN_JUPYTERS_TERMINAL = r"""
import asyncio, json, sys, urllib.request
from tornado.websocket import websocket_connect
token, command = sys.argv[1], sys.argv[2]
request = urllib.request.Request(
    "http://127.0.0.1:8888/api/terminals", method="POST",
    headers={"Authorization": f"token {token}"})
name = json.load(urllib.request.urlopen(request))["name"]
async def main():
    ws = await websocket_connect(f"ws://127.0.0.1:8888/terminals/websocket/{name}?token={token}")
    ws.write_message(json.dumps(["stdin", command + "; echo END-OF-''OUTPUT\r"]))
    screen = ""
    while "END-OF-OUTPUT" not in screen:
        message = await asyncio.wait_for(ws.read_message(), 20)
        kind, *text = json.loads(message)
        screen += "".join(text) if kind == "stdout" else ""
    print(screen)
asyncio.run(main())
"""


def mounted_dir(tmp_path: Path, uid: int, gid: int, mode: int) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    os.chown(work, uid, gid)
    work.chmod(mode)
    return work


def assert_serves_and_saves(container, work: Path, uid: int) -> None:
    """Healthy, /api/status with the token, a notebook saved into the mounted dir as `uid`."""
    container.wait_healthy()
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


def terminal_output(container, command: str) -> str:
    result = container.host.run(
        "python -c %s %s %s", IN_JUPYTERS_TERMINAL, container.token, command
    )
    assert result.rc == 0, result.stderr + container.logs()
    return result.stdout


def assert_terminal_knows_the_user(container, uid: int) -> None:
    """Jupyter's terminal is bash with Debian's prompt (user@host), and the UID has a name and
    a home: `whoami` answers, and the prompt does not say "I have no name!"."""
    screen = terminal_output(container, 'echo "uid=$(id -u) user=$(whoami) home=$HOME"')
    assert "I have no name" not in screen and "cannot find name" not in screen, screen
    assert f"uid={uid} user=analyst home=/home/analyst" in screen, screen
    assert "analyst@" in screen, f"no bash prompt with the user's name: {screen}"


def assert_lab_settings_can_be_saved(container) -> None:
    """What JupyterLab writes when a user changes a setting (here the theme)."""
    result = container.host.run(
        "curl -s -o /tmp/put -w '%%{http_code}' -X PUT -H %s -d %s "
        "http://127.0.0.1:8888/lab/api/settings/@jupyterlab/apputils-extension:themes",
        f"Authorization: token {container.token}",
        json.dumps({"raw": json.dumps({"theme": "JupyterLab Dark"})}),
    )
    assert result.stdout == "204", container.host.run("cat /tmp/put").stdout


def test_any_uid_with_gid_0_serves_saves_and_has_a_named_user(start_container, tmp_path):
    work = mounted_dir(tmp_path, 0, 0, 0o770)  # the host dir: group 0 may write
    container = start_container(user="12345:0", volumes={str(work): {"bind": WORK, "mode": "rw"}})
    assert_serves_and_saves(container, work, 12345)
    assert_terminal_knows_the_user(container, 12345)
    assert_lab_settings_can_be_saved(container)  # under /tmp: GID 0 may not write the home


@pytest.mark.same_on_every_platform
def test_any_uid_with_the_notebook_group_serves_saves_and_writes_its_home(
    start_container, tmp_path
):
    work = mounted_dir(tmp_path, 4321, USERS_GID, 0o2770)
    container = start_container(
        user="12345:12345", group_add=["users"], volumes={str(work): {"bind": WORK, "mode": "rw"}}
    )
    assert_serves_and_saves(container, work, 12345)
    assert_terminal_knows_the_user(container, 12345)
    assert_lab_settings_can_be_saved(container)  # into the home, which is the group's
    settings = container.host.file("/home/analyst/.jupyter/lab/user-settings/@jupyterlab")
    assert settings.is_directory and settings.uid == 12345


@pytest.mark.same_on_every_platform
def test_read_only_root_with_tmpfs_tmp_serves_and_saves(start_container, tmp_path):
    work = mounted_dir(tmp_path, 1000, 1000, 0o755)
    container = start_container(
        read_only=True, tmpfs={"/tmp": ""}, volumes={str(work): {"bind": WORK, "mode": "rw"}}
    )
    assert_serves_and_saves(container, work, 1000)
    assert container.host.run("touch /home/analyst/x").rc != 0, "the root is not read-only"
    assert_lab_settings_can_be_saved(container)
    assert container.host.file("/tmp/analyst/.jupyter/lab/user-settings").is_directory
    assert_terminal_knows_the_user(container, 1000)


@pytest.mark.same_on_every_platform
def test_all_capabilities_dropped_and_no_new_privileges_serves_and_saves(start_container, tmp_path):
    work = mounted_dir(tmp_path, 1000, 1000, 0o755)
    container = start_container(
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        volumes={str(work): {"bind": WORK, "mode": "rw"}},
    )
    assert_serves_and_saves(container, work, 1000)
    assert container.host.check_output("grep CapEff /proc/1/status").split()[1] == "0" * 16
    assert_terminal_knows_the_user(container, 1000)


NB_UID_CAPS = ["CHOWN", "DAC_OVERRIDE", "SETGID", "SETUID"]


@pytest.mark.same_on_every_platform
def test_nb_uid_path_works_with_only_the_capabilities_it_names(start_container, tmp_path):
    work = mounted_dir(tmp_path, 1234, 2345, 0o755)
    container = start_container(
        user="root",
        environment={"NB_UID": "1234", "NB_GID": "2345"},
        cap_drop=["ALL"],
        cap_add=NB_UID_CAPS,
        security_opt=["no-new-privileges"],
        volumes={str(work): {"bind": WORK, "mode": "rw"}},
    )
    assert_serves_and_saves(container, work, 1234)
    assert_terminal_knows_the_user(container, 1234)


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
