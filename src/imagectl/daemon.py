"""The servers the tool starts and later stops (dockerd, the registry; next, JupyterHub and its
proxy): started detached with a log and a PID file, waited on until they answer, and stopped
only while /proc/<pid>/cmdline still shows that program. After a reboot or a crash the
recorded PID may belong to an unrelated process, which is then left alone."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from imagectl import proc


@dataclass(frozen=True)
class Daemon:
    """One server program the tool runs in the background, with its state in `state_dir`:
    `<name>.pid` and `<name>.log`. `program` is what its command line must contain."""

    name: str
    program: str
    state_dir: Path

    @property
    def pid_file(self) -> Path:
        return self.state_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.state_dir / f"{self.name}.log"

    def start(self, argv: Sequence[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        """Start `argv` in a session of its own (it outlives this command, like a service)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        print(f"starting {self.name} (log: {self.log_file})", file=sys.stderr, flush=True)
        proc.echo(argv)
        with open(self.log_file, "ab") as log:
            server = subprocess.Popen(
                list(argv),
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        self.pid_file.write_text(f"{server.pid}\n")
        return server

    @staticmethod
    def wait_ready(server: subprocess.Popen, ready: Callable[[], bool], timeout_s: float) -> bool:
        """Poll `ready` until it is true (True), the timeout passes or `server`, as `start`
        returned it, exits (False)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if ready():
                return True
            if server.poll() is not None:
                return False
            time.sleep(0.1)
        return False

    def log_tail(self, lines: int = 5) -> str:
        if not self.log_file.exists():
            return ""
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    def recorded_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text())
        except (FileNotFoundError, ValueError):
            return None

    def is_running(self, pid: int) -> bool:
        """Whether `pid` is alive and still this program (not a reused PID)."""
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return False
        if state == "Z":  # killed but not yet reaped by the process that started it
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            return False
        return self.program.encode() in cmdline

    def stop(self, timeout_s: float = 20) -> bool:
        """Stop the recorded process if it is still this program; True if one was stopped."""
        pid = self.recorded_pid()
        self.pid_file.unlink(missing_ok=True)
        if pid is None or not self.is_running(pid):  # gone, or the PID now names another program
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.is_running(pid):
                return True
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        return True
