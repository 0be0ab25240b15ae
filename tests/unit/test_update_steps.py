"""The parts of `imagectl update` that need no engine or network: which images an update
rebuilds, the report a reviewer reads, the push options that open the merge request, and the
reason a failed resolution gives. tests/e2e/test_update.py runs the whole update."""

from __future__ import annotations

from pathlib import Path

from support import ROOT

from imagectl import config, lock, merge_request, report, update

GRAPH = config.load(ROOT)


def test_a_bump_in_cpus_layers_rebuilds_cpu_and_the_gpu_image_built_on_it() -> None:
    changed = [
        Path("docker/requirements/cpu.lock"),
        Path("docker/requirements/cpu.layers/4-extras.txt"),
    ]
    assert update.changed_images(GRAPH, changed) == ["cpu", "gpu"]


def test_a_bump_in_gpus_lock_alone_rebuilds_only_gpu() -> None:
    assert update.changed_images(GRAPH, [Path("docker/requirements/gpu.lock")]) == ["gpu"]


def test_a_new_base_pin_or_installer_rebuilds_every_image() -> None:
    for changed in ("images.yml", "docker/requirements/uv.lock"):
        assert update.changed_images(GRAPH, [Path(changed)]) == ["cpu", "gpu"]


def test_the_pinned_files_are_the_locks_their_layers_and_the_base_pins() -> None:
    files = set(map(str, update.pinned_files(ROOT)))
    assert {"docker/requirements/cpu.lock", "docker/requirements/uv.lock", "images.yml"} <= files
    assert "docker/requirements/cpu.layers/4-extras.txt" in files
    assert ".gitlab-ci.yml" in files and not any(f.endswith(".in") for f in files)


def test_major_upgrades_are_flagged_and_other_moves_named() -> None:
    assert report.change_kind("1.26.4", "2.0.0") == "major upgrade"
    assert report.change_kind("4.67.1", "4.70.1") == "upgraded"
    assert report.change_kind("4.70.1", "4.67.1") == "downgraded"
    assert report.change_kind("2.41-12", "2.41-12+deb13u1") == "changed"


def _diff(python: dict, debian: dict | None = None) -> dict:
    empty = {"added": {}, "removed": {}, "changed": {}}
    return {
        "python_packages": {**empty, **python},
        "debian_packages": {**empty, **(debian or {})},
        "size": [1_780_000_000, 1_780_012_300],
        "pull": {"bytes": 7_600_000, "layers": 6, "of_layers": 12, "source": "local"},
    }


def test_the_report_shows_changes_bytes_to_pull_size_and_the_test_result() -> None:
    image = report.ImageUpdate(
        "cpu",
        baseline="the registry's latest",
        candidate="r/cpu:abc",
        diff=_diff(
            {"changed": {"tqdm": ["4.67.1", "4.70.1"], "numpy": ["1.26.4", "2.0.0"]}},
            {"changed": {"libc6": ["2.41-12", "2.41-12+deb13u1"]}},
        ),
        tests=report.TestRun(True, "97 passed in 44.1s"),
    )
    text = report.render(
        "2026-11-29", ["docker/requirements/cpu.lock"], "pin stays", [image], "linux/amd64"
    )
    assert "| tqdm | 4.67.1 | 4.70.1 | upgraded |" in text
    assert "| numpy | 1.26.4 | 2.0.0 | **major upgrade** |" in text
    assert "(1 major upgrade)" in text
    assert "| libc6 | 2.41-12 | 2.41-12+deb13u1 | changed |" in text
    assert "7.6 MB in 6 of 12 layers" in text
    assert "1.8 GB → 1.8 GB (+12.3 kB)" in text
    assert "passed (97 passed in 44.1s)" in text
    assert "linux/amd64 only" in text and "Draft" not in text


def test_a_failed_test_makes_the_report_a_draft_that_lists_the_failure() -> None:
    image = report.ImageUpdate(
        "cpu",
        baseline="HEAD's image",
        candidate="r/cpu:abc",
        diff=_diff({}),
        tests=report.TestRun(False, "1 failed in 2.0s", ["FAILED test_x.py::test_fonts - boom"]),
    )
    text = report.render(
        "2026-11-29", ["docker/requirements/cpu.lock"], "pin stays", [image], "linux/amd64"
    )
    assert image.failed
    assert "**Draft: a build or image test failed**" in text
    assert "FAILED test_x.py::test_fonts - boom" in text
    assert "**Python packages:** no change" in text


def test_the_description_travels_as_one_line_within_gits_limit() -> None:
    text = "# Update\n\n| a | b |\n" + "x" * 100
    assert merge_request.encode_description(text) == text.replace("\n", "\\n")
    long = "line\n" * 20_000
    encoded = merge_request.encode_description(long)
    assert "\n" not in encoded
    assert len(encoded.encode()) <= merge_request.MAX_DESCRIPTION_BYTES
    assert encoded.endswith("build/update/report.md)")


def test_the_push_options_open_a_merge_request_and_a_draft_says_so_in_its_title() -> None:
    request = merge_request.MergeRequest("update/2026-11-29", "main", "Update", "a\nb", draft=True)
    assert merge_request.push_options(request) == [
        "merge_request.create",
        "merge_request.target=main",
        "merge_request.title=Draft: Update",
        "merge_request.description=a\\nb",
        "merge_request.remove_source_branch",
    ]


def test_in_a_gitlab_job_the_branch_goes_to_the_projects_url_not_the_job_tokens_origin() -> None:
    env = {"CI_SERVER_URL": "https://gitlab.example.com", "CI_PROJECT_PATH": "g/p"}
    assert merge_request.push_url(env) == "https://gitlab.example.com/g/p.git"
    assert merge_request.push_url({}) == "origin"


def test_an_unresolvable_requirement_is_named_in_the_error() -> None:
    output = (
        "error: No solution found when resolving dependencies\n"
        "  cause: Because only tqdm<=4.70.1 is available and you require tqdm>=999, we can "
        "conclude that your requirements are unsatisfiable.\n"
    )
    reason = lock.resolver_error(output)
    assert "you require tqdm>=999" in reason and "No solution" not in reason
