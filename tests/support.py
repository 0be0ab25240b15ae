"""What the tests share, in one place (docker-stacks keeps the same in tests/utils/): the
repository root, the tool's command, free loopback ports, and the containers of the image
under test, each removed when its test is done."""

from __future__ import annotations

import base64
import hashlib
import io
import secrets
import sys
import tarfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

import docker
import pytest
import testinfra

from imagectl import platforms
from imagectl.host import free_port

__all__ = ["IMAGECTL", "ROOT", "Container", "free_port", "make_wheel", "wheel_bytes"]

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


def make_wheel(
    directory: Path,
    name: str,
    version: str,
    requires: Sequence[str] = (),
    source: str | None = None,
) -> Path:
    """wheel_bytes() written into `directory` under the wheel's file name: upstream that a
    test makes itself."""
    wheel = directory / f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    directory.mkdir(parents=True, exist_ok=True)
    wheel.write_bytes(wheel_bytes(name, version, requires, source))
    return wheel


def wheel_bytes(
    name: str,
    version: str,
    requires: Sequence[str] = (),
    source: str | None = None,
    scripts: dict[str, str] | None = None,
) -> bytes:
    """A small pure-Python wheel of `name` `version`. Its module is `name` with `_` for `-`,
    holding `source` (default: its `__version__`); `scripts` are its console scripts
    ({command: "module:function"}). The same arguments give the same bytes, so the same
    hashes."""
    module = name.replace("-", "_")
    info = f"{module}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": source or f'__version__ = "{version}"\n',
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        + "".join(f"Requires-Dist: {requirement}\n" for requirement in requires),
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    if scripts:
        files[f"{info}/entry_points.txt"] = "[console_scripts]\n" + "".join(
            f"{command} = {target}\n" for command, target in scripts.items()
        )
    record = [f"{path},sha256={_digest(data)},{len(data)}" for path, data in _encoded(files)]
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, text in files.items():
            archive.writestr(zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0)), text)
    return buffer.getvalue()


def _encoded(files: dict[str, str]) -> list[tuple[str, bytes]]:
    return [(path, text.encode()) for path, text in files.items()]


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
