"""What the tests share, in one place (docker-stacks keeps the same in tests/utils/): the
repository root, the tool's command, free loopback ports, and the containers of the image
under test, each removed when its test is done."""

from __future__ import annotations

import io
import secrets
import sys
import tarfile
import time
from pathlib import Path

import docker
import pytest
import testinfra

from imagectl import platforms
from imagectl.host import free_port

__all__ = ["IMAGECTL", "ROOT", "Container", "free_port"]

ROOT = Path(__file__).resolve().parents[1]
# the venv's imagectl, beside the python running the tests
IMAGECTL = str(Path(sys.executable).with_name("imagectl"))


class Container:
    """A container of the image under test, removed when the test (or session) is done."""

    def __init__(
        self, docker_client: docker.DockerClient, image: str, **run_kwargs: object
    ) -> None:
        self.token = secrets.token_hex(16)
        environment = {"JUPYTER_TOKEN": self.token, **dict(run_kwargs.pop("environment", {}))}
        run_kwargs.setdefault("network_mode", "none")
        self.container = docker_client.containers.run(
            image, detach=True, environment=environment, **run_kwargs
        )
        self.host = testinfra.get_host(f"docker://{self.container.id}")
        self.startup_log = ""
        # an image of another platform runs under QEMU: Jupyter takes ~10 times as long
        architecture = docker_client.images.get(image).attrs.get("Architecture")
        self.emulated = architecture != platforms.native().architecture

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout * (5 if self.emulated else 1)
        while time.monotonic() < deadline:
            self.container.reload()
            state = self.container.attrs["State"]
            health = state.get("Health", {}).get("Status")
            if health == "healthy":
                self.startup_log = self.logs()
                return
            if state["Status"] == "exited":
                break
            time.sleep(0.3)
        pytest.fail(f"container not healthy (status {health}); logs:\n{self.logs()}")

    def api(self, path: str, token: str | None = None) -> tuple[int, str]:
        """Ask Jupyter inside the container (the container has no network to reach it by)."""
        header = f"-H 'Authorization: token {token}'" if token else ""
        result = self.host.run(
            f"curl -s -o /tmp/body -w '%{{http_code}}' {header} http://127.0.0.1:8888{path}"
            " && echo && cat /tmp/body"
        )
        code, _, body = result.stdout.partition("\n")
        return int(code), body

    def put_file(self, source: Path, destination: str) -> None:
        """Copy a host file into the container (no network), owned by the image's user."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            info = tar.gettarinfo(str(source), arcname=Path(destination).name)
            info.uid = info.gid = 1000
            tar.addfile(info, source.open("rb"))
        self.host.check_output("mkdir -p %s", str(Path(destination).parent))
        self.container.put_archive(str(Path(destination).parent), buffer.getvalue())

    def logs(self) -> str:
        return self.container.logs().decode(errors="replace")

    def remove(self) -> None:
        self.container.remove(force=True, v=True)
