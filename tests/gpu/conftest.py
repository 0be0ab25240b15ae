"""GPU checks for wherever torch runs: inside the gpu image (`docker run --gpus all`) or on a GPU
host's own Python. Nothing here imports the repository's tool.

Where no GPU is visible each test skips and says why. A GPU runner sets GPU_TESTS_REQUIRE_GPU=1
so that a missing GPU (a forgotten `--gpus all`, a driver too old for the CUDA build) fails
instead of passing as a row of skips.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType

import pytest

DRIVER_VERSION_FILE = Path("/proc/driver/nvidia/version")
REQUIRE_GPU = os.environ.get("GPU_TESTS_REQUIRE_GPU", "") not in ("", "0")


def missing(reason: str) -> None:
    """Skip, or fail where a GPU is required."""
    if REQUIRE_GPU:
        pytest.fail(f"{reason} (and GPU_TESTS_REQUIRE_GPU is set)", pytrace=False)
    pytest.skip(reason)


def need(module: str, hint: str) -> ModuleType:
    """Import `module`, or skip (fail where a GPU is required) naming what to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing(f"{module} cannot be imported ({exc}); {hint}")
        raise  # unreachable: missing() always raises


def driver_version() -> str:
    return DRIVER_VERSION_FILE.read_text().splitlines()[0].strip()


@pytest.fixture(scope="session")
def nvidia_driver() -> str:
    """The NVIDIA kernel driver's version line; skips where the driver is not visible."""
    if not DRIVER_VERSION_FILE.is_file():
        missing(
            f"no GPU visible: {DRIVER_VERSION_FILE} is absent (no NVIDIA driver here, or a "
            "container started without --gpus all)"
        )
    return driver_version()


@pytest.fixture(scope="session")
def torch(nvidia_driver: str) -> ModuleType:
    return need("torch", "install a CUDA build of torch, or run these tests in the gpu image")


@pytest.fixture(scope="session")
def cuda(torch: ModuleType, nvidia_driver: str) -> object:
    """The first CUDA device; skips where torch cannot use the GPU."""
    if not torch.cuda.is_available():
        missing(
            f"torch.cuda is not available: torch {torch.__version__} is built for CUDA "
            f"{torch.version.cuda}; the driver is {nvidia_driver!r}; a driver older than "
            "that CUDA release, or a container without --gpus all, hides the GPU"
        )
    return torch.device("cuda", 0)


@pytest.fixture(scope="session")
def radam(torch: ModuleType) -> type:
    """The bundled library's PyTorch RAdam."""
    hint = "install the bundled library (pip install packages/analysis-utils) or use the gpu image"
    return need("analysis_utils.torch_radam", hint).RAdam


@pytest.fixture(scope="session")
def xgboost(nvidia_driver: str) -> ModuleType:
    """XGBoost, which must be a CUDA build."""
    module = need("xgboost", "install the CUDA build of xgboost, or use the gpu image")
    if not module.build_info().get("USE_CUDA"):
        pytest.fail(f"xgboost {module.__version__} is a CPU-only build (USE_CUDA is off)")
    return module


@pytest.fixture(scope="session")
def numpy() -> ModuleType:
    return need("numpy", "install numpy")
