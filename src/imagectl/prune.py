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
from imagectl.engine import has_image

# <sha>, and one platform's build of it: <sha>-linux-arm64
_SHA_TAG = re.compile(r":([0-9a-f]{40})(-[a-z0-9]+-[a-z0-9]+)?$")
TITLE = "org.opencontainers.image.title"
SOURCE = "org.opencontainers.image.source"
CREATED = "org.opencontainers.image.created"


@dataclass(frozen=True)
class Removal:
    target: str  # a tag, or an image ID for an untagged leftover
    created: str
    reason: str
    image_id: str = ""


def plan(
    docker_client: docker.DockerClient, graph: ImageGraph, current_sha: str, source: str, keep: int
) -> list[Removal]:
    """What `prune` removes: per image, the tags of SHA versions other than the current one,
    `latest`'s and the `keep` newest (a version's tags are `<sha>` and each platform's
    `<sha>-<platform>`, kept or removed together); and untagged earlier builds of this
    repository's images."""
    removals: list[Removal] = []
    for name in graph.images:
        repository = tags.repository(graph, name)
        keep_shas = {current_sha}
        versions: dict[str, list[tuple[str, str, str]]] = {}  # sha -> (created, tag, image ID)
        for image in docker_client.images.list(name=repository):
            for tag in image.tags:
                match = _SHA_TAG.search(tag) if tag.startswith(f"{repository}:") else None
                if match:
                    versions.setdefault(match[1], []).append((_built(image), tag, image.id))
                    if tags.latest_tag(graph, name) in image.tags:
                        keep_shas.add(match[1])
        newest_first = sorted(versions, key=lambda sha: max(versions[sha]), reverse=True)
        kept = 0
        for sha in newest_first:
            if sha in keep_shas:
                continue
            if kept < keep:
                kept += 1
                continue
            for created, tag, image_id in sorted(versions[sha], key=lambda v: v[1]):
                removals.append(Removal(tag, created, "an older version", image_id))
        leftovers = docker_client.images.list(
            filters={"dangling": True, "label": [f"{TITLE}={name}", f"{SOURCE}={source}"]}
        )
        for image in leftovers:
            removals.append(Removal(image.id, _built(image), "an untagged earlier build", image.id))
    return removals


def _built(image: docker.models.images.Image) -> str:
    """Its commit's time (the created label the tool writes), which orders versions; the
    engine's own `Created` only where the label is missing."""
    labels = image.attrs["Config"].get("Labels") or {}
    return labels.get(CREATED) or image.attrs["Created"]


def prune(
    docker_client: docker.DockerClient, removals: list[Removal], echo: Callable[[str], None]
) -> int:
    """Remove what `plan` chose; an image a container still uses is kept. Returns how many
    images went (an image goes with the last of its tags)."""
    gone: set[str] = set()
    for removal in removals:
        try:
            docker_client.images.remove(removal.target)
        except docker.errors.ImageNotFound:
            continue
        except docker.errors.APIError as exc:
            echo(f"kept {removal.target}: {exc.explanation or exc}")
            continue
        echo(f"removed {removal.target} ({removal.reason}, built {removal.created[:19]})")
        if removal.image_id and not has_image(docker_client, removal.image_id):
            gone.add(removal.image_id)
    return len(gone)
