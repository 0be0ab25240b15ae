"""A JupyterHub on this host that spawns an image with DockerSpawner, as a team would run one on
a single machine: configurable-http-proxy (npm, .cache/node/) public on loopback, the hub
(the tool's venv) with the dummy authenticator, and a docker network of its own for the
servers. The hub listens on that network's gateway, the host's address on it, which is where
the servers reach its API; the proxy reaches the servers at their addresses on it.

Everything it starts is stopped by PID (the hub, then the proxy) and everything the spawner
made is removed by name or ID (containers, the users' volumes, the network). Used by
tests/e2e/test_jupyterhub.py and scripts/bench_hub.py.
"""

from __future__ import annotations

import contextlib
import secrets
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors
import requests

from harness import node_tools
from imagectl import registry_server
from imagectl.daemon import Daemon
from imagectl.errors import ImageToolError
from imagectl.host import free_port

READY_TIMEOUT_S = 60
SPAWN_TIMEOUT_S = 180
WORK_DIR = "/home/analyst/work"  # the image's working directory: each user's volume goes there


class HubError(ImageToolError):
    """The hub, its proxy or a spawn failed; the message carries what their logs said."""


def hub_config(
    *,
    image: str,
    network: str,
    hub_ip: str,
    hub_port: int,
    public_port: int,
    proxy_api_port: int,
    prefix: str,
    users: list[str],
    state_dir: Path,
    remove: bool = True,
) -> str:
    """jupyterhub_config.py for one image: what a team writes for DockerSpawner on one host."""
    return textwrap.dedent(
        f"""\
        c = get_config()  # noqa: F821
        # the public side, through the proxy, on loopback only
        c.JupyterHub.ip = "127.0.0.1"
        c.JupyterHub.port = {public_port}
        # the hub's own API: on the servers' network, where their containers reach it
        c.JupyterHub.hub_ip = {hub_ip!r}
        c.JupyterHub.hub_port = {hub_port}
        # the proxy runs on its own (started before the hub, stopped by its PID)
        c.ConfigurableHTTPProxy.should_start = False
        c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
        c.JupyterHub.authenticator_class = "dummy"
        c.Authenticator.allowed_users = {set(users)!r}
        c.JupyterHub.db_url = "sqlite:///{state_dir}/jupyterhub.sqlite"
        c.JupyterHub.cookie_secret_file = "{state_dir}/jupyterhub_cookie_secret"
        c.JupyterHub.spawner_class = "docker"
        # the image pinned by digest; its own command: start.sh turns it into the single-user
        # server when the hub's variables are set
        c.DockerSpawner.image = {image!r}
        c.DockerSpawner.network_name = {network!r}
        c.DockerSpawner.use_internal_ip = True
        # True: Docker's auto-remove, so a server that exits takes its log with it
        c.DockerSpawner.remove = {remove}
        c.DockerSpawner.name_template = "{prefix}-{{username}}"
        # each user's notebooks in a named volume that outlives the container
        c.DockerSpawner.volumes = {{"{prefix}-{{username}}": "{WORK_DIR}"}}
        c.DockerSpawner.notebook_dir = "{WORK_DIR}"
        c.Spawner.start_timeout = {SPAWN_TIMEOUT_S}
        """
    )


@contextlib.contextmanager
def pinned_by_digest(
    docker_client: docker.DockerClient, image_ref: str, state_dir: Path
) -> Iterator[str]:
    """`image_ref` (a local image) pushed to a throwaway registry on a free loopback port, named
    by its repository digest (host:port/path/cpu@sha256:...) as a hub configuration pins it.
    A plain push of the platform the engine holds; the registry (by its PID) and the tags are
    gone when the block ends."""
    address = f"127.0.0.1:{free_port()}"
    repository = f"{address}/hub-{secrets.token_hex(3)}/{image_ref.rsplit('/', 1)[-1]}"
    repository, tag = repository.rsplit(":", 1)
    try:
        image = docker_client.images.get(image_ref)
    except docker.errors.ImageNotFound:
        raise HubError(f"{image_ref} is not built", "run `make image`") from None
    registry_server.ensure_running(state_dir, address)
    pinned = ""
    try:
        image.tag(repository, tag)
        for line in docker_client.api.push(repository, tag, stream=True, decode=True):
            if "error" in line:
                raise HubError(f"pushing {repository}:{tag} failed: {line['error']}")
        image.reload()
        (pinned,) = [d for d in image.attrs["RepoDigests"] if d.startswith(f"{repository}@")]
        yield pinned
    finally:
        for reference in (f"{repository}:{tag}", pinned):
            if reference:
                with contextlib.suppress(docker.errors.APIError):
                    docker_client.images.remove(reference)
        registry_server.stop_started(state_dir)


