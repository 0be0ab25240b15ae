"""The update report (build/update/report.md, and the update merge request's description): per
image, what a user of the current `latest` gets by moving to the candidate: Python and Debian
package changes (major upgrades flagged), the bytes to pull, the size change and the test
result. It reads the diffs `diff.contents_diff` makes; it computes nothing of its own."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from imagectl.contents import human_size


@dataclass
class TestRun:
    """One image's test run: whether it passed, pytest's closing line, its failures."""

    passed: bool
    summary: str
    failures: list[str] = field(default_factory=list)


@dataclass
class ImageUpdate:
    """One image's part of the update."""

    name: str
    baseline: str  # what it is compared with, in words (e.g. the registry's latest, <ref>)
    candidate: str = ""  # the candidate's reference, once built
    diff: dict | None = None  # diff.contents_diff(baseline, candidate)
    tests: TestRun | None = None
    failure: str = ""  # a build that failed, or why the image was not built here
    skipped: bool = False  # changed, but not built here (not among the images asked for)

    @property
    def failed(self) -> bool:
        if self.skipped:
            return False
        return bool(self.failure) or bool(self.tests and not self.tests.passed)


def major(version: str) -> int | None:
    found = re.match(r"\d+", version)
    return int(found[0]) if found else None


def _release(version: str) -> tuple[int, ...]:
    found = re.match(r"\d+(?:\.\d+)*", version)
    return tuple(int(part) for part in found[0].split(".")) if found else ()


def change_kind(old: str, new: str) -> str:
    """upgraded, downgraded or changed (same release, another build); `major` when the first
    number of the version rises."""
    old_major, new_major = major(old), major(new)
    if old_major is not None and new_major is not None and new_major > old_major:
        return "major upgrade"
    if _release(new) > _release(old):
        return "upgraded"
    if _release(new) < _release(old):
        return "downgraded"
    return "changed"


def _package_section(title: str, changes: dict, flag_major: bool) -> list[str]:
    rows = [(name, "", version, "added") for name, version in changes["added"].items()]
    rows += [(name, version, "", "removed") for name, version in changes["removed"].items()]
    for name, (old, new) in changes["changed"].items():
        kind = change_kind(old, new)
        if not flag_major and kind == "major upgrade":
            kind = "upgraded"
        rows.append((name, old, new, kind))
    if not rows:
        return [f"**{title}:** no change", ""]
    counts = {k: sum(1 for r in rows if r[3] == k) for k in ("added", "removed")}
    moved = sum(1 for r in rows if r[3] not in ("added", "removed"))
    majors = sum(1 for r in rows if r[3] == "major upgrade")
    head = f"**{title}:** {counts['added']} added, {counts['removed']} removed, {moved} changed"
    if flag_major:
        head += f" ({majors} major upgrade{'s' if majors != 1 else ''})"
    lines = [head, "", "| package | from | to | change |", "|---|---|---|---|"]
    for name, old, new, kind in sorted(rows):
        shown = f"**{kind}**" if kind == "major upgrade" else kind
        lines.append(f"| {name} | {old} | {new} | {shown} |")
    return [*lines, ""]


def _size_change(diff: dict) -> str:
    old, new = diff["size"]
    if old is None or new is None:
        return "unknown"
    delta = new - old
    sign = "+" if delta >= 0 else "-"
    return f"{human_size(old)} → {human_size(new)} ({sign}{human_size(abs(delta))})"


def _pull(diff: dict) -> str:
    pull = diff["pull"]
    how = (
        "compressed, as in the registry"
        if pull["source"] == "registry"
        else "uncompressed layer sizes"
    )
    return f"{human_size(pull['bytes'])} in {pull['layers']} of {pull['of_layers']} layers ({how})"


def _test_line(update: ImageUpdate) -> str:
    if update.tests is None:
        return "not run" + (f": {update.failure}" if update.failure else "")
    verdict = "passed" if update.tests.passed else "**FAILED**"
    return f"{verdict} ({update.tests.summary})"


def image_section(update: ImageUpdate) -> list[str]:
    if update.skipped:
        return [f"## {update.name}: not built here", "", update.failure, ""]
    verdict = "tests FAILED" if update.failed else "tests passed"
    lines = [f"## {update.name}: {verdict}", "", f"Compared with {update.baseline}.", ""]
    if update.diff is None:
        return [*lines, f"Not built: {update.failure}", ""]
    lines += [
        "| | |",
        "|---|---|",
        f"| candidate | `{update.candidate}` |",
        f"| to pull, for a user of latest | {_pull(update.diff)} |",
        f"| image size | {_size_change(update.diff)} |",
        f"| tests | {_test_line(update)} |",
        "",
    ]
    lines += _package_section("Python packages", update.diff["python_packages"], True)
    lines += _package_section("Debian packages", update.diff["debian_packages"], False)
    if update.tests and update.tests.failures:
        lines += ["Failed tests:", "", "```", *update.tests.failures[:40], "```", ""]
    return lines


def render(
    date: str,
    changed_files: list[str],
    base_line: str,
    images: list[ImageUpdate],
    platform: str,
) -> str:
    """The whole report as Markdown."""
    lines = [
        f"# Image update of {date}",
        "",
        "Every lock re-resolved to the newest versions its requirements allow, and the base "
        "image's pin refreshed.",
        "",
        f"- changed: {', '.join(f'`{name}`' for name in changed_files)}",
        f"- base: {base_line}",
        f"- built and tested here for {platform} only; this merge request's pipeline builds "
        "and tests every platform of images.yml, and merging it promotes",
        "",
    ]
    if any(update.failed for update in images):
        lines += [
            "**Draft: a build or image test failed** (below). Fix it on this branch, or close "
            "the merge request and let the next scheduled update try again.",
            "",
        ]
    for update in images:
        lines += image_section(update)
    return "\n".join(lines).rstrip() + "\n"


def nothing_to_update(date: str, base_line: str) -> str:
    return (
        f"# Image update of {date}\n\nNothing to update: every lock resolves to the versions "
        f"it pins, and the base pin stays.\n\n- base: {base_line}\n"
    )


def title_summary(images: list[ImageUpdate]) -> str:
    """A few words for the merge request's title: the Python changes of the first image."""
    for update in images:
        if update.diff is None:
            continue
        changes = update.diff["python_packages"]
        moved = [f"{name} {old} → {new}" for name, (old, new) in changes["changed"].items()]
        moved += [f"+{name}" for name in changes["added"]]
        moved += [f"-{name}" for name in changes["removed"]]
        if moved and len(moved) <= 2:
            return ", ".join(moved)
        if moved:
            return f"{len(moved)} Python packages"
    return "locks and base"
