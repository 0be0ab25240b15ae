"""A new analysis project on a pinned image version: compose files, a Dockerfile that extends
the image, .env, a README and a VS Code Dev Containers configuration, rendered from
templates/project/."""

from __future__ import annotations

import os
import re
from pathlib import Path

from imagectl.errors import ConfigError

# template file -> name in the project (dotfiles are kept visible in templates/)
_RENAMES = {
    "env": ".env",
    "dockerignore": ".dockerignore",
    "gitignore": ".gitignore",
    # VS Code Dev Containers: the compose service `jupyter`, the project as the workspace
    "devcontainer": ".devcontainer",
}
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
_PROJECT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# folders the project starts with; .gitkeep so git keeps them
_FOLDERS = ("data", "notebooks", "src", "wheels")


def templates_dir(root: Path) -> Path:
    return root / "templates" / "project"


def host_ids(directory: Path) -> tuple[int, int]:
    """Whose files the notebook should write: the project folder's owner, else the caller;
    root maps to the image's own user, since Jupyter does not run as root."""
    for uid, gid in ((directory.stat().st_uid, directory.stat().st_gid),
                     (os.getuid(), os.getgid())):  # fmt: skip
        if uid != 0:
            return uid, gid
    return 1000, 1000


def render(text: str, values: dict[str, str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        return values[match[1]]

    return _PLACEHOLDER.sub(substitute, text)


def create(
    root: Path, directory: Path, image_ref: str, port: int = 8888, user: str = "analyst"
) -> list[Path]:
    """Write the project into `directory` (new or empty); returns the files written."""
    if directory.exists() and any(directory.iterdir()):
        raise ConfigError(
            f"{directory} exists and is not empty",
            "choose a new directory; nothing was written",
        )
    project = directory.resolve().name.lower()
    if not _PROJECT_NAME.match(project):
        raise ConfigError(
            f"{project!r} cannot name a compose project",
            "use lowercase letters, digits, '-' and '_' for the directory name",
        )
    directory.mkdir(parents=True, exist_ok=True)
    uid, gid = host_ids(directory)
    values = {
        "project": project,
        "image_ref": image_ref,
        "port": str(port),
        "user": user,
        "host_uid": str(uid),
        "host_gid": str(gid),
    }
    written = []
    templates = templates_dir(root)
    for template in sorted(p for p in templates.rglob("*") if p.is_file()):
        parts = template.relative_to(templates).parts
        target = directory.joinpath(*(_RENAMES.get(part, part) for part in parts))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(template.read_text(), values))
        written.append(target)
    for folder in _FOLDERS:
        (directory / folder).mkdir()
        (directory / folder / ".gitkeep").touch()
    return written
