"""Running external commands: each is echoed as `$ ...` first (secrets censored), so users see
and can copy what the tool ran, and long ones stream their output as they go."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence

_SECRET_FLAGS = ("--password", "--token")
_URL_CREDENTIALS = re.compile(r"//[^/@\s]+@")
_SECRET_ASSIGNMENT = re.compile(r"^([^=]*(PASSWORD|TOKEN|SECRET)[^=]*)=.+$", re.IGNORECASE)


def censored(argv: Sequence[str]) -> list[str]:
    """`argv` with passwords, tokens and URL credentials replaced by ***."""
    shown: list[str] = []
    for arg in argv:
        if shown and shown[-1] in _SECRET_FLAGS:
            shown.append("***")
        elif assignment := _SECRET_ASSIGNMENT.match(arg):
            shown.append(f"{assignment[1]}=***")
        else:
            shown.append(_URL_CREDENTIALS.sub("//***@", arg))
    return shown


def echo(argv: Sequence[str]) -> None:
    """Print `$ command` to stderr, as a shell would show it, with secrets censored."""
    print(f"$ {shlex.join(censored(argv))}", file=sys.stderr, flush=True)


def stream(
    argv: Sequence[str], env: Mapping[str, str] | None = None, cwd: str | None = None
) -> Iterator[str]:
    """Yield the command's output lines (stderr merged) as they come; raise if it fails."""
    echo(argv)
    with subprocess.Popen(
        list(argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        env=dict(env) if env is not None else None,
        cwd=cwd,
    ) as process:
        assert process.stdout is not None
        tail: list[str] = []
        for line in process.stdout:
            line = line.rstrip("\n")
            tail = (tail + [line])[-30:]
            yield line
    if process.returncode != 0:
        raise subprocess.CalledProcessError(process.returncode, list(argv), output="\n".join(tail))


def run_echoed(
    argv: Sequence[str], env: Mapping[str, str] | None = None, cwd: str | None = None
) -> None:
    """Run a command, echoing it and its output to stderr line by line."""
    for line in stream(argv, env=env, cwd=cwd):
        print(line, file=sys.stderr, flush=True)


def output(argv: Sequence[str], cwd: str | None = None) -> str:
    """The stdout of a short query (git rev-parse and the like), stripped; not echoed, since
    it changes nothing. Raises CalledProcessError on failure."""
    return subprocess.run(
        list(argv), check=True, capture_output=True, text=True, cwd=cwd
    ).stdout.strip()
