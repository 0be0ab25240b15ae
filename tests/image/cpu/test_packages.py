"""Every package cpu.in asks for imports in the image (names read from cpu.in itself; the
parametrization and the import run are in tests/image/conftest.py, shared with child images)."""


def test_wished_package_imports(import_errors: dict, wished_package: str) -> None:
    assert import_errors[wished_package] is None, import_errors[wished_package]


def test_python_is_debians_python_in_the_venv(host) -> None:
    assert host.run("python -c 'import sys; print(sys.prefix)'").stdout.strip() == "/opt/venv"
    assert host.check_output("readlink -f /opt/venv/bin/python").startswith("/usr/bin/python3")
