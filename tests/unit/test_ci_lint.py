"""`imagectl ci-lint` (imagectl.gitlab_ci): GitLab's schema on every YAML document of the CI
files, a component's spec header included; an include's inputs checked with GitLab's rules and
messages; the configuration expanded as GitLab builds it. Run on copies of the project's own CI
files, broken one way at a time."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from support import IMAGECTL, ROOT

from imagectl import gitlab_ci
from imagectl.errors import CiConfigError

CI_FILES = [".gitlab-ci.yml", "templates/.build-dockerfile.yml", "templates/build-dockerfile.yml"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project's CI files (and images.yml, which marks the project's root)."""
    for name in [*CI_FILES, "images.yml"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tmp_path / name)
    return tmp_path


def lint(root: Path) -> list[str]:
    return gitlab_ci.lint([root / name for name in CI_FILES], root)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_the_projects_ci_files_pass() -> None:
    assert lint(ROOT) == []


def test_ci_lint_command_fails_and_names_the_problem(project: Path) -> None:
    edit(project / ".gitlab-ci.yml", "image_name: gpu", "image_nmae: gpu")
    result = subprocess.run([IMAGECTL, "ci-lint"], cwd=project, capture_output=True, text=True)
    assert result.returncode == 7
    assert "unknown input arguments: image_nmae" in result.stderr
    ok = subprocess.run([IMAGECTL, "ci-lint"], cwd=ROOT, capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.strip() == "ok: 3 CI file(s)", ok.stderr


def test_a_misspelt_job_key_in_the_pipeline_fails_the_schema(project: Path) -> None:
    edit(project / ".gitlab-ci.yml", "\n  stage: promote\n", "\n  stagee: promote\n")
    (problem,) = lint(project)
    assert "GitLab's schema" in problem and "stagee" in problem
    assert ".gitlab-ci.yml (configuration)::$.promote" in problem


def test_a_misspelt_key_in_the_components_job_fails_the_schema(project: Path) -> None:
    edit(project / "templates/build-dockerfile.yml", "  stage: $[[", "  stagee: $[[")
    (problem,) = lint(project)
    assert "templates/build-dockerfile.yml (configuration)" in problem and "stagee" in problem


def test_a_misspelt_key_in_the_components_spec_header_fails_the_schema(project: Path) -> None:
    edit(project / "templates/build-dockerfile.yml", "spec:\n  inputs:", "spec:\n  inputz:")
    problems = lint(project)
    assert "templates/build-dockerfile.yml (header)::$.spec" in problems[0]
    assert "'inputz' was unexpected" in problems[0]


def test_a_misspelt_setting_of_an_input_is_reported_as_gitlab_does(project: Path) -> None:
    edit(
        project / "templates/build-dockerfile.yml", "      regex: ^(linux", "      regexp: ^(linux"
    )
    assert lint(project) == [
        "`templates/build-dockerfile.yml`: header:spec:inputs:platforms config contains unknown "
        "keys: regexp"
    ]


def test_an_interpolation_of_an_undeclared_input_is_reported(project: Path) -> None:
    edit(project / "templates/build-dockerfile.yml", "inputs.platforms ]]", "inputs.platfroms ]]")
    assert "`templates/build-dockerfile.yml`: unknown interpolation key: `platfroms`" in lint(
        project
    )


def test_a_default_that_breaks_its_own_regex_is_reported(project: Path) -> None:
    edit(
        project / "templates/build-dockerfile.yml",
        'platforms:\n      type: string\n      default: ""',
        'platforms:\n      type: string\n      default: "linux/amd64 linux/arm64"',
    )
    message = "`platforms` input: default value does not match required RegEx pattern"
    # in the component itself, and where the pipeline includes it without a platform
    assert lint(project) == [
        f".gitlab-ci.yml: `templates/build-dockerfile.yml`: {message}",
        f"`templates/build-dockerfile.yml`: {message}",
    ]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "image_name: gpu",
            "image_name: gpu\n      image_nmae: gpu",
            "unknown input arguments: image_nmae",
        ),
        ("image_name: gpu", "image_name: 5", "`image_name` input: provided value is not a string"),
        (
            "image_name: gpu",
            "job_nam: build-gpu",
            "unknown input arguments: job_nam, `image_name` input: required value has not been "
            "provided",
        ),
        (
            "dockerfile: docker/gpu.Dockerfile",
            "dockerfile: docker/gpu.Dockerfile\n      platforms: linux/amd64 linux/arm64",
            "`platforms` input: provided value does not match required RegEx pattern",
        ),
    ],
    ids=["unknown", "wrong-type", "missing-required", "regex"],
)
def test_bad_inputs_of_an_include_get_gitlabs_message(
    project: Path, old: str, new: str, message: str
) -> None:
    edit(project / ".gitlab-ci.yml", old, new)
    assert lint(project) == [f".gitlab-ci.yml: `templates/build-dockerfile.yml`: {message}"]


