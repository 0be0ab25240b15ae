"""A registry that wants a login (htpasswd, as a company registry would): the tool logs in with
credentials from the environment, and no credential is ever written to ~/.docker."""

from __future__ import annotations

import hashlib
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import docker
import pytest
from e2e_support import Project, random_sha, remove_images_under
from support import free_port

from imagectl import registry, registry_server

TOKEN = secrets.token_hex(12)
DOCKER_CLI = "/usr/bin/docker"


@pytest.fixture(scope="module")
def auth_registry(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[str]:
    """A docker-registry with Basic auth for `gitlab-ci-token`, as CI_JOB_TOKEN logs in;
    every image tagged for it is removed afterwards."""
    state = tmp_path_factory.mktemp("auth-registry")
    htpasswd = state / "htpasswd"
    hashed = bcrypt.hashpw(TOKEN.encode(), bcrypt.gensalt(rounds=4)).decode()
    htpasswd.write_text(f"gitlab-ci-token:{hashed}\n")
    host = f"127.0.0.1:{free_port()}"
    registry_server.ensure_running(state, host, htpasswd=htpasswd)
    try:
        yield host
    finally:
        registry_server.stop_started(state)
        remove_images_under(docker_client, host)


def _fingerprint(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def test_push_with_ci_job_token_logs_in_and_writes_no_docker_config(
    project: Project, auth_registry: str, tmp_path: Path
) -> None:
    real_config = Path.home() / ".docker" / "config.json"
    before = _fingerprint(real_config)
    env = {"REGISTRY_URL": f"{auth_registry}/e2e", "CI_JOB_TOKEN": TOKEN, "HOME": str(tmp_path)}
    sha = random_sha()
    project.build("tiny", sha, env=env)
    pushed = project.run("push", "tiny", "--sha", sha, env=env)
    assert "pushed" in pushed.stderr
    client = registry.RegistryClient(auth_registry, registry.Credentials("gitlab-ci-token", TOKEN))
    assert client.manifest("e2e/tiny", sha) is not None
    assert not (tmp_path / ".docker").exists()
    assert _fingerprint(real_config) == before


def test_without_or_with_wrong_credentials_the_error_says_what_to_set(
    project: Project, auth_registry: str
) -> None:
    sha = random_sha()
    env = {"REGISTRY_URL": f"{auth_registry}/e2e"}
    project.build("tiny", sha, env=env)
    refused = project.run("push", "tiny", "--sha", sha, env=env, check=False)
    assert refused.returncode == 5
    assert "asks for a login" in refused.stderr and "CI_JOB_TOKEN" in refused.stderr
    wrong = project.run("push", "tiny", "--sha", sha, env={**env, "CI_JOB_TOKEN": "x"}, check=False)
    assert wrong.returncode == 5 and "refused the credentials" in wrong.stderr


def test_the_cli_login_lets_the_docker_cli_pull_and_leaves_nothing_behind(
    project: Project, auth_registry: str, tmp_path: Path
) -> None:
    sha = random_sha()
    env = {"REGISTRY_URL": f"{auth_registry}/e2e", "CI_JOB_TOKEN": TOKEN}
    ref = project.build("tiny", sha, env=env)
    project.run("push", "tiny", "--sha", sha, env=env)
    subprocess.run([DOCKER_CLI, "rmi", ref], check=True, capture_output=True)
    credentials = registry.Credentials("gitlab-ci-token", TOKEN)
    with registry.cli_login(auth_registry, credentials) as login:
        config_dir = Path(login["DOCKER_CONFIG"])
        cli_env = {**project.env, "HOME": str(tmp_path), **login}
        pulled = subprocess.run([DOCKER_CLI, "pull", ref], env=cli_env, capture_output=True)
        assert pulled.returncode == 0, pulled.stderr
    assert not config_dir.exists()
    assert not (tmp_path / ".docker").exists()
