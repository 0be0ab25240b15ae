"""Bad input ends with a message naming the cause and the fix, and a distinct exit code."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from support import IMAGECTL, ROOT


def imagectl(*args: str, cwd: Path = ROOT, env: dict | None = None, prefix: tuple = ()):
    return subprocess.run(
        [*prefix, IMAGECTL, *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "images.yml", tmp_path)
    shutil.copytree(ROOT / "docker", tmp_path / "docker")
    return tmp_path


def test_unknown_image_name_exits_2_and_lists_known_images() -> None:
    result = imagectl("build", "cpuu")
    assert result.returncode == 2
    assert "unknown image 'cpuu'" in result.stderr and "fix: use one of" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_dockerfile_exits_2_naming_the_path(repo_copy: Path) -> None:
    (repo_copy / "docker/cpu.Dockerfile").unlink()
    result = imagectl("build", "cpu", cwd=repo_copy)
    assert result.returncode == 2
    assert "docker/cpu.Dockerfile does not exist" in result.stderr


def test_malformed_graph_file_exits_2(repo_copy: Path) -> None:
    (repo_copy / "images.yml").write_text("images:\n  cpu: {dockerfile: [\n")
    result = imagectl("build", "cpu", cwd=repo_copy)
    assert result.returncode == 2
    assert "images.yml is not valid YAML" in result.stderr


def test_unreachable_docker_host_exits_3_without_starting_an_engine(tmp_path: Path) -> None:
    result = imagectl("engine", "up", env={"DOCKER_HOST": f"unix://{tmp_path}/none.sock"})
    assert result.returncode == 3
    assert "no Docker engine answers" in result.stderr and "DOCKER_HOST" in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the tool as another user")
def test_no_engine_and_not_root_exits_3_saying_what_to_do() -> None:
    # `nobody` cannot open the engine's socket, so to it no engine runs.
    nobody = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all")
    result = imagectl("engine", "up", prefix=nobody, env={"DOCKER_HOST": ""})
    assert result.returncode == 3
    assert "cannot start one" in result.stderr and "docker.io" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("build", "cpu", "--platform", "linux/s390x"), "unknown platform 'linux/s390x'"),
        (("build", "gpu", "--platform", "linux/arm64"), "gpu is not built for linux/arm64"),
    ],
    ids=["unknown", "not-listed"],
)
def test_a_platform_that_cannot_be_built_exits_2_before_anything_runs(
    args: tuple[str, ...], message: str
) -> None:
    result = imagectl(*args)
    assert result.returncode == 2
    assert message in result.stderr and "fix: " in result.stderr
    assert "$ " not in result.stdout + result.stderr  # no command was run
