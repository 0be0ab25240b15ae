"""Local clean-up for long-lived build hosts: every merge leaves a new SHA-tagged image of a few
GB, so old ones are removed, keeping what is in use. The build cache is never touched (it is
what keeps rebuilds fast), and neither are images of other repositories."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import docker
import docker.errors
import docker.models.images

from imagectl import tags
from imagectl.config import ImageGraph

_SHA_TAG = re.compile(r":[0-9a-f]{40}$")
TITLE = "org.opencontainers.image.title"
SOURCE = "org.opencontainers.image.source"
CREATED = "org.opencontainers.image.created"


@dataclass(frozen=True)
class Removal:
    target: str  # a tag, or an image ID for an untagged leftover
    created: str
    reason: str


def plan(
    docker_client: docker.DockerClient, graph: ImageGraph, current_sha: str, source: str, keep: int
) -> list[Removal]:
    """What `prune` removes: per image, SHA tags other than the current one, `latest`'s and the
    `keep` newest; and untagged earlier builds of this repository's images."""
    removals: list[Removal] = []
    for name in graph.images:
        repository = tags.repository(graph, name)
        keep_tags = {tags.sha_tag(graph, name, current_sha)}
        keep_ids: set[str] = set()
        candidates: list[tuple[str, str, str]] = []  # (created, tag, image ID)
        for image in docker_client.images.list(name=repository):
            if tags.latest_tag(graph, name) in image.tags:
                keep_ids.add(image.id)
            for tag in image.tags:
                if tag.startswith(f"{repository}:") and _SHA_TAG.search(tag):
                    candidates.append((_built(image), tag, image.id))
        kept = 0
        for created, tag, image_id in sorted(candidates, reverse=True):  # newest first
            if tag in keep_tags or image_id in keep_ids:
                continue
            if kept < keep:
                kept += 1
                continue
            removals.append(Removal(tag, created, "an older version"))
        leftovers = docker_client.images.list(
            filters={"dangling": True, "label": [f"{TITLE}={name}", f"{SOURCE}={source}"]}
        )
        for image in leftovers:
            removals.append(Removal(image.id, _built(image), "an untagged earlier build"))
    return removals


def _built(image: docker.models.images.Image) -> str:
    """Its commit's time (the created label the tool writes), which orders versions; the
    engine's own `Created` only where the label is missing."""
    labels = image.attrs["Config"].get("Labels") or {}
    return labels.get(CREATED) or image.attrs["Created"]


def prune(
    docker_client: docker.DockerClient, removals: list[Removal], echo: Callable[[str], None]
) -> int:
    """Remove what `plan` chose; an image a container still uses is kept. Returns the count."""
    removed = 0
    for removal in removals:
        try:
            docker_client.images.remove(removal.target)
        except docker.errors.ImageNotFound:
            continue
        except docker.errors.APIError as exc:
            echo(f"kept {removal.target}: {exc.explanation or exc}")
            continue
        removed += 1
        echo(f"removed {removal.target} ({removal.reason}, built {removal.created[:19]})")
    return removed
