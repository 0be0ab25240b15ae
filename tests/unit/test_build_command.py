"""The build command: BuildKit, the CA bundle as a secret only, labels and both tags."""

from pathlib import Path

import pytest
from support import ROOT

from imagectl import build, config, engine, host, platforms
from imagectl.revision import Revision

REV = Revision(
    sha="0123456789abcdef0123456789abcdef01234567",
    version="0123456789abcdef0123456789abcdef01234567",
    source="https://example.com/x.git",
    dirty=False,
    timestamp=1_700_000_000,
)
CLIENT = engine.BuildClient(("/usr/bin/docker", "build"), {"DOCKER_BUILDKIT": "1"})


@pytest.fixture
def argv(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.delenv("REGISTRY_URL", raising=False)
    graph = config.load(ROOT)
    return build.command(graph, graph.get("cpu"), REV, "local/base:1", CLIENT)


def values(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, arg in enumerate(argv) if arg == flag]


def test_ca_bundle_goes_in_as_a_secret_and_nowhere_else(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ca = tmp_path / "proxy-ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    assert host.ca_bundle() == ca
    monkeypatch.delenv("REGISTRY_URL", raising=False)
    graph = config.load(ROOT)
    argv = build.command(graph, graph.get("cpu"), REV, "local/base:1", CLIENT)
    assert values(argv, "--secret") == [f"id=ca_bundle,src={ca}"]
    assert not any(str(ca) in arg for arg in values(argv, "--build-arg"))


def test_no_ca_bundle_means_no_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(host, "_CA_CANDIDATES", ())
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "absent.pem"))
    monkeypatch.delenv("PIP_CERT", raising=False)
    monkeypatch.delenv("REGISTRY_URL", raising=False)
    graph = config.load(ROOT)
    argv = build.command(graph, graph.get("cpu"), REV, "local/base:1", CLIENT)
    assert "--secret" not in argv


def test_labels_name_the_image_and_the_full_commit(argv: list[str]) -> None:
    labels = dict(label.split("=", 1) for label in values(argv, "--label"))
    assert labels["org.opencontainers.image.title"] == "cpu"
    assert labels["org.opencontainers.image.revision"] == REV.sha
    assert labels["org.opencontainers.image.source"] == REV.source
    assert labels["org.opencontainers.image.version"] == REV.version
    assert labels["org.opencontainers.image.created"] == "2023-11-14T22:13:20Z"


def test_the_build_is_dated_by_the_commit_not_the_clock(argv: list[str]) -> None:
    assert "SOURCE_DATE_EPOCH=1700000000" in values(argv, "--build-arg")


def test_a_build_for_the_hosts_platform_is_tagged_its_platform_sha_and_latest(
    argv: list[str],
) -> None:
    assert platforms.native().name == "linux/amd64"  # this host; the argv fixture builds for it
    assert values(argv, "--platform") == ["linux/amd64"]
    assert values(argv, "-t") == [
        f"127.0.0.1:5000/analysis-template/cpu:{REV.sha}-linux-amd64",
        f"127.0.0.1:5000/analysis-template/cpu:{REV.sha}",
        "127.0.0.1:5000/analysis-template/cpu:latest",
    ]


def test_a_build_for_another_platform_moves_neither_the_sha_tag_nor_latest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("REGISTRY_URL", raising=False)
    graph = config.load(ROOT)
    arm64 = platforms.get("linux/arm64")
    argv = build.command(
        graph, graph.get("cpu"), REV, "local/base:arm", CLIENT, arm64, "local/base:1"
    )
    assert values(argv, "--platform") == ["linux/arm64"]
    assert values(argv, "-t") == [f"127.0.0.1:5000/analysis-template/cpu:{REV.sha}-linux-arm64"]
    # the Python stages run natively, on the host's base; the image stands on arm64's; its
    # contents are listed on the build host, not under QEMU
    assert {
        "BASE_IMAGE=local/base:arm",
        "BUILD_BASE_IMAGE=local/base:1",
        "LIST_CONTENTS_ON=build-host",
    } <= set(values(argv, "--build-arg"))


def test_base_image_is_a_build_arg_and_no_inline_cache_is_written(argv: list[str]) -> None:
    assert "BASE_IMAGE=local/base:1" in values(argv, "--build-arg")
    # the host's own platform lists its contents in the image (the Dockerfile's default)
    assert not any(arg.startswith("LIST_CONTENTS_ON") for arg in values(argv, "--build-arg"))
    # inline cache metadata in the config would make a rebuild of the commit another image
    assert not any(arg.startswith("BUILDKIT_INLINE_CACHE") for arg in values(argv, "--build-arg"))
    assert argv[:2] == ["/usr/bin/docker", "build"] and "--progress" in argv


def test_gpu_build_names_the_cpu_distributions_it_replaces(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("REGISTRY_URL", raising=False)
    graph = config.load(ROOT)
    cpu_ref = f"127.0.0.1:5000/analysis-template/cpu:{REV.sha}"
    argv = build.command(graph, graph.get("gpu"), REV, cpu_ref, CLIENT)
    assert f"BASE_IMAGE={cpu_ref}" in values(argv, "--build-arg")
    assert "REPLACES=xgboost-cpu" in values(argv, "--build-arg")
    assert argv[argv.index("-f") + 1].endswith("docker/gpu.Dockerfile")


def test_an_image_that_replaces_nothing_gets_no_replaces_arg(argv: list[str]) -> None:
    assert not any(arg.startswith("REPLACES=") for arg in values(argv, "--build-arg"))
