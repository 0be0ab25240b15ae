"""Versions built for two platforms in a real registry: the SHA tag is one index over the
linux/amd64 and linux/arm64 images (each also under `<sha>-<platform>`), written last and never
moved; pulls, promote, SBOMs, contents and diffs work per platform. The images are tiny
(`FROM scratch`, no emulation) where packages do not matter, and Debian ones where they do."""

from __future__ import annotations

import json
from collections.abc import Iterator

import docker
import docker.errors
import pytest
from e2e_support import (
    IMAGES,
    Project,
    make_project,
    random_sha,
    remove_project_images,
    serving,
)

from imagectl import passes, registry, sbom

BOTH = ["linux/amd64", "linux/arm64"]
# a Debian image that has one package more on arm64 than on amd64 (a package made here, so the
# build needs no network; its dpkg runs under QEMU)
ARM_ONLY = "e2e-arm-only"
DEB_ARM = {
    "Dockerfile": (
        "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nARG TARGETARCH\n"
        'RUN if [ "$TARGETARCH" = arm64 ]; then mkdir -p /tmp/p/DEBIAN && '
        f"printf 'Package: {ARM_ONLY}\\nVersion: 1.0\\nArchitecture: all\\n"
        "Maintainer: e2e <e2e@localhost>\\nDescription: e2e\\n' > /tmp/p/DEBIAN/control && "
        "dpkg-deb -b /tmp/p /tmp/p.deb && dpkg -i /tmp/p.deb && rm -rf /tmp/p /tmp/p.deb; fi\n"
    )
}


