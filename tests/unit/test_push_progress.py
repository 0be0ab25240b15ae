"""How push and pull progress from the engine is shown, and how a dead registry ends it."""

from __future__ import annotations

import pytest

from imagectl import publish
from imagectl.errors import RegistryError


class FakeRegistry:
    base = "http://127.0.0.1:5000"

    def __init__(self, answers: bool) -> None:
        self.answers = answers

    def ping(self) -> bool:
        return self.answers


def follow(events: list[dict], answers: bool = True) -> list[str]:
    lines: list[str] = []
    publish._follow(iter(events), FakeRegistry(answers), "pushing x", lines.append)  # type: ignore[arg-type]
    return lines


def test_each_layer_step_is_shown_once_and_waiting_noise_is_not() -> None:
    lines = follow(
        [
            {"status": "The push refers to repository [127.0.0.1:5000/a/cpu]"},
            {"status": "Preparing", "id": "abc"},
            {"status": "Waiting", "id": "abc"},
            {"status": "Pushing", "id": "abc", "progressDetail": {"current": 1, "total": 9}},
            {"status": "Pushing", "id": "abc", "progressDetail": {"current": 5, "total": 9}},
            {"status": "Pushed", "id": "abc"},
            {"status": "Layer already exists", "id": "def"},
        ]
    )
    assert lines == [
        "  The push refers to repository [127.0.0.1:5000/a/cpu]",
        "  abc: Pushing",
        "  abc: Pushed",
        "  def: Layer already exists",
    ]


def test_a_registry_gone_during_retries_ends_the_push_at_once_with_the_fix() -> None:
    events = [
        {"status": "Pushing", "id": "abc", "progressDetail": {"current": 1, "total": 9}},
        {"status": "Retrying in 5 seconds", "id": "abc"},
        {"status": "never reached"},
    ]
    with pytest.raises(RegistryError, match="stopped answering") as caught:
        follow(events, answers=False)
    assert "no tag was written" in str(caught.value)
    assert "make registry" in caught.value.hint


def test_a_retry_while_the_registry_answers_is_waited_for() -> None:
    events = [{"status": "Retrying in 5 seconds", "id": "abc"}, {"status": "Pushed", "id": "abc"}]
    assert follow(events, answers=True) == ["  abc: Pushed"]


def test_an_engine_error_is_a_registry_error_naming_it() -> None:
    with pytest.raises(RegistryError, match="pushing x failed: denied: requested access"):
        follow([{"error": "denied: requested access to the resource is denied"}])
