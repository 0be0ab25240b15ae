"""Every package gpu.in asks for imports in the image (names read from gpu.in itself). That the
image holds exactly its locks' versions is checked by cpu's test_packages.py, inherited."""


def test_wished_package_imports(import_errors: dict, wished_package: str) -> None:
    assert import_errors[wished_package] is None, import_errors[wished_package]
