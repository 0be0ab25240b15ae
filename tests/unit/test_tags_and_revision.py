"""One tag scheme (registry/image:full-sha) and labels that never carry a credential."""

import subprocess
from pathlib import Path

import pytest
from support import ROOT

from imagectl import config, revision, tags
from imagectl.errors import ConfigError

SHA = "0123456789abcdef0123456789abcdef01234567"


def test_sha_tag_uses_the_graph_registry_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REGISTRY_URL", raising=False)
    graph = config.load(ROOT)
    assert tags.sha_tag(graph, "cpu", SHA) == f"{graph.registry}/cpu:{SHA}"
    assert tags.latest_tag(graph, "cpu") == f"{graph.registry}/cpu:latest"


def test_registry_url_overrides_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_URL", "registry.example.com/team/images/")
    expected = f"registry.example.com/team/images/cpu:{SHA}"
    assert tags.sha_tag(config.load(ROOT), "cpu", SHA) == expected


@pytest.mark.parametrize("bad", ["abc123", SHA.upper(), SHA + "0", "latest"])
def test_only_full_lowercase_shas_are_version_tags(bad: str) -> None:
    with pytest.raises(ValueError, match="full 40-character commit SHA"):
        tags.sha_tag(config.load(ROOT), "cpu", bad)


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        ("https://gitlab-ci-token:s3cret@gitlab.example.com/a/b.git", "https://gitlab.example.com/a/b.git"),
        ("https://user@host:8443/a.git", "https://host:8443/a.git"),
        ("git@gitlab.example.com:a/b.git", "git@gitlab.example.com:a/b.git"),
    ],
)  # fmt: skip
def test_source_url_loses_its_credentials(url: str, clean: str) -> None:
    assert revision.strip_credentials(url) == clean


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def test_revision_is_head_and_dirty_only_with_tracked_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI_COMMIT_SHA", raising=False)
    monkeypatch.delenv("CI_PROJECT_URL", raising=False)
    git(tmp_path, "init", "-q")
    (tmp_path / "f").write_text("1")
    git(tmp_path, "add", "f")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    git(tmp_path, "remote", "add", "origin", "https://ci:tok@example.com/x.git")
    rev = revision.current(tmp_path)
    assert rev.sha == git(tmp_path, "rev-parse", "HEAD")
    assert rev.source == "https://example.com/x.git"
    assert not rev.dirty
    (tmp_path / "untracked").write_text("")
    assert not revision.current(tmp_path).dirty
    (tmp_path / "f").write_text("2")
    assert revision.current(tmp_path).dirty


def test_a_repository_without_commits_cannot_version_an_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI_COMMIT_SHA", raising=False)
    git(tmp_path, "init", "-q")
    with pytest.raises(ConfigError, match="no git commit"):
        revision.current(tmp_path)
