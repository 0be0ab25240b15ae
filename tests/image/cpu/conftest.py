"""The cpu folder's fixture for the start modes (start_modes.py): one container per mode and
test session, shared by every test that runs in that mode."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator

import pytest
from start_modes import WORK, Started, StartMode
from support import Container


@pytest.fixture(scope="session")
def start_mode(docker_client, image_ref, tmp_path_factory) -> Iterator:
    """start_mode(mode) -> Started: the mode's container, healthy, started on first use with a
    host dir (owned as the mode says) mounted as the working directory; removed at the end."""
    if os.geteuid() != 0:
        pytest.skip("needs root to give a host dir away")
    started: dict[str, Started] = {}

    def start(mode: StartMode) -> Started:
        if mode.name not in started:
            work = tmp_path_factory.mktemp(mode.name) / "work"
            work.mkdir()
            uid, gid, permissions = mode.work
            os.chown(work, uid, gid)
            work.chmod(permissions)
            container = Container(
                docker_client,
                image_ref,
                volumes={str(work): {"bind": WORK, "mode": "rw"}},
                **copy.deepcopy(mode.options),
            )
            started[mode.name] = Started(mode, container, work)
            container.wait_healthy()
        return started[mode.name]

    yield start
    for each in started.values():
        each.container.remove()
