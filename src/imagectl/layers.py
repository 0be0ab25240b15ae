"""Install layers: a lock split along `# layer: NAME` markers in the `.in` file, so that a
package bump rebuilds, and users re-pull, only the layer holding that package and the ones
after it. Heavy, stable groups come first; small, often-bumped packages last."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from imagectl.errors import ConfigError
from imagectl.lock import normalize, requirement_name

MARKER = re.compile(r"^#\s*layer:\s*([a-z0-9-]+)\s*$")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==")


@dataclass
class LockEntry:
    """One pinned package of a uv lock: its text (pin and hashes) and who needs it."""

    name: str
    lines: list[str]
    needed_by: list[str] = field(default_factory=list)  # "-r <file>" for a direct requirement


def requirement_layers(requirements: Path) -> list[tuple[str, list[str]]]:
    """[(layer name, [required names])] in file order; lines before any marker form 'base'."""
    layers: list[tuple[str, list[str]]] = [("base", [])]
    for line in requirements.read_text().splitlines():
        marker = MARKER.match(line.strip())
        if marker:
            if layers[-1][1] or layers[-1][0] != "base":
                layers.append((marker[1], []))
            else:
                layers[-1] = (marker[1], [])
            continue
        requirement = requirement_name(line)
        if requirement:
            layers[-1][1].append(normalize(requirement))
    return [(name, names) for name, names in layers if names]


def parse_lock(text: str) -> list[LockEntry]:
    """The entries of a `uv pip compile --generate-hashes` output, with their `# via` lines."""
    entries: list[LockEntry] = []
    in_via = False
    for line in text.splitlines():
        pin = _PIN.match(line)
        if pin:
            entries.append(LockEntry(normalize(pin[1]), [line]))
            in_via = False
        elif entries and line.startswith("    --hash="):
            entries[-1].lines.append(line)
        elif entries and line.strip().startswith("# via"):
            rest = line.strip().removeprefix("# via").strip()
            entries[-1].needed_by += [rest] if rest else []
            in_via = not rest
        elif entries and in_via and line.strip().startswith("#   "):
            entries[-1].needed_by.append(line.strip().removeprefix("#").strip())
        else:
            in_via = False
    return entries


def assign(entries: list[LockEntry], layers: list[tuple[str, list[str]]]) -> list[list[LockEntry]]:
    """Each package goes to the earliest layer whose requirements need it, directly or through
    others, so a layer never depends on a later one."""
    layer_of_requirement = {
        name: index for index, (_, names) in enumerate(layers) for name in names
    }
    by_name = {entry.name: entry for entry in entries}
    memo: dict[str, int] = {}

    def layer(name: str, seen: frozenset[str] = frozenset()) -> int:
        if name in memo:
            return memo[name]
        candidates = [layer_of_requirement[name]] if name in layer_of_requirement else []
        for parent in by_name[name].needed_by:
            parent = normalize(parent)
            if parent in by_name and parent not in seen:  # "-r cpu.in" is the requirement itself
                candidates.append(layer(parent, seen | {name}))
        if not candidates:
            raise ConfigError(
                f"{name} is in the lock but no requirement needs it", "re-run `make lock`"
            )
        memo[name] = min(candidates)
        return memo[name]

    split: list[list[LockEntry]] = [[] for _ in layers]
    for entry in entries:
        split[layer(entry.name)].append(entry)
    return split


def layer_dir(lock: Path) -> Path:
    return lock.with_suffix(".layers")


def write_layers(requirements: Path, lock: Path) -> list[Path]:
    """Write `<image>.layers/<n>-<name>.txt` beside the lock; returns their paths (none when
    the requirements have no layer markers)."""
    layers = requirement_layers(requirements)
    directory = layer_dir(lock)
    for old in directory.glob("*.txt"):
        old.unlink()
    if len(layers) < 2:
        return []
    directory.mkdir(exist_ok=True)
    paths = []
    for index, ((name, _), entries) in enumerate(
        zip(layers, assign(parse_lock(lock.read_text()), layers), strict=True), start=1
    ):
        path = directory / f"{index}-{name}.txt"
        body = "\n".join(line for entry in entries for line in entry.lines)
        path.write_text(
            f"# Layer {index} of {lock.name}, written by `imagectl lock`: do not edit.\n{body}\n"
        )
        paths.append(path)
    return paths
