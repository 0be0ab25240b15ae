"""A new analysis project names an image version instead of copying a Dockerfile: scaffold it,
add a package in its Dockerfile, compile one in its builder stage, run it with compose (v2 and
Debian's 1.29), move its pin."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest
import requests
from e2e_support import MINBASE, ComposeCommand, Project, compose_v1, compose_v2, random_sha
from support import IMAGECTL, ROOT, free_port, make_wheel

from imagectl import config, revision, tags

HOST_UID, HOST_GID = 1234, 2345  # a host user who is not the image's UID 1000
PROJECT_LABEL = "com.docker.compose.project"


@pytest.fixture(scope="module")
def cpu_image(project: Project, docker_client: docker.DockerClient) -> Iterator[tuple[str, str]]:
    """(sha, reference): the real cpu image of HEAD, tagged under the test registry's path.
    Not pushed: compose builds FROM it locally, as on a machine that pulled it before."""
    head = revision.current(ROOT).sha
    ref = project.ref("cpu", head)
    docker_client.images.get(tags.sha_tag(config.load(ROOT), "cpu", head)).tag(ref)
    yield head, ref
    with contextlib.suppress(docker.errors.APIError):
        docker_client.images.remove(ref)


@pytest.fixture(scope="module")
def versions(project: Project, docker_client: docker.DockerClient) -> Iterator[dict[str, str]]:
    """Two small versions of `cpu` pushed to the test registry, the first promoted to latest:
    {sha: reference}. (Pinning and pulling need versions in a registry, not a 1.5 GB push.)"""
    refs = {}
    for sha in (random_sha(), random_sha()):
        refs[sha] = project.ref("cpu", sha)
        dockerfile = f"FROM {MINBASE}\nRUN echo {sha} > /version\n"
        docker_client.images.build(
            fileobj=io.BytesIO(dockerfile.encode()),
            tag=refs[sha],
            labels={"org.opencontainers.image.revision": sha},
            rm=True,
        )
        for line in docker_client.api.push(refs[sha], stream=True, decode=True):
            assert "error" not in line, line
    client = project.client()
    repository = f"{project.registry.split('/', 1)[1]}/cpu"
    client.put_manifest(repository, "latest", client.manifest(repository, next(iter(refs))))
    yield refs
    for ref in refs.values():
        with contextlib.suppress(docker.errors.APIError):
            docker_client.images.remove(ref, force=True)


def new_project(project: Project, directory: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [IMAGECTL, "new-project", str(directory), *args],
        cwd=ROOT,
        env={**project.env, "REGISTRY_URL": project.registry},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_new_project_pins_the_registrys_latest_sha_by_default(project, versions, tmp_path):
    latest_sha = next(iter(versions))
    result = new_project(project, tmp_path / "pinned")
    assert result.returncode == 0, result.stderr
    compose_file = (tmp_path / "pinned" / "docker-compose.yml").read_text()
    assert f"x-base-image: &base-image {versions[latest_sha]}\n" in compose_file
    assert "JUPYTER_TOKEN" not in (tmp_path / "pinned" / ".env").read_text().split("#")[-1]


def test_new_project_refuses_a_non_empty_directory(project, versions, tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    result = new_project(project, tmp_path / "busy", "--sha", next(iter(versions)))
    assert result.returncode == 2 and "is not empty" in result.stderr
    assert os.listdir(tmp_path / "busy") == ["notes.txt"]


class ComposeProject:
    def __init__(self, command: ComposeCommand, directory: Path, token: str) -> None:
        self.command, self.directory = command, directory
        self.env = {**os.environ, **command.env, "JUPYTER_TOKEN": token}

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [*self.command.argv, *args], cwd=self.directory, env=self.env,
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if check:
            assert result.returncode == 0, f"compose {' '.join(args)}:\n{result.stderr}"
        return result


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to hand the project to UID 1234")
@pytest.mark.parametrize("compose_command", [compose_v2, compose_v1], ids=["compose-v2", "v1.29"])
def test_project_runs_with_compose_as_the_host_user_with_its_own_package(
    project, cpu_image, tmp_path, docker_client, compose_command
):
    sha, _ = cpu_image
    directory = tmp_path / "analysis"
    directory.mkdir()
    os.chown(directory, HOST_UID, HOST_GID)
    port = free_port()
    result = new_project(project, directory, "--sha", sha, "--port", str(port))
    assert result.returncode == 0, result.stderr
    assert f"HOST_UID={HOST_UID}\nHOST_GID={HOST_GID}" in (directory / ".env").read_text()
    # a one-module wheel, made here: the project adds it offline (PIP_NO_INDEX=1)
    make_wheel(directory / "wheels", "hello-project", "1.0", source="GREETING = 'こんにちは'\n")
    (directory / "requirements.txt").write_text("hello-project\n")
    for path in [directory, *directory.rglob("*")]:
        os.chown(path, HOST_UID, HOST_GID)

    compose = ComposeProject(compose_command(tmp_path), directory, token="e2e-token")
    try:
        compose("build", "--build-arg", "PIP_NO_INDEX=1")
        compose("up", "-d")
        url = f"http://127.0.0.1:{port}"
        status = wait_for(f"{url}/api/status", token="e2e-token")
        assert status == 200, compose("logs", "--no-color", check=False).stdout[-3000:]
        assert requests.get(f"{url}/api/status", timeout=5).status_code == 403

        imported = compose("exec", "-T", "jupyter", "python", "-c",
                           "import hello_project; print(hello_project.GREETING)")  # fmt: skip
        assert imported.stdout.strip() == "こんにちは"
        (container,) = docker_client.containers.list(
            filters={"label": f"{PROJECT_LABEL}={directory.name}"}
        )
        top = container.top(ps_args="-o pid,uid,args")
        server_uids = {row[1] for row in top["Processes"] if "jupyter-lab" in row[2]}
        assert server_uids == {str(HOST_UID)}, top
        user = compose("exec", "-T", "jupyter", "getent", "passwd", str(HOST_UID))
        assert user.stdout.split(":")[0] == "analyst"  # the image's user, moved to HOST_UID

        saved = requests.put(
            f"{url}/api/contents/notebooks/from-jupyter.txt",
            headers={"Authorization": "token e2e-token"},
            data=json.dumps({"type": "file", "format": "text", "content": "書いた"}),
            timeout=10,
        )
        assert saved.status_code == 201, saved.text
        written = directory / "notebooks" / "from-jupyter.txt"
        assert written.read_text() == "書いた"
        assert (written.stat().st_uid, written.stat().st_gid) == (HOST_UID, HOST_GID)
    finally:
        compose("down", check=False)
        with contextlib.suppress(docker.errors.ImageNotFound):  # the project image it built
            docker_client.images.remove(f"{directory.name}-jupyter:local", force=True)
    left = docker_client.containers.list(
        all=True, filters={"label": f"com.docker.compose.project={directory.name}"}
    )
    assert left == []


def wait_for(url: str, token: str, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.ConnectionError):
            response = requests.get(url, headers={"Authorization": f"token {token}"}, timeout=5)
            if response.status_code == 200:
                return 200
        time.sleep(0.5)
    return 0


# A C extension that only a compiler and Python's headers turn into something importable.
C_SOURCE = r"""
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *add(PyObject *self, PyObject *args) {
    long a, b;
    if (!PyArg_ParseTuple(args, "ll", &a, &b)) return NULL;
    return PyLong_FromLong(a + b);
}

