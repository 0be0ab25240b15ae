"""Every package cpu.in asks for imports in the image (names read from cpu.in itself; the
parametrization and the import run are in tests/image/conftest.py, shared with child images)."""

import json

from imagectl import lock


def test_required_package_imports(import_errors: dict, required_package: str) -> None:
    assert import_errors[required_package] is None, import_errors[required_package]


def test_python_is_debians_python_in_the_venv(host) -> None:
    assert host.run("python -c 'import sys; print(sys.prefix)'").stdout.strip() == "/opt/venv"
    assert host.check_output("readlink -f /opt/venv/bin/python").startswith("/usr/bin/python3")


LIST_DISTRIBUTIONS = (
    "import json, importlib.metadata as m; "
    "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
)


def test_venv_holds_exactly_the_locked_versions(host, locked_versions) -> None:
    listed = json.loads(host.check_output("python -c %s", LIST_DISTRIBUTIONS))
    installed = {lock.normalize(name): version for name, version in listed.items()}
    wrong = {n: (v, installed.get(n)) for n, v in locked_versions.items() if installed.get(n) != v}
    assert not wrong, f"(locked, installed): {wrong}"
    # only the bundled library, installed from the source tree, is not in a lock
    assert set(installed) - set(locked_versions) == {"analysis-utils"}


def test_installed_packages_have_no_broken_requirements(host) -> None:
    result = host.run("python -m pip check")
    assert result.rc == 0, result.stdout + result.stderr


# what pip and %pip install at run time are held to (PIP_CONSTRAINT): the image's own pins
PINS = "/usr/share/analysis-template/constraints.txt"


def test_constraints_pin_every_locked_package_at_its_version(host, locked_versions) -> None:
    assert host.check_output("printenv PIP_CONSTRAINT") == PINS
    pins = dict(line.split("==") for line in host.file(PINS).content_string.split())
    wrong = {name: pins.get(name) for name, version in locked_versions.items()}
    wrong = {n: v for n, v in wrong.items() if v != locked_versions[n]}
    assert wrong == {}, f"constraints.txt differs from the lock: {wrong}"
