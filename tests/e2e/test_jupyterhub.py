"""JupyterHub serves the image: a hub on this host (the tool's venv, configurable-http-proxy
from npm, the dummy authenticator, a docker network of its own) spawns the cpu image of HEAD
pinned by digest with DockerSpawner. A user logs in through the proxy with the login form,
their server answers with their token, and a notebook they save lands in their volume and
outlives a stop and a start. Everything started here is stopped by PID, and the containers,
volumes and network are removed by name and ID (harness/hub.py)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest
import requests
from support import ROOT

from harness import hub
from imagectl import config, revision, tags

NOTEBOOK = {
    "type": "notebook",
    "content": {
        "cells": [{"cell_type": "markdown", "metadata": {}, "source": "# 集計"}],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    },
}


@pytest.fixture(scope="module")
def pinned_image(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[str]:
    """HEAD's cpu image pushed to a throwaway registry, named by its repository digest
    (host:port/path/cpu@sha256:...), as a hub configuration pins it."""
    built = tags.sha_tag(config.load(ROOT), "cpu", revision.current(ROOT).sha)
    state = tmp_path_factory.mktemp("hub-registry")
    with hub.pinned_by_digest(docker_client, built, state) as pinned:
        yield pinned


@pytest.fixture(scope="module")
def running_hub(
    pinned_image: str, tmp_path_factory: pytest.TempPathFactory, docker_client
) -> Iterator[hub.LocalHub]:
    with hub.running(docker_client, pinned_image, tmp_path_factory.mktemp("hub")) as started:
        yield started


def read_from_volume(docker_client: docker.DockerClient, image: str, volume: str, name: str):
    """A file of a named volume, read by a throwaway container of the image (no network)."""
    with contextlib.suppress(docker.errors.ContainerError):
        return docker_client.containers.run(
            image, ["cat", f"/mnt/{name}"], volumes={volume: {"bind": "/mnt", "mode": "ro"}},
            network_mode="none", entrypoint=[], remove=True,
        ).decode()  # fmt: skip
    return None


def wait_healthy(container, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        container.reload()
        health = container.attrs["State"].get("Health", {}).get("Status")
        if health == "healthy":
            break
        time.sleep(0.2)
    return health


def wait_gone(docker_client: docker.DockerClient, container_id: str, timeout: float = 30) -> bool:
    """Whether the container is removed within the timeout. The hub may report the server
    stopped while the engine is still removing it, so this polls; the plain (sparse) listing,
    because docker-py's full one inspects each container and fails on one removed meanwhile."""
    deadline = time.monotonic() + timeout
    while docker_client.api.containers(all=True, filters={"id": container_id}):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_hub_user_logs_in_spawns_the_pinned_image_and_keeps_a_notebook_across_restarts(
    running_hub: hub.LocalHub, pinned_image: str, docker_client: docker.DockerClient
) -> None:
    alice = hub.HubUser(running_hub, "alice")
    alice.log_in()
    alice.make_token()
    alice.spawn()

    status = alice.api("GET", "/api/status")
    assert status.status_code == 200 and "started" in status.json(), status.text
    # the server is the user's: without the token (or the session's login) it refuses
    anonymous = requests.get(f"{alice.server_url}/api/status", allow_redirects=False, timeout=10)
    assert anonymous.status_code in (302, 403), anonymous.status_code

    (container,) = docker_client.containers.list(filters={"name": f"^{running_hub.prefix}-"})
    assert container.attrs["Config"]["Image"] == pinned_image
    processes = " ".join(row[-1] for row in container.top()["Processes"])
    assert "jupyterhub-singleuser" in processes, processes
    # the probe asks the server under the prefix the hub chose (/user/alice/api)
    assert wait_healthy(container) == "healthy", container.attrs["State"].get("Health")

    saved = alice.api("PUT", "/api/contents/analysis.ipynb", data=json.dumps(NOTEBOOK))
    assert saved.status_code == 201, saved.text
    on_volume = read_from_volume(
        docker_client, pinned_image, running_hub.volume("alice"), "analysis.ipynb"
    )
    assert on_volume is not None and "集計" in on_volume

    alice.stop()
    assert wait_gone(docker_client, container.id), (
        "DockerSpawner.remove: the stopped server's container is gone"
    )
    alice.spawn()
    again = alice.api("GET", "/api/contents/analysis.ipynb")
    assert again.status_code == 200, again.text
    assert again.json()["content"]["cells"][0]["source"] == "# 集計"


def test_a_hub_its_servers_cannot_reach_fails_the_spawn_saying_what_to_set(
    pinned_image: str, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    """The usual DockerSpawner slip, a hub API on 127.0.0.1 of the hub's host: the server exits
    at once, and its log says what to configure (not a server whose every request fails).
    DockerSpawner.remove=False keeps the log, as the README advises while setting a hub up."""
    with hub.running(
        docker_client, pinned_image, tmp_path, hub_ip="127.0.0.1", remove=False
    ) as unreachable:
        alice = hub.HubUser(unreachable, "alice")
        alice.log_in()
        alice.make_token()
        with pytest.raises(hub.HubError) as failed:
            alice.spawn()
    message = str(failed.value)
    assert "JupyterHub's API at http://127.0.0.1:" in message
    assert "c.JupyterHub.hub_ip" in message and "hub_connect_ip" in message
    assert not docker_client.containers.list(all=True, filters={"name": f"^{unreachable.prefix}-"})
