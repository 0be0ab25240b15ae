"""The start modes of the README's table ("Start modes"), defined once for every test that must
hold in each of them (test_start_modes.py, test_shells.py, test_runtime_installs.py), and what
those tests do inside a mode's container: type into Jupyter's terminal, run code in a kernel
that Jupyter started.

`MODES` parametrizes a test over the modes; the fixture `start_mode` (conftest.py) gives a mode's
container, started once per session with a host dir as its working directory and shared by the
tests, so each mode costs one container start."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

WORK = "/home/analyst/work"
USERS_GID = 100  # Debian's `users`, the image's notebook group
NB_UID_CAPS = ["CHOWN", "DAC_OVERRIDE", "SETGID", "SETUID"]


@dataclass(frozen=True)
class StartMode:
    name: str
    uid: int  # the notebook user's UID in it
    work: tuple[int, int, int]  # (uid, gid, mode) of the host dir mounted as the working dir
    options: dict = field(default_factory=dict)  # docker run's, beyond that mount
    home_writable: bool = True  # else start.sh sends run-time writes to /tmp/analyst (SCRATCH)
    # also run for another platform's image under QEMU (~1 min a start): only where the
    # platform's own code matters (nss_wrapper for a UID without a name); the rest is start.sh
    emulated_too: bool = False

    @property
    def scratch(self) -> str:
        """Where the user's run-time files go: the home, or /tmp/analyst."""
        return "/home/analyst" if self.home_writable else "/tmp/analyst"


START_MODES = [
    StartMode("default", 1000, (1000, 1000, 0o755)),
    # NB_UID as root, with only the capabilities start.sh names (Docker's default set has them)
    StartMode(
        "nb-uid",
        1234,
        (1234, 2345, 0o755),
        {
            "user": "root",
            "environment": {"NB_UID": "1234", "NB_GID": "2345"},
            "cap_drop": ["ALL"],
            "cap_add": NB_UID_CAPS,
            "security_opt": ["no-new-privileges"],
        },
    ),
    StartMode("any-uid-gid-0", 12345, (0, 0, 0o770), {"user": "12345:0"}, False, emulated_too=True),
    StartMode(
        "any-uid-users",
        12345,
        (4321, USERS_GID, 0o2770),
        {"user": "12345:12345", "group_add": ["users"]},
    ),
    StartMode(
        "read-only-root",
        1000,
        (1000, 1000, 0o755),
        {"read_only": True, "tmpfs": {"/tmp": ""}},
        home_writable=False,
    ),
    StartMode(
        "least-privilege",
        1000,
        (1000, 1000, 0o755),
        {"cap_drop": ["ALL"], "security_opt": ["no-new-privileges"]},
    ),
]
BY_NAME = {mode.name: mode for mode in START_MODES}


def param(mode: StartMode):
    marks = () if mode.emulated_too else (pytest.mark.same_on_every_platform,)
    return pytest.param(mode, id=mode.name, marks=marks)


MODES = [param(mode) for mode in START_MODES]


@dataclass
class Started:
    """A mode's running container and the host dir mounted as its working directory."""

    mode: StartMode
    container: object  # support.Container
    work: Path

    @property
    def host(self):
        return self.container.host


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


def terminal_output(container, command: str) -> str:
    """What Jupyter's terminal shows for `command`, typed into a new terminal."""
    result = container.host.run(
        "python -c %s %s %s", IN_JUPYTERS_TERMINAL, container.token, command
    )
    assert result.rc == 0, result.stderr + container.logs()
    return result.stdout


# A notebook's kernel, as the browser drives it: start one through Jupyter's REST API (so it
# has the environment start.sh gave Jupyter), send each cell over its websocket, and collect
# per cell the stdout, stderr, errors and the MIME types displayed.
IN_A_KERNEL = r"""
import asyncio, json, sys, urllib.request, uuid
from tornado.websocket import websocket_connect
token, cells = sys.argv[1], json.loads(sys.argv[2])
base = "http://127.0.0.1:8888/api/kernels"
headers = {"Authorization": f"token {token}"}
kernel = json.load(urllib.request.urlopen(
    urllib.request.Request(base, method="POST", headers=headers)))["id"]
async def main():
    ws = await websocket_connect(f"ws://127.0.0.1:8888/api/kernels/{kernel}/channels?token={token}")
    session, results = uuid.uuid4().hex, []
    for code in cells:
        msg_id = uuid.uuid4().hex
        ws.write_message(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": session,
                       "username": "test", "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": code, "silent": False, "store_history": True,
                        "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}))
        out = {"stdout": "", "stderr": "", "errors": [], "mime": []}
        while True:
            message = json.loads(await asyncio.wait_for(ws.read_message(), 120))
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                out[content["name"]] += content["text"]
            elif kind == "error":
                out["errors"].append(f"{content['ename']}: {content['evalue']}")
            elif kind in ("display_data", "execute_result"):
                out["mime"] += list(content["data"])
                out["stdout"] += content["data"].get("text/plain", "") + "\n"
            elif kind == "status" and content["execution_state"] == "idle":
                break
        results.append(out)
    print(json.dumps(results))
asyncio.run(main())
urllib.request.urlopen(urllib.request.Request(f"{base}/{kernel}", method="DELETE", headers=headers))
"""


def run_in_kernel(container, *cells: str) -> list[dict]:
    """[{stdout, stderr, errors, mime}] of each cell, run in order in one new kernel."""
    result = container.host.run(
        "python -c %s %s %s", IN_A_KERNEL, container.token, json.dumps(list(cells))
    )
    assert result.rc == 0, result.stderr + container.logs()
    return json.loads(result.stdout)
