"""Every package cpu.in asks for imports in the image (names read from cpu.in itself)."""

import json
from pathlib import Path

import pytest

from imagectl import config, lock

ROOT = Path(__file__).resolve().parents[3]
WISHED = lock.wished_packages(config.load(ROOT).get("cpu").requirements)
IMPORTS_SCRIPT = (ROOT / "tests/image/imports.py").read_text()


@pytest.fixture(scope="module")
def import_errors(host) -> dict:
    result = host.run("python -c %s " + " ".join(WISHED), IMPORTS_SCRIPT)
    assert result.rc == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("package", WISHED)
def test_wished_package_imports(import_errors: dict, package: str) -> None:
    assert import_errors[package] is None, import_errors[package]


def test_python_is_debians_python_in_the_venv(host) -> None:
    assert host.run("python -c 'import sys; print(sys.prefix)'").stdout.strip() == "/opt/venv"
    assert host.check_output("readlink -f /opt/venv/bin/python").startswith("/usr/bin/python3")
