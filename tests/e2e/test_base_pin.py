"""`imagectl lock-base` moves the base pin only to a digest it read from a real pull; when
the tag cannot be pulled it says so and leaves the pin where it was."""

from __future__ import annotations

from pathlib import Path

from e2e_support import make_project


def test_a_base_that_cannot_be_pulled_leaves_the_pin_and_says_how_to_fix_it(
    tmp_path: Path,
) -> None:
    pinned = "local/no-such-base:trixie@sha256:" + "0" * 64
    project = make_project(tmp_path / "project", base_image=pinned)
    (project.root / ".gitlab-ci.yml").write_text(f"variables:\n  DEBIAN_IMAGE: {pinned}\n")
    before = {name: (project.root / name).read_text() for name in ("images.yml", ".gitlab-ci.yml")}
    result = project.run("lock-base", check=False)
    assert result.returncode == 4
    assert "cannot pull local/no-such-base:trixie" in result.stderr
    assert f"the pin stays {pinned}" in result.stderr and "fix:" in result.stderr
    assert {name: (project.root / name).read_text() for name in before} == before
