"""Running external commands with their output streamed, so long steps show progress."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence


def stream(
    argv: Sequence[str], env: Mapping[str, str] | None = None, cwd: str | None = None
) -> Iterator[str]:
    """Yield the command's output lines (stderr merged) as they come; raise if it fails."""
    with subprocess.Popen(
        list(argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        env=dict(env) if env is not None else None,
        cwd=cwd,
    ) as proc:
        assert proc.stdout is not None
        tail: list[str] = []
        for line in proc.stdout:
            line = line.rstrip("\n")
            tail = (tail + [line])[-30:]
            yield line
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, list(argv), output="\n".join(tail))


def run_echoed(
    argv: Sequence[str], env: Mapping[str, str] | None = None, cwd: str | None = None
) -> None:
    """Run a command, echoing its output to stderr line by line."""
    for line in stream(argv, env=env, cwd=cwd):
        print(line, file=sys.stderr, flush=True)


def output(argv: Sequence[str], cwd: str | None = None) -> str:
    """The stdout of a short command, stripped; raises CalledProcessError on failure."""
    return subprocess.run(
        list(argv), check=True, capture_output=True, text=True, cwd=cwd
    ).stdout.strip()