static PyMethodDef methods[] = {{"add", add, METH_VARARGS, "a + b, in C"}, {NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "cext_demo", NULL, -1, methods};
PyMODINIT_FUNC PyInit_cext_demo(void) { return PyModule_Create(&module); }
"""


def write_sdist(folder: Path) -> None:
    """A source distribution of a C extension, made here (no index, no build tool needed):
    the project's build must compile it offline (PIP_NO_INDEX=1)."""
    files = {
        "PKG-INFO": "Metadata-Version: 2.1\nName: cext-demo\nVersion: 1.0\n",
        "pyproject.toml": '[build-system]\nrequires = ["setuptools"]\n'
        'build-backend = "setuptools.build_meta"\n',
        "setup.py": "from setuptools import Extension, setup\n"
        'setup(name="cext-demo", version="1.0", '
        'ext_modules=[Extension("cext_demo", ["cext_demo.c"])])\n',
        "cext_demo.c": C_SOURCE,
    }
    with tarfile.open(folder / "cext_demo-1.0.tar.gz", "w:gz") as sdist:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"cext_demo-1.0/{name}")
            info.size, info.mode = len(data), 0o644
            sdist.addfile(info, io.BytesIO(data))


# What a compiler or the build stage's packages would leave behind: any output is a leak.
COMPILER_TRACES = (
    "command -v gcc cc c++ make; "
    "for p in build-essential python3-dev; do dpkg -s $p >/dev/null 2>&1 && echo $p; done; true"
)


