"""Platforms: what a `--platform` names for an image, and what a foreign one needs here."""

from pathlib import Path

import pytest
from support import ROOT

from imagectl import config, host, platforms
from imagectl.errors import ConfigError, EngineError

CPU = ("linux/amd64", "linux/arm64")


def test_the_repository_builds_cpu_for_amd64_and_arm64_and_gpu_for_amd64_only() -> None:
    graph = config.load(ROOT)
    assert graph.get("cpu").platforms == CPU
    assert graph.get("gpu").platforms == ("linux/amd64",)


def test_no_platform_named_means_the_hosts_own() -> None:
    assert platforms.select(None, "cpu", CPU) == [platforms.native()]


def test_all_means_every_platform_the_image_lists() -> None:
    chosen = platforms.select("all", "cpu", CPU)
    assert [(p.name, p.architecture, p.machine, p.slug) for p in chosen] == [
        ("linux/amd64", "amd64", "x86_64", "linux-amd64"),
        ("linux/arm64", "arm64", "aarch64", "linux-arm64"),
    ]


def test_an_unknown_platform_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ConfigError) as error:
        platforms.select("linux/s390x", "cpu", CPU)
    assert "unknown platform 'linux/s390x'" in str(error.value)
    assert "linux/amd64, linux/arm64" in error.value.hint


def test_a_platform_the_image_does_not_list_is_refused_naming_images_yml() -> None:
    with pytest.raises(ConfigError) as error:
        platforms.select("linux/amd64,linux/arm64", "gpu", ("linux/amd64",))
    assert "gpu is not built for linux/arm64" in str(error.value)
    assert "images.gpu.platforms" in error.value.hint


def test_without_root_or_a_binfmt_handler_a_foreign_build_stops_naming_the_packages(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A mock: this host has the handler and the tests run as root; removing the handler
    # would break every emulated build on the machine, so binfmt_misc is an empty folder here.
    monkeypatch.setattr(platforms, "BINFMT", tmp_path)
    monkeypatch.setattr(host, "is_root", lambda: False)
    with pytest.raises(EngineError) as error:
        platforms.ensure_emulation(platforms.get("linux/arm64"))
    assert "QEMU user emulation" in str(error.value) and "qemu-aarch64" in str(error.value)
    assert "apt-get install -y qemu-user-static binfmt-support" in error.value.hint


def test_a_handler_without_the_fix_binary_flag_does_not_count(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "qemu-aarch64").write_text(
        "enabled\ninterpreter /usr/bin/qemu-aarch64\nflags: P\noffset 0\n"
    )
    monkeypatch.setattr(platforms, "BINFMT", tmp_path)
    monkeypatch.setattr(host, "is_root", lambda: False)
    with pytest.raises(EngineError):
        platforms.ensure_emulation(platforms.get("linux/arm64"))
    (tmp_path / "qemu-aarch64").write_text(
        "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\noffset 0\n"
    )
    platforms.ensure_emulation(platforms.get("linux/arm64"))  # ready: nothing to do


def test_this_hosts_binfmt_runs_arm64_programs() -> None:
    # the real handler, as `imagectl build --platform linux/arm64` left it (or as root makes it)
    platforms.ensure_emulation(platforms.get("linux/arm64"))
    text = (platforms.BINFMT / "qemu-aarch64").read_text()
    assert text.startswith("enabled") and "F" in text.split("flags:")[1].splitlines()[0]


@pytest.mark.parametrize(
    ("listed", "message"),
    [
        ("[linux/sparc]", "images.cpu.platforms: unknown platform 'linux/sparc'"),
        ("linux/amd64", "images.cpu.platforms must be a list"),
    ],
)
def test_malformed_platforms_in_images_yml_are_named(
    tmp_path: Path, listed: str, message: str
) -> None:
    (tmp_path / "cpu.Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "images.yml").write_text(
        "base: {image: 'debian:trixie-slim', suite: trixie, local_name: 'local/d:t'}\n"
        f"images:\n  cpu: {{dockerfile: cpu.Dockerfile, platforms: {listed}}}\n"
    )
    with pytest.raises(ConfigError) as error:
        config.load(tmp_path)
    assert message in str(error.value)


def test_a_child_cannot_list_a_platform_its_parent_lacks(tmp_path: Path) -> None:
    (tmp_path / "cpu.Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "images.yml").write_text(
        "base: {image: 'debian:trixie-slim', suite: trixie, local_name: 'local/d:t'}\n"
        "images:\n"
        "  cpu: {dockerfile: cpu.Dockerfile}\n"
        "  gpu: {dockerfile: cpu.Dockerfile, parent: cpu, platforms: [linux/amd64, linux/arm64]}\n"
    )
    with pytest.raises(ConfigError) as error:
        config.load(tmp_path)
    assert "images.gpu lists linux/arm64, which its parent cpu is not built for" in str(error.value)
