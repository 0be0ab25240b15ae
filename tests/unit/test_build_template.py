"""The CI template's build job (templates/.build-dockerfile.yml), its shell script run against a
fake `docker` that records every call: it writes the labels and the tag `imagectl build` writes,
pushes only the SHA tag, keeps the CA out of build args, and never moves a SHA tag."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from support import ROOT

from imagectl import build, config, host, tags
from imagectl.revision import Revision

TEMPLATE = ROOT / "templates" / ".build-dockerfile.yml"
SHA = "0123456789abcdef0123456789abcdef01234567"
REGISTRY_URL = "registry.example.com/group/analysis-template"
PROJECT_URL = "https://gitlab.example.com/group/analysis-template"
NOT_FOUND = "Error response from daemon: manifest for {ref} not found: manifest unknown"
COMMIT_TIMESTAMP = "2026-11-14T22:13:20Z"  # GitLab's CI_COMMIT_TIMESTAMP: ISO 8601, UTC
COMMIT_EPOCH = 1794694400

# A stand-in for the docker CLI: the registry and the engine's images live in a JSON file.
FAKE_DOCKER = r"""
import json, os, sys
args = sys.argv[1:]
state_file = os.environ["FAKE_DOCKER_STATE"]
state = json.load(open(state_file))
call = {"argv": args, "DOCKER_CONFIG": os.environ.get("DOCKER_CONFIG")}
if args[0] == "login":
    call["stdin"] = sys.stdin.read()
    # as the real client does: the credentials land in DOCKER_CONFIG
    with open(os.path.join(os.environ["DOCKER_CONFIG"], "config.json"), "w") as out:
        out.write('{"auths": {}}')
state["calls"].append(call)
code = 0
if args[0] == "pull":
    ref = args[-1]
    if state.get("registry_error"):
        print(state["registry_error"], file=sys.stderr); code = 1
    elif ref in state["registry"]:
        state["local"][ref] = state["registry"][ref]
    else:
        print(state["not_found"].format(ref=ref), file=sys.stderr); code = 1
elif args[:2] == ["image", "inspect"]:
    image = state["local"][args[-1]]
    template = args[args.index("--format") + 1]
    if ".Id" in template:
        print(image["id"])
    else:
        key = template.split('"')[1]
        print(image["labels"].get(key, "<no value>"))
elif args[:2] == ["buildx", "inspect"]:
    if state.get("buildkit"):
        print(f"Name: default\nDriver: docker\nBuildKit version: {state['buildkit']}")
    else:
        code = 1  # no buildx
elif args[0] == "create":
    state["containers"][f"c{len(state['containers'])}"] = args[-2]
    print(f"c{len(state['containers']) - 1}")
elif args[0] == "cp":
    container, path = args[1].split(":", 1)
    files = state["local"][state["containers"][container]].get("files", {})
    if path in files:
        open(args[2], "w").write(files[path])
    else:
        print(f"Error: Could not find the file {path} in container", file=sys.stderr); code = 1
elif args[0] == "rm":
    state["containers"].pop(args[-1])
elif args[0] == "build":
    tag = args[args.index("--tag") + 1]
    labels = dict(a.split("=", 1) for i, a in enumerate(args) if i and args[i - 1] == "--label")
    files = state.get("built_files", {})
    platform = args[args.index("--platform") + 1] if "--platform" in args else ""
    if platform and platform == state.get("failing_platform"):
        print("exec /bin/sh: exec format error", file=sys.stderr); code = 1
    else:
        image = {"id": "sha256:built" + platform, "labels": labels, "files": files}
        state["local"][tag] = image
    state["registry"].update(state.pop("pushed_during_build", {}))
elif args[:2] == ["manifest", "create"]:
    index, *children = [a for a in args[2:] if a != "--insecure"]
    state["indexes"] = {index: children}
elif args[:2] == ["manifest", "push"]:
    index = args[-1]
    children = state["indexes"][index]
    state["registry"][index] = {**state["registry"][children[0]], "index": children}
elif args[0] == "push":
    state["registry"][args[-1]] = state["local"][args[-1]]
