"""The one tag scheme: <registry>/<image>:<full commit sha>, immutable, and :latest."""

from __future__ import annotations

import os
import re

from imagectl.config import ImageGraph
from imagectl.errors import ConfigError
from imagectl.platforms import Platform

LATEST = "latest"
_SHA = re.compile(r"^[0-9a-f]{40}$")


def registry(graph: ImageGraph) -> str:
    """Where images are tagged and pushed: REGISTRY_URL (as the CI template names it), else
    the local default from images.yml."""
    return (os.environ.get("REGISTRY_URL") or graph.registry).rstrip("/")


def registry_host(graph: ImageGraph) -> str:
    """The host[:port] part of the registry path, which logins and connections name."""
    return registry(graph).split("/", 1)[0]


def repository(graph: ImageGraph, name: str) -> str:
    return f"{registry(graph)}/{name}"


def sha_tag(graph: ImageGraph, name: str, sha: str) -> str:
    if not _SHA.match(sha):
        raise ValueError(f"{sha!r} is not a full 40-character commit SHA")
    return f"{repository(graph, name)}:{sha}"


def platform_tag(graph: ImageGraph, name: str, sha: str, platform: Platform) -> str:
    """One platform's image of a SHA version: `<sha>-linux-arm64`. The engine keeps one
    platform per tag, so each platform's build has its own; in a registry the SHA tag is the
    index over them."""
    return f"{sha_tag(graph, name, sha)}-{platform.slug}"


def latest_tag(graph: ImageGraph, name: str) -> str:
    return f"{repository(graph, name)}:{LATEST}"


def resolve(graph: ImageGraph, text: str) -> str:
    """A version named on the command line: NAME:TAG or NAME@DIGEST with NAME from the
    graph, or any full reference (one with a '/') as it is."""
    if "/" in text:
        return text
    name, sep, version = text.partition("@") if "@" in text else text.partition(":")
    if not sep or not version:
        raise ConfigError(
            f"{text!r} names no version",
            f"write {name}:<full commit sha>, {name}:latest or {name}@sha256:<digest>",
        )
    graph.get(name)
    return f"{repository(graph, name)}{sep}{version}"


def version_tag(graph: ImageGraph, name: str, sha: str) -> str:
    """sha_tag for a SHA typed by a person: a bad one is a ConfigError, not a traceback."""
    graph.get(name)
    try:
        return sha_tag(graph, name, sha)
    except ValueError as exc:
        raise ConfigError(str(exc), "give the full SHA: `git rev-parse COMMIT`") from None
