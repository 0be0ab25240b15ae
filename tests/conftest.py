"""Shared fixtures. The image under test comes from `--image` (default cpu); the image graph
decides which tests/image/<name>/ folders run: the image's own and those of its parents."""

from __future__ import annotations

import io
import secrets
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest
import testinfra

from imagectl import config, passes, revision, tags

ROOT = Path(__file__).resolve().parents[1]
IMAGE_TESTS = ROOT / "tests" / "image"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--image", default="cpu", help="the image (from images.yml) to test")
    parser.addoption(
        "--image-ref",
        default=None,
        help="test this reference instead of the image built from HEAD (e.g. a scratch build)",
    )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.parent != IMAGE_TESTS:
        return None
    covered = {spec.name for spec in _graph().lineage(config.getoption("--image"))}
    return collection_path.name not in covered


def _graph() -> config.ImageGraph:
    return config.load(ROOT)


# (ref, image ID) of the image under test, noted when first used: a tag may move mid-run.
TESTED_IMAGE = pytest.StashKey[tuple[str, str]]()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Record a pass for the tested image ID, which `imagectl promote` requires. Only a run
    that passed and ran all of the image's tests (no -k, -m, --deselect) counts."""
    tested = session.config.stash.get(TESTED_IMAGE, None)
    option = session.config.option
    if tested is None or exitstatus != 0 or option.keyword or option.markexpr or option.deselect:
        return
    name = session.config.getoption("--image")
    if passes.covers_image(_graph(), name, {item.path for item in session.items}):
        passes.record(ROOT, name, tested[1], tested[0], len(session.items))


@pytest.fixture(scope="session")
def graph() -> config.ImageGraph:
    return _graph()


@pytest.fixture(scope="session")
def engine() -> docker.DockerClient:
    try:
        client = docker.from_env(timeout=300)
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.fail(f"no Docker engine ({exc}); `make test` starts one, or run `make engine`")
    return client


@pytest.fixture(scope="session")
def image_name(pytestconfig: pytest.Config) -> str:
    return pytestconfig.getoption("--image")


@pytest.fixture(scope="session")
def image_ref(
    graph: config.ImageGraph, engine: docker.DockerClient, image_name: str, pytestconfig
) -> str:
    """The image built from this commit; the tests never build it themselves."""
    ref = pytestconfig.getoption("--image-ref") or tags.sha_tag(
        graph, image_name, revision.current(ROOT).sha
    )
    try:
        pytestconfig.stash[TESTED_IMAGE] = (ref, engine.images.get(ref).id)
    except docker.errors.ImageNotFound:
        pytest.fail(f"{ref} is not built; run `make image IMAGE={image_name}`")
    return ref


class Container:
    """A container of the image under test, removed when the test (or session) is done."""

    def __init__(self, engine: docker.DockerClient, image: str, **run_kwargs: object) -> None:
        self.token = secrets.token_hex(16)
        environment = {"JUPYTER_TOKEN": self.token, **dict(run_kwargs.pop("environment", {}))}
        run_kwargs.setdefault("network_mode", "none")
        self.container = engine.containers.run(
            image, detach=True, environment=environment, **run_kwargs
        )
        self.host = testinfra.get_host(f"docker://{self.container.id}")
        self.startup_log = ""

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
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


@pytest.fixture(scope="session")
def jupyter(engine: docker.DockerClient, image_ref: str) -> Iterator[Container]:
    """One JupyterLab container of the image, as `docker run IMAGE` starts it, healthy."""
    container = Container(engine, image_ref)
    try:
        container.wait_healthy()
        yield container
    finally:
        container.remove()


@pytest.fixture(scope="session")
def remapped_jupyter(engine: docker.DockerClient, image_ref: str) -> Iterator[Container]:
    """A container started as the README says for a host UID other than 1000 (`--user root
    -e NB_UID=1234 -e NB_GID=2345`), healthy: its notebook user now has that UID and GID."""
    container = Container(
        engine, image_ref, user="root", environment={"NB_UID": "1234", "NB_GID": "2345"}
    )
    try:
        container.wait_healthy()
        yield container
    finally:
        container.remove()


@pytest.fixture(scope="session")
def host(jupyter: Container) -> testinfra.host.Host:
    return jupyter.host


@pytest.fixture
def start_container(engine: docker.DockerClient, image_ref: str) -> Iterator:
    """Start extra containers of the image with their own options; each is removed after."""
    started: list[Container] = []

    def start(**run_kwargs: object) -> Container:
        started.append(Container(engine, image_ref, **run_kwargs))
        return started[-1]

    yield start
    for container in started:
        container.remove()


@pytest.fixture(scope="session")
def root_host(jupyter: Container) -> testinfra.host.Host:
    """The same container, commands run as root (for what only root may read)."""
    return testinfra.get_host(f"docker://root@{jupyter.container.id}")