json.dump(state, open(state_file, "w"))
sys.exit(code)
"""


def template_script() -> str:
    job = yaml.safe_load(TEMPLATE.read_text())[".build-dockerfile"]
    return "\n".join(job["script"])


@dataclass
class Job:
    returncode: int
    output: str
    calls: list[dict]
    registry: dict[str, dict]
    containers: dict[str, str]

    def commands(self, name: str) -> list[list[str]]:
        return [call["argv"] for call in self.calls if call["argv"][0] == name]

    @property
    def build_argv(self) -> list[str]:
        (argv,) = self.commands("build")
        return argv


def values(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == flag]


@pytest.fixture
def run_job(tmp_path: Path):
    """Run the template's script as a runner does (bash, -e, pipefail) with the fake docker;
    returns what it did."""
    fake = tmp_path / "docker"
    fake.write_text(f"#!{sys.executable}\n{FAKE_DOCKER}")
    fake.chmod(0o755)

    def run(
        registry: dict[str, dict] | None = None,
        env: dict[str, str] | None = None,
        **state: object,
    ) -> Job:
        state_file = tmp_path / "state.json"
        state_file.write_text(
            json.dumps(
                {
                    "registry": registry or {},
                    "local": {},
                    "calls": [],
                    "containers": {},
                    "not_found": NOT_FOUND,
                    **state,
                }
            )
        )
        job_env = {
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path / "home"),
            "TMPDIR": str(tmp_path),
            "FAKE_DOCKER_STATE": str(state_file),
            "DOCKER": str(fake),
            "IMAGE_NAME": "cpu",
            "DOCKERFILE": "docker/cpu.Dockerfile",
            "CONTEXT": ".",
            "BUILD_ARGS": "",
            "CA_BUNDLE_FILE": "",
            "PLATFORM": "",
            "CI_COMMIT_SHA": SHA,
            "CI_COMMIT_TIMESTAMP": COMMIT_TIMESTAMP,
            "CI_PROJECT_URL": PROJECT_URL,
            "REGISTRY_URL": REGISTRY_URL,
            **(env or {}),
        }
        result = subprocess.run(
            # as GitLab's runners run a script: errexit and pipefail
            ["bash", "-eo", "pipefail", "-c", template_script()],
            cwd=tmp_path,  # the job's checkout: its report files land here
            env=job_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        final = json.loads(state_file.read_text())
        return Job(
            result.returncode,
            result.stdout + result.stderr,
            final["calls"],
            final["registry"],
            final["containers"],
        )

    return run


def test_script_parses_in_posix_sh_and_bash() -> None:
    for shell in ("sh", "bash"):
        assert shutil.which(shell), f"{shell} is needed for this test"
        result = subprocess.run([shell, "-n", "-c", template_script()], capture_output=True)
        assert result.returncode == 0, result.stderr.decode()


def test_labels_and_sha_tag_equal_what_imagectl_build_writes(
    run_job, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = run_job()
    assert job.returncode == 0, job.output
    monkeypatch.setenv("REGISTRY_URL", REGISTRY_URL)
    graph = config.load(ROOT)
    revision = Revision(
        sha=SHA, version=SHA, source=PROJECT_URL, dirty=False, timestamp=COMMIT_EPOCH
    )
    expected = build.labels(graph.get("cpu"), revision)
    written = dict(label.split("=", 1) for label in values(job.build_argv, "--label"))
    assert written == expected  # created included: the commit's time, not the clock's
    assert written["org.opencontainers.image.created"] == COMMIT_TIMESTAMP
    assert values(job.build_argv, "--tag") == [tags.sha_tag(graph, "cpu", SHA)]
    assert values(job.build_argv, "--cache-from") == [tags.latest_tag(graph, "cpu")]


def test_builds_with_inline_cache_and_pushes_only_the_sha_tag(run_job) -> None:
    job = run_job()
    assert job.returncode == 0, job.output
    assert "BUILDKIT_INLINE_CACHE=1" in values(job.build_argv, "--build-arg")
    assert values(job.build_argv, "--file") == ["docker/cpu.Dockerfile"]
    assert job.build_argv[-1] == "."
    assert job.commands("push") == [["push", f"{REGISTRY_URL}/cpu:{SHA}"]]
    assert list(job.registry) == [f"{REGISTRY_URL}/cpu:{SHA}"]


def test_version_label_is_the_git_tag_in_a_tag_pipeline(run_job) -> None:
    job = run_job(env={"CI_COMMIT_TAG": "v1.2.0"})
    labels = dict(label.split("=", 1) for label in values(job.build_argv, "--label"))
    assert labels["org.opencontainers.image.version"] == "v1.2.0"
    assert labels["org.opencontainers.image.revision"] == SHA


def test_registry_url_defaults_to_the_projects_registry(run_job) -> None:
    job = run_job(env={"REGISTRY_URL": "", "CI_REGISTRY_IMAGE": "gitlab.example.com:5050/g/p"})
    assert job.returncode == 0, job.output
    assert job.commands("push") == [["push", f"gitlab.example.com:5050/g/p/cpu:{SHA}"]]


def test_build_args_are_one_per_line_and_may_hold_spaces(run_job) -> None:
    job = run_job(env={"BUILD_ARGS": "BASE_IMAGE=reg/cpu:abc\n\nREPLACES=xgboost-cpu other\n"})
    assert values(job.build_argv, "--build-arg") == [
        "BUILDKIT_INLINE_CACHE=1",
        f"SOURCE_DATE_EPOCH={COMMIT_EPOCH}",
        "BASE_IMAGE=reg/cpu:abc",
        "REPLACES=xgboost-cpu other",
    ]


def test_platform_is_passed_to_the_build_only_when_set(run_job) -> None:
    assert "--platform" not in run_job().build_argv
    job = run_job(env={"PLATFORM": "linux/arm64"})
    assert job.returncode == 0, job.output
    assert values(job.build_argv, "--platform") == ["linux/arm64"]
    assert job.commands("push") == [["push", f"{REGISTRY_URL}/cpu:{SHA}"]]


def test_ca_bundle_goes_in_as_the_ca_bundle_secret_and_never_as_a_build_arg(
    run_job, tmp_path: Path
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    job = run_job(env={"CA_BUNDLE_FILE": str(ca)})
    assert values(job.build_argv, "--secret") == [f"id=ca_bundle,src={ca}"]
    assert not any(str(ca) in arg for arg in values(job.build_argv, "--build-arg"))


def test_a_missing_ca_bundle_file_stops_the_job_before_building(run_job, tmp_path: Path) -> None:
    job = run_job(env={"CA_BUNDLE_FILE": str(tmp_path / "absent.pem")})
    assert job.returncode != 0
    assert "CA_BUNDLE_FILE" in job.output and not job.commands("build")


def test_login_lands_in_a_temporary_docker_config_that_is_removed(run_job, tmp_path: Path) -> None:
    job = run_job(env={"CI_REGISTRY_USER": "gitlab-ci-token", "CI_REGISTRY_PASSWORD": "s3cret"})
    assert job.returncode == 0, job.output
    (login,) = [call for call in job.calls if call["argv"][0] == "login"]
    assert login["argv"] == [
        "login",
        "--username",
        "gitlab-ci-token",
        "--password-stdin",
        "registry.example.com",
    ]
    assert login["stdin"] == "s3cret" and "s3cret" not in " ".join(login["argv"])
    config_dir = Path(login["DOCKER_CONFIG"])
    assert config_dir.is_relative_to(tmp_path) and not config_dir.exists()
    assert not (tmp_path / "home" / ".docker").exists()
    assert "s3cret" not in job.output


def test_no_login_without_credentials(run_job) -> None:
    assert not run_job().commands("login")


def test_sha_tag_of_this_commit_in_the_registry_is_reused_not_rebuilt(run_job) -> None:
    ref = f"{REGISTRY_URL}/cpu:{SHA}"
    pushed = {
        "id": "sha256:earlier",
        "labels": {
            "org.opencontainers.image.title": "cpu",
            "org.opencontainers.image.revision": SHA,
        },
    }
    job = run_job(registry={ref: pushed})
    assert job.returncode == 0, job.output
    assert not job.commands("build") and not job.commands("push")
    assert job.registry[ref] == pushed
    assert "reused as it is" in job.output


def test_sha_tag_holding_another_image_fails_the_job_and_stays(run_job) -> None:
    ref = f"{REGISTRY_URL}/cpu:{SHA}"
    other = {"id": "sha256:other", "labels": {"org.opencontainers.image.title": "gpu"}}
    job = run_job(registry={ref: other})
    assert job.returncode != 0
    assert "refusing to push" in job.output and "a SHA tag never moves" in job.output
    assert not job.commands("build") and not job.commands("push")
    assert job.registry[ref] == other


def test_sha_tag_pushed_by_another_pipeline_during_the_build_is_not_overwritten(run_job) -> None:
    ref = f"{REGISTRY_URL}/cpu:{SHA}"
    theirs = {"id": "sha256:theirs", "labels": {}}
    job = run_job(pushed_during_build={ref: theirs})
    assert job.returncode != 0
    assert "pushed while this job built" in job.output
    assert not job.commands("push")
    assert job.registry[ref] == theirs


def test_a_registry_that_cannot_be_asked_is_not_taken_for_an_empty_one(run_job) -> None:
    job = run_job(registry_error="Error response from daemon: Get https://r/v2/: i/o timeout")
    assert job.returncode != 0
    assert "cannot tell whether the registry holds" in job.output
    assert not job.commands("build") and not job.commands("push")


def test_the_build_is_dated_by_the_commit_for_buildkit_too(run_job) -> None:
    job = run_job()
    assert f"SOURCE_DATE_EPOCH={COMMIT_EPOCH}" in values(job.build_argv, "--build-arg")
    assert "--output" not in job.build_argv  # no buildx: Debian's 20.10 client


@pytest.mark.parametrize(
    ("buildkit", "rewrites"),
    [("v0.12.5", False), ("v0.13.2", True), ("v0.16.0", True), ("v1.0.0", True)],
)
def test_buildkit_013_and_later_rewrite_layer_timestamps(run_job, buildkit, rewrites) -> None:
    job = run_job(buildkit=buildkit)
    assert job.returncode == 0, job.output
    wanted = ["type=docker,rewrite-timestamp=true"] if rewrites else []
    assert values(job.build_argv, "--output") == wanted


def test_busybox_date_in_the_docker_cli_image_reads_the_commit_time_too(
    run_job, tmp_path: Path
) -> None:
    # docker:27-cli is Alpine, whose date is BusyBox's: it cannot parse ISO 8601 with -d alone
    host.ensure_debian_packages({"busybox": "busybox"}, "the BusyBox date test")
    bin_dir = tmp_path / "busybox-bin"
    bin_dir.mkdir()
    (bin_dir / "date").symlink_to(shutil.which("busybox", path="/usr/bin:/bin") or "/bin/busybox")
    job = run_job(env={"PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert job.returncode == 0, job.output
    assert f"SOURCE_DATE_EPOCH={COMMIT_EPOCH}" in values(job.build_argv, "--build-arg")
    labels = dict(label.split("=", 1) for label in values(job.build_argv, "--label"))
    assert labels["org.opencontainers.image.created"] == COMMIT_TIMESTAMP


SBOM = '{"bomFormat": "CycloneDX", "specVersion": "1.6"}'
SBOM_PATH = "/usr/share/analysis-template/sbom.cdx.json"


def test_the_images_sbom_becomes_the_jobs_cyclonedx_report(run_job, tmp_path: Path) -> None:
    job = run_job(built_files={SBOM_PATH: SBOM}, env={"SBOM_PATH": SBOM_PATH})
    assert job.returncode == 0, job.output
    assert (tmp_path / "gl-sbom-cpu.cdx.json").read_text() == SBOM
    assert not job.containers, "the container the SBOM was copied from is left behind"
    artifacts = yaml.safe_load(TEMPLATE.read_text())[".build-dockerfile"]["artifacts"]
    assert artifacts["reports"]["cyclonedx"] == ["gl-sbom-*.cdx.json"]


def test_a_reused_image_still_gives_its_sbom_report(run_job, tmp_path: Path) -> None:
    ref = f"{REGISTRY_URL}/cpu:{SHA}"
    pushed = {
        "id": "sha256:first",
        "labels": {
            "org.opencontainers.image.title": "cpu",
            "org.opencontainers.image.revision": SHA,
        },
        "files": {SBOM_PATH: SBOM},
    }
    job = run_job(registry={ref: pushed}, env={"SBOM_PATH": SBOM_PATH})
    assert job.returncode == 0, job.output
    assert not job.commands("build")
    assert (tmp_path / "gl-sbom-cpu.cdx.json").read_text() == SBOM


def test_an_image_without_an_sbom_builds_and_says_so(run_job, tmp_path: Path) -> None:
    job = run_job(env={"SBOM_PATH": SBOM_PATH, "IMAGE_NAME": "team/app"})
    assert job.returncode == 0, job.output
    assert "carries no /usr/share/analysis-template/sbom.cdx.json" in job.output
    assert not list(tmp_path.glob("gl-sbom-*"))
    assert job.commands("push") == [["push", f"{REGISTRY_URL}/team/app:{SHA}"]]


PLATFORMS = {"PLATFORMS": "linux/amd64,linux/arm64"}


def test_several_platforms_push_one_tag_each_then_the_sha_tag_as_their_index(run_job) -> None:
    ref = f"{REGISTRY_URL}/cpu:{SHA}"
    job = run_job(env=PLATFORMS)
    assert job.returncode == 0, job.output
    builds = job.commands("build")
    assert [values(argv, "--platform") for argv in builds] == [["linux/amd64"], ["linux/arm64"]]
    assert [values(argv, "--tag") for argv in builds] == [
        [f"{ref}-linux-amd64"],
        [f"{ref}-linux-arm64"],
    ]
    assert job.commands("push") == [["push", f"{ref}-linux-amd64"], ["push", f"{ref}-linux-arm64"]]
    # the index comes last, over both; a registry that is not on loopback gets no --insecure
    assert job.commands("manifest") == [
        ["manifest", "create", ref, f"{ref}-linux-amd64", f"{ref}-linux-arm64"],
        ["manifest", "push", ref],
    ]
    assert job.registry[ref]["index"] == [f"{ref}-linux-amd64", f"{ref}-linux-arm64"]


def test_a_failed_platform_build_pushes_no_index(run_job) -> None:
    job = run_job(env=PLATFORMS, failing_platform="linux/arm64")
    assert job.returncode != 0
    assert "building" in job.output and "nothing was pushed" in job.output
    assert "exec format error" in job.output and "binfmt_misc" in job.output
    assert not job.commands("manifest")
    assert f"{REGISTRY_URL}/cpu:{SHA}" not in job.registry


def test_a_platform_already_pushed_for_this_commit_is_reused_not_rebuilt(run_job) -> None:
    ref = f"{REGISTRY_URL}/cpu:{SHA}"
    earlier = {"id": "sha256:earlier", "labels": {"org.opencontainers.image.revision": SHA}}
    job = run_job(env=PLATFORMS, registry={f"{ref}-linux-amd64": earlier})
    assert job.returncode == 0, job.output
    assert [values(argv, "--platform") for argv in job.commands("build")] == [["linux/arm64"]]
    assert job.registry[f"{ref}-linux-amd64"] == earlier
    assert job.registry[ref]["index"] == [f"{ref}-linux-amd64", f"{ref}-linux-arm64"]


def test_an_index_on_a_loopback_registry_is_pushed_over_plain_http(run_job) -> None:
    job = run_job(env={**PLATFORMS, "REGISTRY_URL": "127.0.0.1:5000/g/p"})
    assert job.returncode == 0, job.output
    assert all("--insecure" in argv for argv in job.commands("manifest"))
