"""The source revision an image is built from: the full commit SHA is the version, and the
commit's time is the image's time (so a rebuild of a commit is the same image)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
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
    timestamp: int  # the commit's time, seconds since the epoch (SOURCE_DATE_EPOCH)

    @property
    def created(self) -> str:
        """The commit's time as the `created` label writes it (UTC, ISO 8601)."""
        return datetime.fromtimestamp(self.timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    return Revision(
        sha=sha, version=version, source=_source(root), dirty=bool(status), timestamp=_time(root)
    )


def _time(root: Path) -> int:
    """GitLab's CI_COMMIT_TIMESTAMP (ISO 8601) in a pipeline, else HEAD's committer time."""
    stamp = os.environ.get("CI_COMMIT_TIMESTAMP")
    if stamp:
        try:
            return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())
        except ValueError:
            raise ConfigError(
                f"CI_COMMIT_TIMESTAMP={stamp!r} is not an ISO 8601 time",
                "unset it to use the commit's time from git",
            ) from None
    return int(proc.output(["git", "show", "-s", "--format=%ct", "HEAD"], root))


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
