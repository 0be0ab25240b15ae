"""The embedded registry: started by the tool with its own config, found again, stopped by PID."""

from __future__ import annotations

from pathlib import Path

import requests
import yaml
from e2e_support import Project, random_sha

from imagectl import registry_server


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_registry_up_serves_v2_without_auth_from_the_project_cache(project: Project) -> None:
    assert requests.get(f"http://{project.host}/v2/", timeout=5).status_code == 200
    settings = yaml.safe_load((project.state / "config.yml").read_text())
    assert settings["http"]["addr"] == project.host
    assert settings["storage"]["filesystem"]["rootdirectory"] == str(project.state / "data")
    assert settings["storage"]["delete"] == {"enabled": True}
    assert "auth" not in settings


def test_registry_up_again_finds_the_running_one(project: Project) -> None:
    pid = registry_server.recorded_pid(project.state)
    assert "already running" in project.run("registry", "up").stdout
    assert registry_server.recorded_pid(project.state) == pid


def test_a_command_that_needs_the_registry_starts_it_and_down_stops_it_by_pid(
    fresh_project: Project,
) -> None:
    missing = fresh_project.run("pull", "tiny", "--sha", random_sha(), check=False)
    assert missing.returncode == 5
    assert "is not in the registry" in missing.stderr and "fix:" in missing.stderr
    pid = registry_server.recorded_pid(fresh_project.state)
    assert pid and b"docker-registry" in Path(f"/proc/{pid}/cmdline").read_bytes()

    assert "registry stopped" in fresh_project.run("registry", "down").stdout
    assert not _alive(pid)
    assert not fresh_project.client().ping()
    assert "no registry of ours" in fresh_project.run("registry", "down").stdout
