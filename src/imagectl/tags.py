"""The one tag scheme: <registry>/<image>:<full commit sha>, immutable, and :latest."""

from __future__ import annotations

import os
import re

from imagectl.config import ImageGraph

LATEST = "latest"
_SHA = re.compile(r"^[0-9a-f]{40}$")


def registry(graph: ImageGraph) -> str:
    """Where images are tagged and pushed: REGISTRY_URL (as the CI template names it), else
    the local default from images.yml."""
    return (os.environ.get("REGISTRY_URL") or graph.registry).rstrip("/")


def repository(graph: ImageGraph, name: str) -> str:
    return f"{registry(graph)}/{name}"


def sha_tag(graph: ImageGraph, name: str, sha: str) -> str:
    if not _SHA.match(sha):
        raise ValueError(f"{sha!r} is not a full 40-character commit SHA")
    return f"{repository(graph, name)}:{sha}"


def latest_tag(graph: ImageGraph, name: str) -> str:
    return f"{repository(graph, name)}:{LATEST}"
