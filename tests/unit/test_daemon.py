"""The servers the tool starts: stopped by their recorded PID, and only while that PID is still
the same program (after a reboot or a crash it may belong to something else)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from imagectl.daemon import Daemon

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


@pytest.fixture
def unrelated(tmp_path: Path):
    """A process the tool did not start, stopped by the test afterwards."""
    process = subprocess.Popen(SLEEPER)
    yield process
    process.kill()
    process.wait()


def test_a_recorded_pid_now_held_by_another_program_is_left_alone(
    tmp_path: Path, unrelated: subprocess.Popen
) -> None:
    registry = Daemon("registry", "docker-registry", tmp_path)
    registry.pid_file.write_text(f"{unrelated.pid}\n")  # as if the PID had been reused
    assert registry.stop() is False
    assert unrelated.poll() is None, "an unrelated process was signalled"
    assert not registry.pid_file.exists()


def test_a_started_server_is_stopped_by_its_recorded_pid(tmp_path: Path) -> None:
    sleeper = Daemon("sleeper", "time.sleep", tmp_path)
    process = sleeper.start(SLEEPER)
    pid = sleeper.recorded_pid()
    assert pid == process.pid
    assert sleeper.wait_ready(process, lambda: sleeper.is_running(pid), timeout_s=30)
    assert sleeper.stop() is True
    process.wait(timeout=5)
    assert not sleeper.is_running(pid)
    assert sleeper.stop() is False  # nothing recorded any more


def test_waiting_ends_when_the_server_exits_and_its_log_tells_why(tmp_path: Path) -> None:
    failing = Daemon("failing", "sys.exit", tmp_path)
    process = failing.start([sys.executable, "-c", "import sys; print('port taken'); sys.exit(1)"])
    assert failing.wait_ready(process, lambda: False, timeout_s=30) is False
    assert "port taken" in failing.log_tail()
    failing.stop()


def test_start_echoes_the_command(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    sleeper = Daemon("sleeper", "time.sleep", tmp_path)
    process = sleeper.start(SLEEPER)
    process.kill()
    process.wait()
    assert f"$ {sys.executable} -c 'import time; time.sleep(60)'" in capsys.readouterr().err