@dataclass
class LocalHub:
    """A running hub: its public URL, and what close() removes."""

    state_dir: Path
    image: str
    prefix: str  # names the network, containers and volumes it makes
    public_url: str = ""
    network_id: str = ""
    gateway: str = ""
    users: list[str] = field(default_factory=lambda: ["alice"])
    docker_client: docker.DockerClient | None = None

    @property
    def hub_daemon(self) -> Daemon:
        return Daemon("jupyterhub", "jupyterhub", self.state_dir)

    @property
    def proxy_daemon(self) -> Daemon:
        return Daemon("proxy", "configurable-http-proxy", self.state_dir)

    def volume(self, user: str) -> str:
        return f"{self.prefix}-{user}"

    def container_name(self, user: str) -> str:
        return f"{self.prefix}-{user}"

    def log(self, lines: int = 40) -> str:
        return self.hub_daemon.log_tail(lines)

    def exited_server(self, user: str) -> str | None:
        """The log of the user's server container if it has exited (the hub notices only when
        its http_timeout passes), else None; with DockerSpawner.remove it is gone at once."""
        assert self.docker_client is not None
        found = self.docker_client.containers.list(
            all=True, filters={"name": f"^{self.container_name(user)}$", "status": "exited"}
        )
        return found[0].logs().decode(errors="replace").strip() if found else None

    def close(self, docker_client: docker.DockerClient) -> None:
        """Stop the hub (it stops the servers it runs) and the proxy by their PIDs, then remove
        the containers, volumes and network it made, by name and ID."""
        self.hub_daemon.stop(timeout_s=60)
        self.proxy_daemon.stop()
        for container in docker_client.containers.list(
            all=True, sparse=True, filters={"name": f"^{self.prefix}-"}
        ):
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)
        for user in self.users:
            with contextlib.suppress(docker.errors.NotFound):
                docker_client.volumes.get(self.volume(user)).remove(force=True)
        if self.network_id:
            with contextlib.suppress(docker.errors.NotFound):
                docker_client.networks.get(self.network_id).remove()


def start(
    docker_client: docker.DockerClient,
    image: str,
    state_dir: Path,
    users: list[str] | None = None,
    hub_ip: str | None = None,
    remove: bool = True,
) -> LocalHub:
    """Start a network, the proxy and the hub for `image`; close() undoes all of it. The hub
    listens on the network's gateway unless `hub_ip` names another address; `remove=False`
    keeps a server's container (and its log) when it exits, until close()."""
    proxy = node_tools.require("configurable-http-proxy")
    prefix = f"hub-{secrets.token_hex(3)}"
    hub = LocalHub(state_dir, image, prefix, users=users or ["alice"], docker_client=docker_client)
    try:
        network = docker_client.networks.create(prefix, driver="bridge")
        hub.network_id = network.id
        network.reload()
        hub.gateway = network.attrs["IPAM"]["Config"][0]["Gateway"]
        public_port, api_port, hub_port = free_port(), free_port(), free_port()
        hub.public_url = f"http://127.0.0.1:{public_port}"
        token = secrets.token_hex(32)
        env = {**node_tools.env(), "CONFIGPROXY_AUTH_TOKEN": token}
        started = hub.proxy_daemon.start(
            [str(proxy), "--ip", "127.0.0.1", "--port", str(public_port),
             "--api-ip", "127.0.0.1", "--api-port", str(api_port),
             "--error-target", f"http://{hub_ip or hub.gateway}:{hub_port}/hub/error"],
            env=env,
        )  # fmt: skip
        routes = f"http://127.0.0.1:{api_port}/api/routes"
        if not Daemon.wait_ready(started, lambda: _answers(routes, token), READY_TIMEOUT_S):
            raise HubError(
                f"configurable-http-proxy did not start:\n{hub.proxy_daemon.log_tail(20)}",
                f"the whole log is {hub.proxy_daemon.log_file}",
            )
        config_file = state_dir / "jupyterhub_config.py"
        config_file.write_text(
            hub_config(
                image=image, network=prefix, hub_ip=hub_ip or hub.gateway,
                hub_port=hub_port, public_port=public_port, proxy_api_port=api_port,
                prefix=prefix, users=hub.users, state_dir=state_dir, remove=remove,
            )
        )  # fmt: skip
        jupyterhub = Path(sys.executable).with_name("jupyterhub")
        started = hub.hub_daemon.start(
            [str(jupyterhub), "-f", str(config_file)], env={**env, "HOME": str(state_dir)}
        )
        if not Daemon.wait_ready(
            started, lambda: _answers(f"{hub.public_url}/hub/api/"), READY_TIMEOUT_S
        ):
            raise HubError(
                f"JupyterHub did not answer through the proxy:\n{hub.log(30)}",
                f"the whole log is {hub.hub_daemon.log_file}",
            )
    except BaseException:
        hub.close(docker_client)
        raise
    return hub


@contextlib.contextmanager
def running(
    docker_client: docker.DockerClient, image: str, state_dir: Path, **options: object
) -> Iterator[LocalHub]:
    """start(), closed again when the block ends."""
    hub = start(docker_client, image, state_dir, **options)  # type: ignore[arg-type]
    try:
        yield hub
    finally:
        hub.close(docker_client)


