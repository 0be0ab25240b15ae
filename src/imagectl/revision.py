"""The source revision an image is built from: the full commit SHA is the version."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from imagectl import proc
from imagectl.errors import ConfigError


@dataclass(frozen=True)
class Revision:
    sha: str
    version: str
    source: str
    dirty: bool


def current(root: Path) -> Revision:
    """HEAD of the repository at `root`; in GitLab CI, the pipeline's commit."""
    try:
        sha = os.environ.get("CI_COMMIT_SHA") or proc.output(["git", "rev-parse", "HEAD"], root)
    except (subprocess.CalledProcessError, FileNotFoundError):
        raise ConfigError(
            f"{root} has no git commit to version the image by",
            "commit first: the full commit SHA is the image's version tag",
        ) from None
    status = proc.output(["git", "status", "--porcelain", "--untracked-files=no"], root)
    version = os.environ.get("CI_COMMIT_TAG") or sha
    return Revision(sha=sha, version=version, source=_source(root), dirty=bool(status))


def _source(root: Path) -> str:
    url = os.environ.get("CI_PROJECT_URL")
    if not url:
        try:
            url = proc.output(["git", "remote", "get-url", "origin"], root)
        except subprocess.CalledProcessError:
            return f"file://{root}"
    return strip_credentials(url)


def strip_credentials(url: str) -> str:
    """A clone URL with any user:token@ removed, so no credential reaches a label."""
    parts = urlsplit(url)
    if parts.scheme and parts.hostname:
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
