"""Every package gpu.in asks for imports in the image (names read from gpu.in itself). That the
image holds exactly its locks' versions is checked by cpu's test_packages.py, inherited."""


def test_required_package_imports(import_errors: dict, required_package: str) -> None:
    assert import_errors[required_package] is None, import_errors[required_package]
