"""Every package cpu.in asks for imports in the image (names read from cpu.in itself; the
parametrization and the import run are in tests/image/conftest.py, shared with child images)."""

import json

from imagectl import lock


def test_wished_package_imports(import_errors: dict, wished_package: str) -> None:
    assert import_errors[wished_package] is None, import_errors[wished_package]


def test_python_is_debians_python_in_the_venv(host) -> None:
    assert host.run("python -c 'import sys; print(sys.prefix)'").stdout.strip() == "/opt/venv"
    assert host.check_output("readlink -f /opt/venv/bin/python").startswith("/usr/bin/python3")


LIST_DISTRIBUTIONS = (
    "import json, importlib.metadata as m; "
    "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
)


def test_venv_holds_exactly_the_locked_versions(host, graph, image_name) -> None:
    installed = {
        lock.normalize(name): version
        for name, version in json.loads(
            host.check_output("python -c %s", LIST_DISTRIBUTIONS)
        ).items()
    }
    own = lock.pinned_versions(graph.get(image_name).lock_file)
    wrong = {name: (pin, installed.get(name)) for name, pin in own.items()
             if name in installed and installed[name] != pin}  # fmt: skip
    missing = sorted(name for name in own if name not in installed)
    allowed = set().union(*(lock.pinned_versions(s.lock_file) for s in graph.lineage(image_name)))
    unlocked = sorted(set(installed) - allowed - {"analysis-utils"})
    assert (wrong, unlocked) == ({}, []), "installed differs from the lock"
    # an image's own lock may leave out what it replaces (gpu swaps xgboost-cpu), never more
    assert missing == [] or image_name != "cpu", missing