def test_options_and_types_as_gitlab_checks_them() -> None:
    spec = {
        "env": {"options": ["test", "production"], "default": "test"},
        "count": {"type": "number", "default": 1},
        "flag": {"type": "boolean", "default": False},
        "names": {"type": "array", "default": []},
    }
    assert gitlab_ci.check_inputs(spec, {}) == []
    assert gitlab_ci.check_inputs(spec, {"env": "staging"}) == [
        "`env` input: `staging` cannot be used because it is not in the list of allowed options"
    ]
    # YAML's true is no number, and "1" is no number either
    assert gitlab_ci.check_inputs(spec, {"count": True, "flag": "yes", "names": "a"}) == [
        "`count` input: provided value is not a number",
        "`flag` input: provided value is not a boolean",
        "`names` input: provided value is not a array",
    ]
    assert gitlab_ci.check_inputs({"x": {"type": "text"}}, {}) == [
        "unknown input specification for `x` (valid types: array, boolean, number, string)"
    ]


def test_interpolation_keeps_a_lone_inputs_type_and_writes_text_within_text() -> None:
    body = {"$[[ inputs.name ]]": {"parallel": "$[[ inputs.count ]]", "x": "n=$[[inputs.count]]"}}
    assert gitlab_ci.interpolate(body, {"name": "job", "count": 3}, "f.yml") == {
        "job": {"parallel": 3, "x": "n=3"}
    }
    with pytest.raises(CiConfigError, match=r"`f.yml`: unknown interpolation key: `other`"):
        gitlab_ci.interpolate(["$[[ inputs.other ]]"], {}, "f.yml")


def test_expand_merges_includes_under_the_including_file_and_resolves_references(
    tmp_path: Path,
) -> None:
    (tmp_path / "part.yml").write_text(
        "spec:\n  inputs:\n    name:\n    stage:\n      default: build\n---\n"
        "$[[ inputs.name ]]:\n  stage: $[[ inputs.stage ]]\n  variables: {A: a, B: b}\n"
        "  script: [make]\n"
    )
    (tmp_path / ".gitlab-ci.yml").write_text(
        "include:\n  - local: /part.yml\n    inputs: {name: one}\n"
        "  - remote: https://example.invalid/other.yml\n"
        ".common:\n  script: [setup, check]\n"
        "one:\n  variables: {B: mine}\n  script: [!reference [.common, script], done]\n"
    )
    config = gitlab_ci.expand(tmp_path / ".gitlab-ci.yml", tmp_path)
    assert config["one"] == {
        "stage": "build",
        "variables": {"A": "a", "B": "mine"},
        "script": ["setup", "check", "done"],
    }
    assert "include" not in config


def test_inputs_to_a_file_without_a_spec_header_are_refused(tmp_path: Path) -> None:
    (tmp_path / "plain.yml").write_text("job:\n  script: [make]\n")
    (tmp_path / ".gitlab-ci.yml").write_text("include:\n  - local: plain.yml\n    inputs: {a: 1}\n")
    with pytest.raises(CiConfigError, match=r"^`plain.yml`: unknown input arguments$"):
        gitlab_ci.expand(tmp_path / ".gitlab-ci.yml", tmp_path)


def test_the_catalog_takes_templates_yml_files_and_template_folders_only() -> None:
    files = [
        "templates/build-dockerfile.yml",
        "templates/.build-dockerfile.yml",
        "templates/scan/template.yml",
        "templates/scan/helper.yml",
        "templates/project/docker-compose.yml",
        "build-dockerfile.yml",
    ]
    assert gitlab_ci.component_paths(files) == [
        "templates/build-dockerfile.yml",
        "templates/scan/template.yml",
    ]