def _answers(url: str, token: str | None = None) -> bool:
    headers = {"Authorization": f"token {token}"} if token else {}
    try:
        return requests.get(url, headers=headers, timeout=2).status_code == 200
    except requests.RequestException:
        return False


class HubUser:
    """One user in a browser-like session: logs in through the proxy with the login form, makes
    an API token, starts and stops their server, and talks to it."""

    def __init__(self, hub: LocalHub, name: str) -> None:
        self.hub, self.name = hub, name
        self.session = requests.Session()
        self.token = ""

    @property
    def server_url(self) -> str:
        return f"{self.hub.public_url}/user/{self.name}"

    def _xsrf(self) -> str:
        return self.session.cookies.get("_xsrf", path="/hub/") or self.session.cookies["_xsrf"]

    def log_in(self) -> None:
        """The login form as a browser sends it: GET it (the _xsrf cookie), POST it back."""
        form = self.session.get(f"{self.hub.public_url}/hub/login", timeout=10)
        form.raise_for_status()
        answer = self.session.post(
            f"{self.hub.public_url}/hub/login",
            data={"username": self.name, "password": "any", "_xsrf": self._xsrf()},
            allow_redirects=False,
            timeout=30,
        )
        if answer.status_code != 302 or "jupyterhub-session-id" not in self.session.cookies:
            raise HubError(
                f"logging in as {self.name} failed ({answer.status_code})",
                "check Authenticator.allowed_users in the hub's configuration",
            )

    def make_token(self) -> str:
        """An API token of the user's own, made in the session (as the hub's token page does)."""
        made = self.session.post(
            f"{self.hub.public_url}/hub/api/users/{self.name}/tokens",
            json={"note": "e2e", "expires_in": 3600},
            headers={"X-XSRFToken": self._xsrf()},
            timeout=10,
        )
        made.raise_for_status()
        self.token = made.json()["token"]
        return self.token

    def api(self, method: str, path: str, **kwargs: object) -> requests.Response:
        """A request to the user's server, through the proxy, with the user's token."""
        return self.session.request(
            method,
            f"{self.server_url}{path}",
            headers={"Authorization": f"token {self.token}"},
            timeout=30,
            allow_redirects=False,
            **kwargs,
        )

    def spawn(self) -> float:
        """Start the server as the home page's button does (GET /hub/spawn) and wait until it
        answers /api/status with the token; returns the seconds from the request to that."""
        start = time.monotonic()
        asked = self.session.get(
            f"{self.hub.public_url}/hub/spawn", allow_redirects=False, timeout=30
        )
        if asked.status_code not in (200, 302):
            raise HubError(f"the spawn request was refused ({asked.status_code}): {asked.text}")
        deadline = start + SPAWN_TIMEOUT_S
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if self.api("GET", "/api/status").status_code == 200:
                    return time.monotonic() - start
            exited = self.hub.exited_server(self.name)
            if exited is not None:
                raise HubError(
                    f"{self.name}'s server exited while starting; its log:\n{exited}",
                    "the log says what it misses (start.sh names the hub settings it needs)",
                )
            state = self.server_state()
            if not state.get("pending") and not state.get("ready") and time.monotonic() > start + 2:
                raise HubError(
                    f"{self.name}'s server did not start:\n{self.spawn_failure()}",
                    "the server's own log is `docker logs` of the container",
                )
            time.sleep(0.1)
        raise HubError(
            f"{self.name}'s server did not answer within {SPAWN_TIMEOUT_S} s:\n{self.hub.log()}"
        )

    def server_state(self) -> dict:
        """The default server's entry in the hub's user model ({} when it has none)."""
        model = self.session.get(f"{self.hub.public_url}/hub/api/users/{self.name}", timeout=10)
        model.raise_for_status()
        return model.json().get("servers", {}).get("", {})

    def spawn_failure(self) -> str:
        """What the hub's progress events and log say about the last spawn."""
        events = self.session.get(
            f"{self.hub.public_url}/hub/api/users/{self.name}/server/progress",
            headers={"Accept": "text/event-stream"},
            timeout=10,
        )
        messages = [line[6:] for line in events.text.splitlines() if line.startswith("data: ")]
        return "\n".join([*messages[-3:], self.hub.log(15)])

    def stop(self) -> None:
        """Stop the server (the home page's stop button: DELETE with the xsrf token), waiting
        until the hub has it stopped."""
        stopped = self.session.delete(
            f"{self.hub.public_url}/hub/api/users/{self.name}/server",
            headers={"X-XSRFToken": self._xsrf()},
            timeout=60,
        )
        if stopped.status_code not in (202, 204):
            raise HubError(f"stopping {self.name}'s server failed ({stopped.status_code})")
        deadline = time.monotonic() + 60
        while self.server_state() and time.monotonic() < deadline:
            time.sleep(0.2)
