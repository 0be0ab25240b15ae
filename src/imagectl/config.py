"""The image graph (images.yml): which images exist, how each is built, and what it stands on."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from imagectl import platforms
from imagectl.errors import ConfigError

GRAPH_FILE = "images.yml"


@dataclass(frozen=True)
class BaseImage:
    """The root every parentless image is built FROM, with the local fallback's recipe."""

    image: str
    suite: str
    local_name: str


@dataclass(frozen=True)
class ImageSpec:
    """One image of the graph."""

    name: str
    dockerfile: Path
    context: Path
    requirements: Path | None
    parent: str | None = None
    build_args: dict[str, str] = field(default_factory=dict)
    # parent's distribution -> this image's distribution of the same module (xgboost-cpu ->
    # xgboost): the build uninstalls the first, and the parent's tests stop expecting it
    replaces: dict[str, str] = field(default_factory=dict)
    # OCI platforms the image is built for (linux/amd64, linux/arm64): its SHA tag in a
    # registry is an index over all of them when there are several
    platforms: tuple[str, ...] = platforms.DEFAULT

    @property
    def lock_file(self) -> Path | None:
        """The hash-locked requirements beside the `.in` requirements."""
        return self.requirements.with_suffix(".lock") if self.requirements else None


@dataclass(frozen=True)
class ImageGraph:
    root: Path
    registry: str
    base: BaseImage
    images: dict[str, ImageSpec]

    def get(self, name: str) -> ImageSpec:
        try:
            return self.images[name]
        except KeyError:
            known = ", ".join(sorted(self.images))
            raise ConfigError(
                f"unknown image {name!r}", f"use one of the images in {GRAPH_FILE}: {known}"
            ) from None

    def lineage(self, name: str) -> list[ImageSpec]:
        """The image and its ancestors, root first: whose tests a run of `name` covers."""
        chain = [self.get(name)]
        while chain[-1].parent:
            chain.append(self.get(chain[-1].parent))
        return chain[::-1]

    def build_order(self, names: list[str]) -> list[ImageSpec]:
        """The named images with the parents they need, each once, parents first."""
        order: list[ImageSpec] = []
        for name in names:
            for spec in self.lineage(name):
                if spec not in order:
                    order.append(spec)
        return order


def find_root(start: Path | None = None) -> Path:
    """The nearest directory at or above `start` that holds images.yml."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / GRAPH_FILE).is_file():
            return candidate
    raise ConfigError(
        f"no {GRAPH_FILE} in {here} or any directory above it",
        "run the command inside the image repository",
    )


def load(root: Path | None = None) -> ImageGraph:
    """Read and check images.yml; every problem names the file and the key."""
    root = root or find_root()
    path = root / GRAPH_FILE
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist", "restore it from git") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}", "fix the syntax there") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must be a mapping", "see the comments in images.yml")

    def need(mapping: object, key: str, where: str) -> object:
        if not isinstance(mapping, dict) or key not in mapping:
            raise ConfigError(f"{path}: {where} has no {key!r}", f"add {key!r} under {where}")
        return mapping[key]

    base_raw = need(raw, "base", "the top level")
    base = BaseImage(
        image=str(need(base_raw, "image", "base")),
        suite=str(need(base_raw, "suite", "base")),
        local_name=str(need(base_raw, "local_name", "base")),
    )
    images_raw = need(raw, "images", "the top level")
    if not isinstance(images_raw, dict) or not images_raw:
        raise ConfigError(f"{path}: 'images' must map names to images", "add at least one image")

    images: dict[str, ImageSpec] = {}
    for name, spec in images_raw.items():
        where = f"images.{name}"
        dockerfile = root / str(need(spec, "dockerfile", where))
        if not dockerfile.is_file():
            raise ConfigError(
                f"{path}: {where}.dockerfile {dockerfile.relative_to(root)} does not exist",
                "create that Dockerfile or correct the path",
            )
        build_args = spec.get("build_args") or {}
        if not isinstance(build_args, dict):
            raise ConfigError(f"{path}: {where}.build_args must be a mapping", "write KEY: value")
        replaces = spec.get("replaces") or {}
        if not isinstance(replaces, dict):
            raise ConfigError(
                f"{path}: {where}.replaces must be a mapping",
                "write parent-distribution: this-image's-distribution",
            )
        listed = spec.get("platforms") or list(platforms.DEFAULT)
        if not isinstance(listed, list) or not listed:
            raise ConfigError(
                f"{path}: {where}.platforms must be a list", "write [linux/amd64, linux/arm64]"
            )
        for platform in listed:
            try:
                platforms.get(str(platform))
            except ConfigError as exc:
                raise ConfigError(f"{path}: {where}.platforms: {exc}", exc.hint) from None
        requirements = spec.get("requirements")
        images[str(name)] = ImageSpec(
            name=str(name),
            dockerfile=dockerfile,
            context=root / str(spec.get("context", ".")),
            requirements=root / requirements if requirements else None,
            parent=spec.get("parent"),
            build_args={str(k): str(v) for k, v in build_args.items()},
            replaces={str(k): str(v) for k, v in replaces.items()},
            platforms=tuple(str(p) for p in listed),
        )
    for spec in images.values():
        if spec.replaces and not spec.parent:
            raise ConfigError(
                f"{path}: images.{spec.name}.replaces needs a parent whose packages it replaces",
                f"add a parent to images.{spec.name} or drop its replaces",
            )
        if spec.parent and spec.parent not in images:
            raise ConfigError(
                f"{path}: images.{spec.name}.parent {spec.parent!r} is not an image of the graph",
                f"use one of: {', '.join(sorted(images))}",
            )
        if spec.parent:
            missing = set(spec.platforms) - set(images[spec.parent].platforms)
            if missing:
                raise ConfigError(
                    f"{path}: images.{spec.name} lists {', '.join(sorted(missing))}, which its "
                    f"parent {spec.parent} is not built for",
                    f"add them to images.{spec.parent}.platforms or drop them here",
                )
    graph = ImageGraph(root=root, registry=str(raw.get("registry", "")), base=base, images=images)
    for name in images:  # a cycle would make lineage() loop forever
        seen: set[str] = set()
        current: str | None = name
        while current:
            if current in seen:
                raise ConfigError(f"{path}: images form a parent cycle at {current!r}", "break it")
            seen.add(current)
            current = images[current].parent
    return graph
