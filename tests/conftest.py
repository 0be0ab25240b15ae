"""Shared fixtures. The image under test comes from `--image` (default cpu); the image graph
decides which tests/image/<name>/ folders run: the image's own and those of its parents."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest
import testinfra
from support import ROOT, Container

from imagectl import config, passes, platforms, revision, tags
from imagectl.errors import ImageToolError

IMAGE_TESTS = ROOT / "tests" / "image"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--image", default="cpu", help="the image (from images.yml) to test")
    parser.addoption(
        "--image-ref",
        default=None,
        help="test this reference instead of the image built from HEAD (e.g. a scratch build)",
    )
    parser.addoption(
        "--platform",
        default=None,
        help="test the image built for this platform (default: this host's); another one "
        "runs under QEMU emulation",
    )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.parent != IMAGE_TESTS:
        return None
    covered = {spec.name for spec in _graph().lineage(config.getoption("--image"))}
    return collection_path.name not in covered


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under QEMU every container start costs about a minute and every Python command some
    seconds, so an image of another platform skips the tests marked same_on_every_platform:
    the extra start modes and the remapped UID, which check start.sh's logic (the same script
    on every platform; the any-UID mode, which needs the platform's nss_wrapper, still runs).
    Their run on the host's own platform covers them."""
    chosen = config.getoption("--platform")
    if not chosen or chosen == platforms.native().name:
        return
    skip = pytest.mark.skip(
        reason=f"{chosen} runs under QEMU here: start.sh's logic is the same script on every "
        "platform, checked on this host's own platform (~1 min a container start emulated)"
    )
    for item in items:
        if item.get_closest_marker("same_on_every_platform"):
            item.add_marker(skip)


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
def docker_client() -> docker.DockerClient:
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
def platform(pytestconfig: pytest.Config, graph: config.ImageGraph) -> platforms.Platform:
    """The platform of the image under test (`--platform`, default this host's)."""
    name = pytestconfig.getoption("--image")
    try:
        (chosen,) = platforms.select(
            pytestconfig.getoption("--platform"), name, graph.get(name).platforms
        )
    except (ValueError, ImageToolError) as exc:
        pytest.fail(f"--platform: {exc}")
    return chosen


@pytest.fixture(scope="session")
def image_ref(
    graph: config.ImageGraph,
    docker_client: docker.DockerClient,
    image_name: str,
    platform: platforms.Platform,
    pytestconfig: pytest.Config,
) -> str:
    """The image built from this commit for `platform`; the tests never build it themselves."""
    sha = revision.current(ROOT).sha
    ref = pytestconfig.getoption("--image-ref") or tags.platform_tag(
        graph, image_name, sha, platform
    )
    try:
        image = docker_client.images.get(ref)
    except docker.errors.ImageNotFound:
        pytest.fail(
            f"{ref} is not built; run `make image IMAGE={image_name} PLATFORMS={platform.name}`"
        )
    if image.attrs.get("Architecture") != platform.architecture:
        pytest.fail(f"{ref} is a {image.attrs.get('Architecture')} image, not {platform.name}")
    pytestconfig.stash[TESTED_IMAGE] = (ref, image.id)
    return ref


@pytest.fixture(scope="session")
def jupyter(docker_client: docker.DockerClient, image_ref: str) -> Iterator[Container]:
    """One JupyterLab container of the image, as `docker run IMAGE` starts it, healthy."""
    container = Container(docker_client, image_ref)
    try:
        container.wait_healthy()
        yield container
    finally:
        container.remove()


@pytest.fixture(scope="session")
def remapped_jupyter(docker_client: docker.DockerClient, image_ref: str) -> Iterator[Container]:
    """A container started as the README says for a host UID other than 1000 (`--user root
    -e NB_UID=1234 -e NB_GID=2345`), healthy: its notebook user now has that UID and GID."""
    container = Container(
        docker_client, image_ref, user="root", environment={"NB_UID": "1234", "NB_GID": "2345"}
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
def start_container(docker_client: docker.DockerClient, image_ref: str) -> Iterator:
    """Start extra containers of the image with their own options; each is removed after."""
    started: list[Container] = []

    def start(**run_kwargs: object) -> Container:
        started.append(Container(docker_client, image_ref, **run_kwargs))
        return started[-1]

    yield start
    for container in started:
        container.remove()


@pytest.fixture(scope="session")
def root_host(jupyter: Container) -> testinfra.host.Host:
    """The same container, commands run as root (for what only root may read)."""
    return testinfra.get_host(f"docker://root@{jupyter.container.id}")
