"""Every package gpu.in asks for imports in the image (names read from gpu.in itself), and the
image holds exactly the locked versions: cpu.lock's, with xgboost-cpu swapped, plus gpu.lock's."""

import json
from pathlib import Path

from imagectl import config, lock

ROOT = Path(__file__).resolve().parents[3]
INSTALLED = (
    "import importlib.metadata as m, json; "
    "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
)


def test_wished_package_imports(import_errors: dict, wished_package: str) -> None:
    assert import_errors[wished_package] is None, import_errors[wished_package]


def test_installed_versions_are_exactly_cpus_and_gpus_locks(host) -> None:
    graph = config.load(ROOT)
    gpu, cpu = graph.get("gpu"), graph.get("cpu")
    assert gpu.lock_file and cpu.lock_file
    expected = lock.pinned_versions(cpu.lock_file)
    for old in gpu.replaces:
        del expected[lock.normalize(old)]
    expected |= lock.pinned_versions(gpu.lock_file)
    result = host.run("python -c %s", INSTALLED)
    assert result.rc == 0, result.stderr
    installed = {lock.normalize(k): v for k, v in json.loads(result.stdout).items()}
    wrong = {n: (v, installed.get(n)) for n, v in expected.items() if installed.get(n) != v}
    assert not wrong, f"(locked, installed): {wrong}"
    # only the bundled library, installed from the source tree, is not in a lock
    assert set(installed) - set(expected) == {"analysis-utils"}


def test_installed_packages_have_no_broken_requirements(host) -> None:
    result = host.run("python -m pip check")
    assert result.rc == 0, result.stdout + result.stderr
