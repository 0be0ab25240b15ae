"""The GPU tests (tests/gpu) run inside the image as a GPU runner runs them, bind-mounted
read-only; without a GPU every one of them is collected and skips, saying why, and with
GPU_TESTS_REQUIRE_GPU=1 the same missing GPU fails instead."""

import io
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

import docker
import pytest

GPU_TESTS = Path(__file__).resolve().parents[2] / "gpu"
REPORT = "/tmp/gpu-tests.xml"


def run_gpu_tests(docker_client: docker.DockerClient, image_ref: str, **environment: str) -> tuple:
    """`docker run -v tests/gpu:/tests/gpu:ro IMAGE pytest /tests/gpu`: exit code, JUnit XML."""
    container = docker_client.containers.run(
        image_ref,
        ["pytest", "/tests/gpu", f"--junitxml={REPORT}"],
        detach=True,
        network_mode="none",
        environment=environment,
        volumes={str(GPU_TESTS): {"bind": "/tests/gpu", "mode": "ro"}},
    )
    try:
        code = container.wait(timeout=120)["StatusCode"]
        output = container.logs().decode(errors="replace")
        chunks, _ = container.get_archive(REPORT)
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
            member = tar.extractfile(Path(REPORT).name)
            assert member is not None, output
            report = ET.parse(member).getroot()
    finally:
        container.remove(force=True)
    return code, report, output


@pytest.fixture(scope="module")
def default_run(docker_client: docker.DockerClient, image_ref: str) -> tuple:
    return run_gpu_tests(docker_client, image_ref)


def test_gpu_tests_are_collected_in_the_image(default_run: tuple) -> None:
    _, report, output = default_run
    names = {case.get("name") for case in report.iter("testcase")}
    expected = {
        "test_torch_cuda_is_available_with_cudnn",
        "test_matrix_product_on_the_gpu_equals_the_cpu_product",
        "test_radam_steps_on_cuda_equal_the_cpu_steps",
        "test_xgboost_fits_on_cuda_and_beats_the_mean",
    }
    assert expected <= names, output


def test_gpu_tests_skip_without_a_gpu_and_say_why(default_run: tuple) -> None:
    code, report, output = default_run
    assert code == 0, output
    cases = list(report.iter("testcase"))
    assert cases, output
    for case in cases:
        skipped = case.find("skipped")
        assert skipped is not None, f"{case.get('name')} did not skip:\n{output}"
        assert "no GPU visible: /proc/driver/nvidia/version is absent" in skipped.get("message", "")


def test_gpu_tests_fail_without_a_gpu_when_a_runner_requires_one(
    docker_client: docker.DockerClient, image_ref: str
) -> None:
    code, report, output = run_gpu_tests(docker_client, image_ref, GPU_TESTS_REQUIRE_GPU="1")
    assert code == 1, output
    failed = [case for case in report.iter("testcase") if case.find("skipped") is None]
    assert failed and len(failed) == len(list(report.iter("testcase"))), output
    assert "GPU_TESTS_REQUIRE_GPU is set" in output
