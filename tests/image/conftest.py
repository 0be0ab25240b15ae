"""What every image folder shares: its image's required packages (from the image's `.in` file)
import in the image under test. A folder's test that takes `required_package` is run once per
requirement of the folder's image, less those a descendant under test replaces (gpu swaps cpu's
xgboost-cpu for xgboost: cpu's tests then do not expect xgboost-cpu in the gpu image)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import ROOT

from imagectl import config, lock

IMPORTS_SCRIPT = (Path(__file__).parent / "imports.py").read_text()


def expected_requirements(
    graph: config.ImageGraph, folder_image: str, tested_image: str
) -> list[str]:
    """The requirements of `folder_image` that the image `tested_image` must still import."""
    replaced = {lock.normalize(old) for s in graph.lineage(tested_image) for old in s.replaces}
    requirements = graph.get(folder_image).requirements
    names = lock.required_packages(requirements) if requirements else []
    return [name for name in names if lock.normalize(name) not in replaced]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "required_package" in metafunc.fixturenames:
        folder_image = metafunc.definition.path.parent.name
        tested = metafunc.config.getoption("--image")
        names = expected_requirements(config.load(ROOT), folder_image, tested)
        metafunc.parametrize("required_package", names)


@pytest.fixture(scope="session")
def import_errors(host, graph: config.ImageGraph, image_name: str) -> dict[str, str | None]:
    """{distribution: None, or why importing its modules failed} for every requirement of the image
    and its parents, from one Python run inside the container."""
    names = [
        name
        for spec in graph.lineage(image_name)
        for name in expected_requirements(graph, spec.name, image_name)
    ]
    result = host.run("python -c %s " + " ".join(names), IMPORTS_SCRIPT)
    assert result.rc == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="session")
def locked_versions(graph: config.ImageGraph, image_name: str) -> dict[str, str]:
    """{distribution: version} the image under test must hold: its lineage's locks, root first,
    less what a descendant replaces (a child's lock pins shared packages as its parent's)."""
    expected: dict[str, str] = {}
    for spec in graph.lineage(image_name):
        for old in spec.replaces:
            expected.pop(lock.normalize(old), None)
        if spec.lock_file:
            expected |= lock.pinned_versions(spec.lock_file)
    return expected
