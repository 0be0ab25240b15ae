"""Hash-locked requirements: a child image's lock agrees with its parent's, and locking
resolves a child against its parent's lock."""

from pathlib import Path

import pytest
from click.testing import CliRunner
from support import ROOT

from imagectl import cli, config, layers, lock, proc

GRAPH = config.load(ROOT)
CHILDREN = [spec for spec in GRAPH.images.values() if spec.parent and spec.lock_file]
WITH_LOCKS = [spec for spec in GRAPH.images.values() if spec.lock_file]


@pytest.mark.parametrize("child", CHILDREN, ids=lambda spec: spec.name)
def test_child_lock_keeps_every_shared_package_at_the_parents_version(
    child: config.ImageSpec,
) -> None:
    parent = GRAPH.get(child.parent or "")
    assert child.lock_file and parent.lock_file
    mine, theirs = lock.pinned_versions(child.lock_file), lock.pinned_versions(parent.lock_file)
    differing = {
        name: f"{theirs[name]} in {parent.name}, {version} in {child.name}"
        for name, version in mine.items()
        if name in theirs and theirs[name] != version
    }
    assert not differing, f"re-run `make lock`: {differing}"


@pytest.mark.parametrize("child", CHILDREN, ids=lambda spec: spec.name)
def test_replacing_distribution_is_locked_at_the_replaced_ones_version(
    child: config.ImageSpec,
) -> None:
    parent = GRAPH.get(child.parent or "")
    assert child.lock_file and parent.lock_file
    mine, theirs = lock.pinned_versions(child.lock_file), lock.pinned_versions(parent.lock_file)
    for old, new in child.replaces.items():
        assert mine.get(lock.normalize(new)) == theirs[lock.normalize(old)], (
            f"{child.name} replaces {old} {theirs[lock.normalize(old)]} with {new} "
            f"{mine.get(lock.normalize(new))}: pin {new}=={theirs[lock.normalize(old)]} in "
            f"{child.requirements.name if child.requirements else 'its .in'} and re-run `make lock`"
        )


def test_gpu_lock_holds_cuda_torch_and_the_xgboost_that_replaces_xgboost_cpu() -> None:
    gpu = GRAPH.get("gpu")
    assert gpu.parent == "cpu" and gpu.replaces == {"xgboost-cpu": "xgboost"}
    assert gpu.lock_file
    pins = lock.pinned_versions(gpu.lock_file)
    assert {"torch", "torchvision", "xgboost", "pytest"} <= pins.keys()
    assert any(name.startswith("nvidia-cudnn") for name in pins), "no cuDNN wheel in gpu.lock"
    assert "xgboost-cpu" not in pins


@pytest.mark.parametrize("spec", WITH_LOCKS, ids=lambda spec: spec.name)
def test_every_requirement_is_pinned_in_its_lock(spec: config.ImageSpec) -> None:
    assert spec.requirements and spec.lock_file
    pins = lock.pinned_versions(spec.lock_file)
    stale = [w for w in lock.required_packages(spec.requirements) if lock.normalize(w) not in pins]
    assert not stale, f"{spec.lock_file.name} lacks {stale}: re-run `make lock`"


def test_pinned_versions_reads_names_and_versions_and_skips_hashes(tmp_path: Path) -> None:
    lock_file = tmp_path / "x.lock"
    lock_file.write_text(
        "# header\nNumPy==2.5.5 \\\n    --hash=sha256:ab\n    # via -r x.in\n"
        "typing_extensions==4.16.0 ; python_version >= '3.9' \\\n    --hash=sha256:cd\n"
    )
    assert lock.pinned_versions(lock_file) == {"numpy": "2.5.5", "typing-extensions": "4.16.0"}


def test_compile_lock_passes_the_parents_lock_as_relative_constraints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[list[str], str | None]] = []
    monkeypatch.setattr(proc, "run_echoed", lambda argv, cwd=None: calls.append((argv, cwd)))
    (tmp_path / "cpu.lock").write_text("")
    (tmp_path / "gpu.in").write_text("torch\n")
    assert lock.compile_lock(tmp_path / "gpu.in", tmp_path / "cpu.lock") == tmp_path / "gpu.lock"
    argv, cwd = calls[0]
    assert cwd == str(tmp_path)
    assert argv[argv.index("-c") + 1] == "cpu.lock"


def test_compile_lock_without_a_parent_has_no_constraints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr(proc, "run_echoed", lambda argv, cwd=None: calls.append(argv))
    (tmp_path / "cpu.in").write_text("numpy\n")
    lock.compile_lock(tmp_path / "cpu.in")
    assert "-c" not in calls[0]


def test_compile_lock_leaves_out_what_the_excludes_file_beside_it_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr(proc, "run_echoed", lambda argv, cwd=None: calls.append(argv))
    (tmp_path / "cpu.in").write_text("jupyterlab\n")
    lock.compile_lock(tmp_path / "cpu.in")
    assert "--excludes" not in calls[0]
    (tmp_path / "cpu.excludes").write_text("rfc3987-syntax\n")
    lock.compile_lock(tmp_path / "cpu.in")
    assert calls[1][calls[1].index("--excludes") + 1] == "cpu.excludes"


def test_compile_lock_names_a_missing_parent_lock(tmp_path: Path) -> None:
    (tmp_path / "gpu.in").write_text("torch\n")
    with pytest.raises(lock.ConfigError, match="parent's lock"):
        lock.compile_lock(tmp_path / "gpu.in", tmp_path / "cpu.lock")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), [("uv.in", None), ("cpu.in", None), ("gpu.in", "cpu.lock")]),
        (("gpu",), [("uv.in", None), ("gpu.in", "cpu.lock")]),
        (("gpu", "cpu"), [("uv.in", None), ("cpu.in", None), ("gpu.in", "cpu.lock")]),
    ],
)
def test_lock_command_locks_parents_first_and_children_against_them(
    monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], expected: list
) -> None:
    calls: list[tuple[str, str | None]] = []

    def fake_compile(requirements: Path, constraints: Path | None = None) -> Path:
        calls.append((requirements.name, constraints.name if constraints else None))
        return requirements.with_suffix(".lock")

    split: list[str] = []  # the install layers are re-split from each image's fresh lock

    def fake_write_layers(requirements: Path, locked: Path) -> list[Path]:
        split.append(locked.name)
        return []

    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(lock, "compile_lock", fake_compile)
    monkeypatch.setattr(layers, "write_layers", fake_write_layers)
    result = CliRunner().invoke(cli.cli, ["lock", *args])
    assert result.exit_code == 0, result.output
    assert calls == expected
    assert split == [requirements.replace(".in", ".lock") for requirements, _ in expected[1:]]