@pytest.fixture(scope="module")
def multi(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[Project]:
    """A project whose tiny, deb and deb-arm images list both platforms (solo: amd64 only),
    with its registry up."""
    images = {
        "tiny": IMAGES["tiny"],
        "solo": IMAGES["tiny"],
        "deb": IMAGES["deb"],
        "deb-arm": DEB_ARM,
    }
    made = make_project(
        tmp_path_factory.mktemp("multi"),
        images=images,
        platforms={"tiny": BOTH, "deb": BOTH, "deb-arm": BOTH},
    )
    with serving(made, docker_client):
        yield made


def _digest(stdout: str) -> str:
    return stdout.strip().splitlines()[-1].split("@", 1)[1]


def _repository(project: Project, name: str) -> str:
    return f"{project.registry.split('/', 1)[1]}/{name}"


def _platform_tags_in_registry(project: Project, name: str, sha: str) -> list[str | None]:
    return [project.registry_digest(name, f"{sha}-{p.replace('/', '-')}") for p in BOTH]


def test_push_writes_one_index_over_both_platforms_each_config_naming_its_architecture(
    multi: Project, docker_client: docker.DockerClient
) -> None:
    sha = random_sha()
    multi.build("tiny", sha, platform="all")
    pushed = _digest(multi.run("push", "tiny", "--sha", sha).stdout)

    index = multi.registry_manifest("tiny", sha)
    assert index.digest == pushed
    assert index.media_type == registry.MANIFEST_LIST
    assert index.platforms == BOTH
    client = multi.client()
    for platform in BOTH:
        config = client.image_config(_repository(multi, "tiny"), sha, platform)
        assert f"{config['os']}/{config['architecture']}" == platform
        # each platform's image is also under <sha>-<platform>, the local build's name
        tag = f"{sha}-{platform.replace('/', '-')}"
        assert multi.registry_digest("tiny", tag) == index.child(platform).digest
        local = docker_client.images.get(multi.ref("tiny", tag))
        assert multi.registry_manifest("tiny", tag).config_digest == local.id

    # each platform's SBOM hangs off that platform's manifest
    for platform in BOTH:
        text = multi.run("sbom", f"tiny:{sha}", "--platform", platform).stdout
        assert sbom.parse(text).metadata.component.purl.version == index.child(platform).digest


def test_docker_pulls_the_platform_it_asks_for_from_the_sha_tag(
    multi: Project, docker_client: docker.DockerClient
) -> None:
    sha = random_sha()
    multi.build("tiny", sha, platform="all")
    multi.run("push", "tiny", "--sha", sha)
    remove_project_images(docker_client, multi)  # as on a user's machine

    repo = multi.ref("tiny", sha).rsplit(":", 1)[0]
    arm = docker_client.images.pull(repo, tag=sha, platform="linux/arm64")
    assert arm.attrs["Architecture"] == "arm64"
    docker_client.images.remove(multi.ref("tiny", sha))
    default = docker_client.images.pull(repo, tag=sha)  # this host's platform
    assert default.attrs["Architecture"] == "amd64"


def test_imagectl_pull_of_another_platform_tags_it_sha_platform_and_prints_both_digests(
    multi: Project, docker_client: docker.DockerClient
) -> None:
    sha = random_sha()
    multi.build("tiny", sha, platform="all")
    index = _digest(multi.run("push", "tiny", "--sha", sha).stdout)
    arm_digest = multi.registry_manifest("tiny", sha).child("linux/arm64").digest
    remove_project_images(docker_client, multi)

    pulled = multi.run("pull", "tiny", "--sha", sha, "--platform", "linux/arm64").stdout
    assert _digest(pulled) == index
    assert f"linux/arm64: {multi.registry}/tiny@{arm_digest}" in pulled
    arm = docker_client.images.get(multi.ref("tiny", f"{sha}-linux-arm64"))
    assert arm.attrs["Architecture"] == "arm64"
    with pytest.raises(docker.errors.ImageNotFound):  # <sha> stays the one that runs here
        docker_client.images.get(multi.ref("tiny", sha))

    native = multi.run("pull", "tiny", "--digest", index).stdout  # by the index's digest
    assert _digest(native) == index
    image = docker_client.images.get(f"{multi.registry}/tiny@{index}")
    assert image.attrs["Architecture"] == "amd64"


def test_pulling_a_platform_the_index_lacks_names_the_platforms_it_has(
    multi: Project,
) -> None:
    sha, partial = random_sha(), random_sha()
    multi.build("tiny", sha, platform="all")
    multi.run("push", "tiny", "--sha", sha)
    # a version whose index has amd64 only (pushed by an older tool, or another CI)
    client, repository = multi.client(), _repository(multi, "tiny")
    amd64 = client.manifest(repository, f"{sha}-linux-amd64")
    client.put_manifest(repository, partial, registry.manifest_list([(amd64, "linux/amd64")]))

    missing = multi.run("pull", "tiny", "--sha", partial, "--platform", "linux/arm64", check=False)
    assert missing.returncode == 5
    assert "has no linux/arm64 image: its index has linux/amd64" in missing.stderr
    assert "fix:" in missing.stderr


def test_pushing_the_same_build_again_changes_nothing(multi: Project) -> None:
    sha = random_sha()
    multi.build("tiny", sha, platform="all")
    pushed = _digest(multi.run("push", "tiny", "--sha", sha).stdout)
    platform_digests = _platform_tags_in_registry(multi, "tiny", sha)

    again = multi.run("push", "tiny", "--sha", sha)
    assert "already in the registry as this build" in again.stderr
    assert "pushing" not in again.stderr
    assert _digest(again.stdout) == pushed
    assert multi.registry_digest("tiny", sha) == pushed
    assert _platform_tags_in_registry(multi, "tiny", sha) == platform_digests


@pytest.mark.parametrize("platform", BOTH)
def test_a_test_job_that_pulled_one_platform_pushes_nothing_and_attaches_its_sbom(
    multi: Project, docker_client: docker.DockerClient, platform: str
) -> None:
    """The CI test job's path: it pulls one platform of a pushed version (tagged
    <sha>-<platform>, where the image tests look), then pushes: a no-op that attaches the SBOM
    of the image it has."""
    sha = random_sha()
    multi.build("tiny", sha, platform="all")
    pushed = _digest(multi.run("push", "tiny", "--sha", sha).stdout)
    remove_project_images(docker_client, multi)
    multi.run("pull", "tiny", "--sha", sha, "--platform", platform)
    tag = multi.ref("tiny", f"{sha}-{platform.replace('/', '-')}")
    assert docker_client.images.get(tag).attrs["Architecture"] == platform.split("/")[1]

    again = multi.run("push", "tiny", "--sha", sha, "--platform", platform)
    assert "already in the registry as this build" in again.stderr
    assert "pushing" not in again.stderr
    assert _digest(again.stdout) == pushed
    assert multi.registry_digest("tiny", sha) == pushed
    sbom.validate(multi.run("sbom", f"tiny:{sha}", "--platform", platform).stdout)


def test_runners_of_each_platform_push_theirs_and_the_last_writes_the_index(
    multi: Project,
) -> None:
    sha = random_sha()
    multi.build("tiny", sha, platform="all")

    first = multi.run("push", "tiny", "--sha", sha, "--platform", "linux/arm64")
    assert "is not written yet: the registry lacks its linux/amd64 image" in first.stderr
    assert multi.registry_digest("tiny", sha) is None  # no index over a part of the version
    assert multi.registry_digest("tiny", f"{sha}-linux-arm64") is not None

    last = multi.run("push", "tiny", "--sha", sha, "--platform", "linux/amd64")
    index = multi.registry_manifest("tiny", sha)
    assert index.digest == _digest(last.stdout)
    assert index.platforms == BOTH


def test_a_rebuild_that_differs_is_refused_and_the_index_never_moves(
    multi: Project, docker_client: docker.DockerClient
) -> None:
    sha = random_sha()
    multi.build("tiny", sha, platform="all")
    pushed = _digest(multi.run("push", "tiny", "--sha", sha).stdout)
    platform_digests = _platform_tags_in_registry(multi, "tiny", sha)
    # another build under the same SHA: here, one dated otherwise than the commit
    multi.build("tiny", sha, env={"CI_COMMIT_TIMESTAMP": "2001-02-03T04:05:06Z"}, platform="all")

    refused = multi.run("push", "tiny", "--sha", sha, check=False)
    assert refused.returncode == 5
    assert "refusing to push" in refused.stderr and "never moves" in refused.stderr
    assert "linux/arm64 is image" in refused.stderr and "fix:" in refused.stderr
    assert multi.registry_digest("tiny", sha) == pushed
    assert _platform_tags_in_registry(multi, "tiny", sha) == platform_digests


def test_a_push_missing_a_platform_is_refused_naming_it_and_pushes_nothing(
    multi: Project,
) -> None:
    sha = random_sha()
    multi.build("tiny", sha, platform="linux/amd64")

    refused = multi.run("push", "tiny", "--sha", sha, check=False)
    assert refused.returncode == 5
    assert "not built here for linux/arm64" in refused.stderr
    assert "imagectl build tiny --platform all" in refused.stderr
    assert multi.registry_digest("tiny", sha) is None
    assert _platform_tags_in_registry(multi, "tiny", sha) == [None, None]


def test_a_wrong_architecture_image_under_a_platform_tag_is_refused_and_pushes_nothing(
    multi: Project, docker_client: docker.DockerClient
) -> None:
    sha = random_sha()
    ref = multi.build("tiny", sha, platform="linux/amd64")
    docker_client.images.get(ref).tag(ref.rsplit(":", 1)[0], f"{sha}-linux-arm64")

    refused = multi.run("push", "tiny", "--sha", sha, check=False)
    assert refused.returncode == 5
    assert "is a linux/amd64 image, not linux/arm64" in refused.stderr
    assert "imagectl build tiny --platform linux/arm64" in refused.stderr
    assert multi.registry_digest("tiny", sha) is None
    assert _platform_tags_in_registry(multi, "tiny", sha) == [None, None]


def test_promote_needs_a_pass_for_every_platform_then_latest_is_the_index(
    multi: Project, docker_client: docker.DockerClient
) -> None:
    sha = random_sha()
    multi.build("tiny", sha, platform="all")
    pushed = _digest(multi.run("push", "tiny", "--sha", sha).stdout)
    latest_before = multi.registry_digest("tiny", "latest")
    amd64 = docker_client.images.get(multi.ref("tiny", f"{sha}-linux-amd64"))
    arm64 = docker_client.images.get(multi.ref("tiny", f"{sha}-linux-arm64"))
    passes.record(multi.root, "tiny", amd64.id, multi.ref("tiny", sha), tests=1)

    refused = multi.run("promote", "tiny", "--sha", sha, check=False)
    assert refused.returncode == 5
    assert f"linux/arm64 image {arm64.id.removeprefix('sha256:')[:12]}" in refused.stderr
    assert "linux/amd64" not in refused.stderr.split("fix:")[0]
    assert multi.registry_digest("tiny", "latest") == latest_before

    passes.record(multi.root, "tiny", arm64.id, multi.ref("tiny", f"{sha}-linux-arm64"), tests=1)
    assert _digest(multi.run("promote", "tiny", "--sha", sha).stdout) == pushed
    latest = multi.registry_manifest("tiny", "latest")
    assert latest.digest == pushed and latest.platforms == BOTH


def test_bad_platforms_are_refused_naming_the_fix_and_nothing_is_pushed(multi: Project) -> None:
    sha = random_sha()
    unknown = multi.run("pull", "tiny", "--sha", sha, "--platform", "linux/s390x", check=False)
    assert unknown.returncode == 2
    assert "unknown platform 'linux/s390x'" in unknown.stderr
    assert "linux/amd64, linux/arm64" in unknown.stderr

    unlisted = multi.run("build", "solo", "--platform", "linux/arm64", check=False)
    assert unlisted.returncode == 2
    assert "solo is not built for linux/arm64" in unlisted.stderr
    assert "images.solo.platforms" in unlisted.stderr
    not_listed = multi.run("pull", "solo", "--sha", sha, "--platform", "linux/arm64", check=False)
    assert not_listed.returncode == 2 and "solo is not built for linux/arm64" in not_listed.stderr
    assert multi.registry_digest("solo", sha) is None


def test_contents_and_diff_show_a_package_that_differs_on_one_platform_only(
    multi: Project, docker_client: docker.DockerClient
) -> None:
    old, new = random_sha(), random_sha()
    multi.build("deb", old, platform="all")
    multi.build("deb-arm", new, platform="all")

    arm = json.loads(multi.run("contents", f"deb-arm:{new}", "--platform", "linux/arm64").stdout)
    assert arm["debian_packages"][ARM_ONLY] == "1.0"
    assert (
        ARM_ONLY
        not in json.loads(multi.run("contents", f"deb-arm:{new}").stdout)["debian_packages"]
    )

    local = json.loads(multi.run("diff", f"deb:{old}", f"deb-arm:{new}", "--json").stdout)
    assert list(local["platforms"]) == BOTH
    amd64, arm64 = (local["platforms"][p] for p in BOTH)
    assert amd64["debian_packages"] == {"added": {}, "removed": {}, "changed": {}}
    assert arm64["debian_packages"]["added"] == {ARM_ONLY: "1.0"}
    assert arm64["pull"]["source"] == "local"
    table = multi.run("diff", f"deb:{old}", f"deb-arm:{new}").stdout
    amd64_part, arm64_part = table.split("== linux/arm64 ==")
    assert "== linux/amd64 ==" in amd64_part and "Debian packages: no change" in amd64_part
    assert f"+ {ARM_ONLY}" in arm64_part and ARM_ONLY not in amd64_part

    # from the registry: the platform images not here are pulled, bytes are compressed ones
    for name, sha in (("deb", old), ("deb-arm", new)):
        multi.run("push", name, "--sha", sha)
        docker_client.images.remove(multi.ref(name, f"{sha}-linux-arm64"))
    pushed = json.loads(multi.run("diff", f"deb:{old}", f"deb-arm:{new}", "--json").stdout)
    arm64 = pushed["platforms"]["linux/arm64"]
    assert arm64["debian_packages"]["added"] == {ARM_ONLY: "1.0"}
    assert arm64["pull"]["source"] == "registry"
    arm_layers = (
        multi.client().platform_manifest(_repository(multi, "deb-arm"), new, "linux/arm64").layers
    )
    assert arm64["pull"]["image_bytes"] == sum(size for _, size in arm_layers)
    assert pushed["platforms"]["linux/amd64"]["pull"]["source"] == "registry"
    # the arm64 images pulled for it are here under their platform tags
    for name, sha in (("deb", old), ("deb-arm", new)):
        arm_image = docker_client.images.get(multi.ref(name, f"{sha}-linux-arm64"))
        assert arm_image.attrs["Architecture"] == "arm64"
