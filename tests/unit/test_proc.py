"""External commands are echoed as `$ ...` before they run, with secrets censored."""

from __future__ import annotations

import pytest

from imagectl import proc


def test_passwords_tokens_and_url_credentials_are_censored() -> None:
    shown = proc.censored(
        [
            "docker", "login", "--password", "hunter2", "--build-arg", "CI_JOB_TOKEN=abc",
            "git", "clone", "https://user:glpat-xyz@gitlab.example.com/g/p.git",
        ]
    )  # fmt: skip
    text = " ".join(shown)
    assert "hunter2" not in text and "abc" not in text and "glpat-xyz" not in text
    assert "--password ***" in text and "CI_JOB_TOKEN=***" in text
    assert "https://***@gitlab.example.com/g/p.git" in text


def test_ordinary_arguments_are_shown_as_they_are() -> None:
    argv = ["docker", "build", "--secret", "id=ca_bundle,src=/etc/ssl/ca.crt", "-t", "a/b:c", "."]
    assert proc.censored(argv) == argv


def test_a_streamed_command_is_echoed_before_its_output(capsys: pytest.CaptureFixture) -> None:
    proc.run_echoed(["echo", "hello world"])
    assert capsys.readouterr().err == "$ echo 'hello world'\nhello world\n"
