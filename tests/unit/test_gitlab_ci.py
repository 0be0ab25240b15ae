""".gitlab-ci.yml against images.yml, the one list of images: every image has a build job from
the build-dockerfile component with the image's Dockerfile, context, parent and build args, and
a test job whose pass the promote job receives; latest moves only on the default branch; a tag
releases the component. The file is read as GitLab reads it (imagectl.gitlab_ci.expand: the
component's inputs interpolated, includes merged, references resolved)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml
from support import ROOT

from imagectl import config, gitlab_ci, passes, platforms

CI_FILE = ROOT / ".gitlab-ci.yml"
TEMPLATE = ROOT / "templates" / ".build-dockerfile.yml"
COMPONENT = ROOT / "templates" / "build-dockerfile.yml"
GRAPH = config.load(ROOT)
# keys of a CI file that are not jobs
GLOBAL_KEYS = {"include", "workflow", "stages", "variables", "default"}


def load_ci() -> tuple[dict, dict[str, dict]]:
    """The CI file as GitLab builds it: (top level, {job: job with `extends` resolved})."""
    top = gitlab_ci.expand(CI_FILE, ROOT)
    raw = {k: v for k, v in top.items() if k not in GLOBAL_KEYS}

    def resolve(name: str) -> dict:
        job = raw[name]
        parents = job.get("extends", [])
        resolved: dict = {}
        for parent in [parents] if isinstance(parents, str) else parents:
            resolved = gitlab_ci.deep_merge(resolved, resolve(parent))
        resolved = gitlab_ci.deep_merge(resolved, {k: v for k, v in job.items() if k != "extends"})
        resolved.setdefault("_extends", set()).update(
            {parents} if isinstance(parents, str) else set(parents)
        )
        return resolved

    return top, {name: resolve(name) for name in raw if not name.startswith(".")}


TOP, JOBS = load_ci()
TEMPLATE_JOB = yaml.safe_load(TEMPLATE.read_text())[".build-dockerfile"]
COMPONENT_INCLUDES = {
    include["inputs"]["job_name"]: include
    for include in gitlab_ci.read(CI_FILE, ROOT).body["include"]
    if "component" in include
}


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path != ROOT else "."


def build_args(job: dict) -> dict[str, str]:
    lines = str(job["variables"].get("BUILD_ARGS", "")).splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip())


@pytest.mark.parametrize("name", list(GRAPH.images))
def test_every_image_has_a_build_job_from_the_template_with_its_graph_entry(name: str) -> None:
    spec = GRAPH.get(name)
    job = JOBS.get(f"build-{name}")
    assert job is not None, f"images.yml has {name} but .gitlab-ci.yml has no build-{name}"
    # made by the component, whose job is the template's
    assert f"build-{name}" in COMPONENT_INCLUDES
    assert job["script"] == TEMPLATE_JOB["script"] and job["stage"] == "build"
    variables = job["variables"]
    assert variables["IMAGE_NAME"] == name
    assert variables["DOCKERFILE"] == relative(spec.dockerfile)
    assert variables["CONTEXT"] == relative(spec.context)

    expected = dict(spec.build_args)
    if spec.parent:
        expected["BASE_IMAGE"] = f"$REGISTRY_URL/{spec.parent}:$CI_COMMIT_SHA"
        # the parent of this very commit must be in the registry first
        assert f"build-{spec.parent}" in job.get("needs", [])
    else:
        expected["BASE_IMAGE"] = "$DEBIAN_IMAGE"
    if spec.replaces:  # as imagectl's build passes them
        expected["REPLACES"] = " ".join(sorted(spec.replaces))
    assert build_args(job) == expected


def test_build_jobs_come_from_this_projects_component_at_the_pipelines_commit() -> None:
    for job_name, include in COMPONENT_INCLUDES.items():
        assert include["component"] == (
            "$CI_SERVER_FQDN/$CI_PROJECT_PATH/build-dockerfile@$CI_COMMIT_SHA"
        ), job_name
        # the component's default registry is where the test and promote jobs look
        assert "registry_url" not in include["inputs"], job_name
    registry_default = gitlab_ci.read(COMPONENT, ROOT).inputs["registry_url"]["default"]
    assert TOP["variables"]["REGISTRY_URL"] == registry_default


def test_the_root_images_base_is_images_yml_base_image() -> None:
    assert TOP["variables"]["DEBIAN_IMAGE"] == GRAPH.base.image


@pytest.mark.parametrize("name", list(GRAPH.images))
def test_every_image_has_a_test_job_that_hands_its_pass_to_promote(name: str) -> None:
    job = JOBS.get(f"test-{name}")
    assert job is not None, f"images.yml has {name} but .gitlab-ci.yml has no test-{name}"
    assert job["variables"]["IMAGE_NAME"] == name
    script = "\n".join(job["script"])
    assert 'imagectl pull "$IMAGE_NAME"' in script
    assert 'pytest --image "$IMAGE_NAME"' in script
    assert f"{passes.DIRECTORY}/" in job["artifacts"]["paths"]
    stages = TOP["stages"]
    assert stages.index("build") < stages.index(job["stage"]) < stages.index("promote")


def test_no_job_builds_or_tests_an_image_that_images_yml_lacks() -> None:
    architectures = {p.architecture for p in platforms.KNOWN.values()}
    for job in JOBS:
        prefix, _, image = job.partition("-")
        if image.rpartition("-")[2] in architectures:  # test-cpu-arm64: cpu on arm64
            image = image.rpartition("-")[0]
        if prefix in ("build", "test"):
            assert image in GRAPH.images, f"{job}: {image} is not in images.yml"


@pytest.mark.parametrize("name", list(GRAPH.images))
def test_the_build_job_builds_every_platform_of_images_yml_and_each_other_is_tested(
    name: str,
) -> None:
    listed = GRAPH.get(name).platforms
    include = COMPONENT_INCLUDES[f"build-{name}"]
    assert include["inputs"].get("platforms", "linux/amd64") == ",".join(listed)
    # the runners' own platform (amd64) is test-<name>; every other has test-<name>-<arch>
    for platform in map(platforms.get, listed[1:]):
        job = JOBS.get(f"test-{name}-{platform.architecture}")
        assert job is not None, f"no test job for {name} on {platform.name}"
        assert job["variables"]["IMAGE_NAME"] == name
        assert job["variables"]["PLATFORM"] == platform.name
        assert job["script"] == JOBS[f"test-{name}"]["script"]


def test_promote_moves_latest_of_every_image_on_the_default_branch_only() -> None:
    job = JOBS["promote"]
    stages = TOP["stages"]
    # after the stage of every job but the release, which only tag pipelines have
    for name, other in JOBS.items():
        if name not in ("promote", "release"):
            assert stages.index(other["stage"]) < stages.index(job["stage"]), name
    script = "\n".join(job["script"])
    for name in GRAPH.images:
        assert f"imagectl promote {name}" in script
    (rule,) = job["rules"]
    assert "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH" in rule["if"]
    assert '$CI_PIPELINE_SOURCE != "merge_request_event"' in rule["if"]
    # no `needs`: the promote stage starts only after every earlier job passed
    assert "needs" not in job and "dependencies" not in job


def test_only_merge_requests_the_default_branch_and_tags_get_a_pipeline() -> None:
    conditions = [rule["if"] for rule in TOP["workflow"]["rules"]]
    assert conditions == [
        '$CI_PIPELINE_SOURCE == "merge_request_event"',
        "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH",
        "$CI_COMMIT_TAG",
    ]


def test_gpu_tests_run_on_the_gpu_runner_one_job_at_a_time() -> None:
    job = JOBS["test-gpu"]
    assert job["tags"] == ["gpu"] and job["resource_group"]
    assert job["variables"]["GPU_TESTS_REQUIRE_GPU"] == "1"
    script = "\n".join(job["script"])
    assert "docker run --rm --gpus all" in script and "pytest /tests/gpu" in script
    # the pass is recorded by the image tests, so they run after the GPU tests
    assert script.index("--gpus all") < script.index('pytest --image "$IMAGE_NAME"')


@pytest.mark.parametrize("name", ["build-gpu", "test-gpu"])
def test_skip_gpu_leaves_the_gpu_jobs_out(name: str) -> None:
    assert JOBS[name]["rules"][0] == {"if": '$SKIP_GPU == "1"', "when": "never"}


def test_every_job_names_a_declared_stage() -> None:
    for name, job in JOBS.items():
        assert job["stage"] in TOP["stages"], name


def test_shared_runner_jobs_use_dind_over_tls() -> None:
    for name in ("build-cpu", "test-cpu"):
        job = JOBS[name]
        assert job["services"][0] == {"name": "$DOCKER_DIND_IMAGE", "alias": "docker"}
        variables = job["variables"]
        assert variables["DOCKER_HOST"] == "tcp://docker:2376"
        assert variables["DOCKER_TLS_CERTDIR"] == "/certs"
        assert variables["DOCKER_TLS_VERIFY"] == "1"


def test_a_release_job_publishes_the_component_on_version_tags_only_after_every_stage() -> None:
    job = JOBS["release"]
    assert job["stage"] == TOP["stages"][-1]
    assert job["release"]["tag_name"] == "$CI_COMMIT_TAG"
    assert "needs" not in job
    (rule,) = job["rules"]
    assert rule["if"].startswith("$CI_COMMIT_TAG =~ ")
    pattern = rule["if"].split("=~ ", 1)[1].strip("/")
    for tag in ("1.0.0", "12.3.45"):
        assert re.search(pattern, tag), tag
    for not_a_version in ("v1.0.0", "1.0", "1.0.0-rc1", "latest"):
        assert not re.search(pattern, not_a_version), not_a_version


def test_gitlabs_catalog_sees_one_component_build_dockerfile() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "templates"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert gitlab_ci.component_paths(tracked) == ["templates/build-dockerfile.yml"]


def test_every_component_input_has_a_type_and_a_description() -> None:
    inputs = gitlab_ci.read(COMPONENT, ROOT).inputs
    for name, settings in inputs.items():
        assert settings.get("type") in gitlab_ci.INPUT_TYPES, name
        assert len(settings.get("description", "")) > 20, name
    # the image name has no default: GitLab asks for it
    assert [name for name, settings in inputs.items() if "default" not in settings] == [
        "image_name"
    ]


def test_the_component_maps_every_input_to_the_templates_job() -> None:
    component = gitlab_ci.read(COMPONENT, ROOT)
    assert gitlab_ci.used_inputs(component.body) == set(component.inputs)
    (job_key,) = [key for key in component.body if key != "include"]
    job = component.body[job_key]
    assert job["extends"] == ".build-dockerfile"
    assert "script" not in job  # the one copy of the script is the template's
    # each variable the template reads is set from an input
    template_variables = {"IMAGE_NAME", "DOCKERFILE", *TEMPLATE_JOB["variables"]}
    set_here = set(job["variables"])
    assert set_here <= template_variables | {"DOCKER_DIND_IMAGE", "REGISTRY_URL"}
    assert {"IMAGE_NAME", "DOCKERFILE", "CONTEXT", "BUILD_ARGS", "PLATFORMS"} <= set_here


SCHEDULE_NEVER = {"if": '$CI_PIPELINE_SOURCE == "schedule"', "when": "never"}


def test_a_scheduled_pipeline_runs_the_update_job_and_nothing_else() -> None:
    update = JOBS["update"]
    assert update["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]
    assert update["script"] == ["imagectl update --push"]
    assert update["artifacts"]["paths"] == ["build/update/report.md"]
    for name, job in JOBS.items():
        if name in ("update", "release"):  # release: only tag pipelines, never a schedule's
            continue
        rules = job["rules"]
        assert SCHEDULE_NEVER in rules or '$CI_PIPELINE_SOURCE != "schedule"' in rules[0]["if"], (
            name
        )