def test_project_compiles_a_c_extension_offline_and_its_image_has_no_compiler(
    project, cpu_image, tmp_path, docker_client
):
    sha, _ = cpu_image
    directory = tmp_path / "compiled"
    result = new_project(project, directory, "--sha", sha, "--port", str(free_port()))
    assert result.returncode == 0, result.stderr
    write_sdist(directory / "wheels")
    (directory / "requirements.txt").write_text("cext-demo\n")

    compose = ComposeProject(compose_v2(tmp_path), directory, token="e2e-token")
    image = f"{directory.name}-jupyter:local"
    try:
        compose("build", "--build-arg", "PIP_NO_INDEX=1")
        compose("up", "-d")
        call = "import cext_demo; print(cext_demo.add(2, 40), cext_demo.__file__)"
        called = compose("exec", "-T", "jupyter", "python", "-c", call)
        value, module_file = called.stdout.split()
        assert value == "42" and module_file.endswith(".so"), called.stdout

        traces = docker_client.containers.run(image, ["sh", "-c", COMPILER_TRACES], remove=True)
        assert traces.decode() == "", f"the project's image holds build tools: {traces!r}"
    finally:
        compose("down", check=False)
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client.images.remove(image, force=True)
    left = docker_client.containers.list(
        all=True, filters={"label": f"{PROJECT_LABEL}={directory.name}"}
    )
    assert left == []


def test_changing_the_pinned_sha_and_pulling_gives_exactly_that_version(
    project, versions, tmp_path, docker_client
):
    first_sha, second_sha = versions
    directory = tmp_path / "moving"
    assert new_project(project, directory, "--sha", first_sha).returncode == 0
    compose_file = directory / "docker-compose.yml"
    compose_file.write_text(compose_file.read_text().replace(first_sha, second_sha))
    docker_client.images.remove(versions[second_sha], force=True)  # so the pull must fetch it

    ComposeProject(compose_v2(tmp_path), directory, token="unused")("pull", "base")

    pulled = docker_client.images.get(versions[second_sha])
    expected = project.registry_digest("cpu", second_sha)
    assert f"{versions[second_sha].rsplit(':', 1)[0]}@{expected}" in pulled.attrs["RepoDigests"]
    assert pulled.labels["org.opencontainers.image.revision"] == second_sha


def test_compose_files_name_no_secret_and_pin_one_sha(project, versions, tmp_path):
    sha = next(iter(versions))
    directory = tmp_path / "clean"
    assert new_project(project, directory, "--sha", sha).returncode == 0
    texts = {p.name: p.read_text() for p in directory.iterdir() if p.is_file()}
    assert "e2e-token" not in "".join(texts.values())
    assert texts["docker-compose.yml"].count(sha) == 1  # one anchor, used twice
