"""The build-dockerfile component (templates/build-dockerfile.yml) as another project uses it:
included with inputs of its own, run by gitlab-ci-local (tests/harness/gitlab_local.py) in a clone
of the work tree against a registry of its own; and bad inputs, refused when the pipeline is
created.

gitlab-ci-local resolves `include: component:` of the project it runs in, at HEAD's commit;
that is the form the CI files here use. It checks the type and the presence of the inputs a
component's body interpolates, with GitLab's messages, but not unknown inputs (4.73.0, and
4.75.1 neither): `imagectl ci-lint` checks all three as GitLab does, so each case is shown with
it too.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
import yaml
from support import IMAGECTL

from harness.gitlab_local import (
    ROOT,
    LocalGitLab,
    PipelineSetupError,
    clone_work_tree,
    gitlab_ci_local,
    list_jobs,
    local_gitlab,
)
from imagectl import registry

CI_FILE = "component-e2e.gitlab-ci.yml"
COMPONENT = "$CI_SERVER_FQDN/$CI_PROJECT_PATH/build-dockerfile@$CI_COMMIT_SHA"
# another image, from a Dockerfile and a context of its own: its COPY finds greeting.txt only
# in that context
APP_FILES = {
    "e2e-app/app.Dockerfile": "FROM scratch\nCOPY greeting.txt /greeting.txt\n",
    "e2e-app/greeting.txt": "hello from the component\n",
}


def pipeline_file(inputs: str, stages: str = "[build]") -> str:
    """A project's CI file that includes the component with `inputs` (YAML lines)."""
    indented = "".join(f"      {line.strip()}\n" for line in inputs.strip().splitlines())
    return f"stages: {stages}\ninclude:\n  - component: {COMPONENT}\n    inputs:\n{indented}"


