"""SBOMs in a real registry: attached to the pushed digest, fetched back equal, and a version
without one, or with a malformed one, is reported and not trusted."""

from __future__ import annotations

import json

import docker
from e2e_support import Project, random_sha

from imagectl import publish, registry, sbom


def _digest(stdout: str) -> str:
    return stdout.strip().rsplit("@", 1)[1]


def test_push_attaches_an_sbom_about_the_pushed_digest(project: Project) -> None:
    sha = random_sha()
    project.build("deb", sha)
    pushed = _digest(project.run("push", "deb", "--sha", sha).stdout)
    fetched = project.run("sbom", f"deb:{sha}").stdout
    sbom.validate(fetched)
    document = json.loads(fetched)
    assert document["metadata"]["component"]["purl"].startswith("pkg:oci/deb@sha256")
    assert sbom.parse(fetched).metadata.component.purl.version == pushed
    listed = json.loads((project.root / f"build/contents/deb-{sha}.json").read_text())
    debian = {c["name"]: c["version"] for c in document["components"]}
    assert debian == listed["debian_packages"] and "bash" in debian
    # the artifact hangs off the image's digest, as registries without referrers read it
    artifact = project.registry_manifest("deb", publish.sbom_tag(pushed))
    assert artifact.body["subject"]["digest"] == pushed
    assert artifact.body["artifactType"] == sbom.MEDIA_TYPE


def test_an_attached_sbom_is_fetched_back_byte_for_byte(project: Project) -> None:
    sha = random_sha()
    project.build("tiny", sha)
    digest = _digest(project.run("push", "tiny", "--sha", sha).stdout)
    ref = registry.parse_reference(project.ref("tiny", sha))
    client = project.client()
    # a second SBOM for the same digest is refused: the first one stays attached
    kept = publish.fetch_sbom(client, ref)
    other = sbom.with_subject(kept, sbom.image_component("tiny", "x", None, digest))
    publish.attach_sbom(client, ref, other)
    assert publish.fetch_sbom(client, ref) == kept
    assert project.run("sbom", f"tiny:{sha}").stdout == kept


def test_a_version_pushed_without_an_sbom_says_so(
    project: Project, docker_client: docker.DockerClient
) -> None:
    sha = random_sha()
    ref = project.build("tiny", sha)
    docker_client.images.push(
        ref.rsplit(":", 1)[0], tag=sha
    )  # a plain docker push attaches nothing
    missing = project.run("sbom", f"tiny:{sha}", check=False)
    assert missing.returncode == 5
    assert "has no SBOM" in missing.stderr and "plain `docker push`" in missing.stderr
    assert "imagectl push tiny" in missing.stderr or "imagectl push NAME" in missing.stderr
    attached = project.run("push", "tiny", "--sha", sha)  # the fix it names
    assert "no push" in attached.stderr and "attached its SBOM" in attached.stderr
    sbom.validate(project.run("sbom", f"tiny:{sha}").stdout)


def test_a_malformed_sbom_in_the_registry_is_reported_not_trusted(
    project: Project, docker_client: docker.DockerClient
) -> None:
    sha = random_sha()
    ref = project.build("tiny", sha)
    docker_client.images.push(ref.rsplit(":", 1)[0], tag=sha)
    publish.attach_sbom(project.client(), registry.parse_reference(ref), '{"bomFormat": "x"')
    refused = project.run("sbom", f"tiny:{sha}", check=False)
    assert refused.returncode == 5
    assert "malformed" in refused.stderr and "not trusted" in refused.stderr
    assert refused.stdout == ""