@pytest.fixture(scope="module")
def gitlab(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[LocalGitLab]:
    with local_gitlab(tmp_path_factory.mktemp("component"), docker_client) as local:
        yield local


def test_inputs_other_than_the_defaults_take_effect(gitlab: LocalGitLab) -> None:
    for name, text in APP_FILES.items():
        (gitlab.clone / name).parent.mkdir(parents=True, exist_ok=True)
        (gitlab.clone / name).write_text(text)
    # stage package: were the default (build) used, the pipeline would not start
    (gitlab.clone / CI_FILE).write_text(
        pipeline_file(
            """
            job_name: build-app
            stage: package
            image_name: team/app
            dockerfile: e2e-app/app.Dockerfile
            context: e2e-app
            platforms: linux/arm64
            """,
            stages="[package]",
        )
    )
    gitlab.git("add", "-A")
    sha = gitlab.commit("a project that builds its image with the component")

    pipeline = gitlab.run_pipeline(ci_file=CI_FILE, log=gitlab.clone.parent / "component.log")
    assert pipeline.returncode == 0, pipeline.tail()
    assert pipeline.jobs == {"build-app": "PASS"}
    assert f"pushed {gitlab.registry_url}/team/app:{sha}" in pipeline.output

    client = registry.RegistryClient(gitlab.registry_host)
    image = client.image_config(f"{gitlab.project_path}/team/app", sha)
    assert image is not None, "no team/app:<sha> in the registry"
    labels = image["config"]["Labels"]
    assert labels["org.opencontainers.image.title"] == "team/app"
    assert labels["org.opencontainers.image.revision"] == sha
    assert image["architecture"] == "arm64"
    # the SHA tag only: no latest, and nothing under the default job's image
    assert gitlab.digest("team/app", "latest") is None


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone of the work tree, named like a GitLab project (no registry: no job runs)."""
    try:
        gitlab_ci_local()
    except PipelineSetupError as exc:
        pytest.fail(str(exc))
    made = tmp_path_factory.mktemp("inputs") / "clone"
    clone_work_tree(ROOT, made)
    subprocess.run(
        ["git", "-C", str(made), "remote", "set-url", "origin"]
        + ["https://gitlab.example.invalid/e2e/analysis-template.git"],
        check=True,
    )
    return made


GOOD_INPUTS = "image_name: app\ndockerfile: e2e-app/app.Dockerfile"


@pytest.mark.parametrize(
    ("inputs", "message", "gitlab_ci_local_checks_it"),
    [
        (
            f"{GOOD_INPUTS}\nimage_nmae: app",
            "`templates/build-dockerfile.yml`: unknown input arguments: image_nmae",
            False,
        ),
        (
            "image_name: 5",
            "`templates/build-dockerfile.yml`: `image_name` input: provided value is not a string",
            True,
        ),
        (
            "dockerfile: e2e-app/app.Dockerfile",
            "`templates/build-dockerfile.yml`: `image_name` input: required value has not been "
            "provided",
            True,
        ),
    ],
    ids=["unknown-input", "wrong-type", "missing-required-input"],
)
def test_bad_inputs_stop_the_pipeline_before_any_job_with_gitlabs_message(
    clone: Path, inputs: str, message: str, gitlab_ci_local_checks_it: bool
) -> None:
    (clone / CI_FILE).write_text(pipeline_file(inputs))
    lint = subprocess.run([IMAGECTL, "ci-lint", CI_FILE], cwd=clone, capture_output=True, text=True)
    assert lint.returncode == 7
    assert f"{CI_FILE}: {message}" in lint.stderr
    created = list_jobs(clone, CI_FILE)
    if gitlab_ci_local_checks_it:
        assert created.returncode != 0, created.output
        assert f"This GitLab CI configuration is invalid: {message}." in created.output


def test_good_inputs_create_the_pipeline_with_the_named_job(clone: Path) -> None:
    (clone / CI_FILE).write_text(pipeline_file(f"job_name: build-app\n{GOOD_INPUTS}"))
    created = list_jobs(clone, CI_FILE)
    assert created.returncode == 0, created.output
    (job_line,) = [line for line in created.output.splitlines() if line.startswith("build-app")]
    assert job_line.split()[:2] == ["build-app", "build"]
    lint = subprocess.run([IMAGECTL, "ci-lint", CI_FILE], cwd=clone, capture_output=True)
    assert lint.returncode == 0, lint.stderr


def test_extends_of_the_hidden_job_gives_the_same_job_as_the_component(clone: Path) -> None:
    """README's `extends:` example (the include made local) and the component with the same
    values as inputs."""
    (clone / "extends.gitlab-ci.yml").write_text(
        "include:\n  - local: templates/.build-dockerfile.yml\n"
        "build-app:\n  extends: .build-dockerfile\n  variables:\n"
        "    IMAGE_NAME: app\n    DOCKERFILE: e2e-app/app.Dockerfile\n"
        "    BUILD_ARGS: BASE_IMAGE=$DEBIAN_IMAGE\n"
    )
    (clone / CI_FILE).write_text(
        pipeline_file(
            "job_name: build-app\nimage_name: app\ndockerfile: e2e-app/app.Dockerfile\n"
            "build_args: BASE_IMAGE=$DEBIAN_IMAGE"
        )
    )
    jobs = []
    for ci_file in ("extends.gitlab-ci.yml", CI_FILE):
        preview = list_jobs(clone, ci_file, preview=True)
        assert preview.returncode == 0, preview.output
        jobs.append(yaml.safe_load(preview.output[preview.output.index("---") :])["build-app"])
    by_extends, by_component = jobs
    assert by_component["script"] == by_extends["script"]
    for key in ("image", "services", "stage"):
        assert by_component[key] == by_extends[key], key
    # the one difference: the component names the registry the script otherwise falls back to
    assert by_component["variables"].pop("REGISTRY_URL") == "$CI_REGISTRY_IMAGE"
    assert by_component["variables"] == by_extends["variables"]
