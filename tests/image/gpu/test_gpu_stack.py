"""The CUDA stack is complete in the image even where no GPU is: torch is a CUDA build with
cuDNN, the CUDA libraries from the nvidia-* wheels load, XGBoost is its CUDA build, and the
bundled RAdam imports. (Computing on a GPU is tests/gpu's job.)"""

import json

TORCH = """
import json, torch
print(json.dumps({"cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
                  "cuda_available": torch.cuda.is_available()}))
"""
# the libraries torch needs at run time, loaded by hand from the wheels' folders
LOAD_CUDA_LIBRARIES = """
import ctypes, glob, json, os, sysconfig
site = sysconfig.get_paths()["purelib"]
loaded = {}
for pattern in ("libcudart.so.*", "libcublas.so.*", "libcudnn.so.*", "libnccl.so.*"):
    paths = sorted(glob.glob(os.path.join(site, "nvidia", "**", pattern), recursive=True))
    try:
        loaded[pattern] = paths and (ctypes.CDLL(paths[0]) and paths[0])
    except OSError as exc:
        loaded[pattern] = f"error: {exc}"
print(json.dumps(loaded))
"""
XGBOOST = """
import importlib.metadata as m, json, xgboost
info = xgboost.build_info()
try:
    m.distribution("xgboost-cpu")
    cpu_build = True
except m.PackageNotFoundError:
    cpu_build = False
print(json.dumps({"cuda": info.get("USE_CUDA"), "nccl": info.get("USE_NCCL"),
                  "xgboost_cpu_installed": cpu_build}))
"""
RADAM = """
import torch
from analysis_utils.torch_radam import RAdam
w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
w.grad = torch.tensor([0.5, -0.5])
RAdam([w], lr=0.1).step()
print(w.tolist())
"""


def run_python(host, script: str) -> object:
    result = host.run("python -c %s", script)
    assert result.rc == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_torch_is_a_cuda_build_that_reports_its_cuda_and_cudnn_versions(host) -> None:
    info = run_python(host, TORCH)
    assert info["cuda"], "torch is a CPU-only build (torch.version.cuda is None)"
    assert info["cudnn"] and info["cudnn"] >= 90000, f"cuDNN 9 or later, got {info['cudnn']}"
    assert isinstance(info["cuda_available"], bool)  # answers, without a GPU, instead of raising


def test_cuda_libraries_from_the_nvidia_wheels_load(host) -> None:
    loaded = run_python(host, LOAD_CUDA_LIBRARIES)
    for pattern, outcome in loaded.items():
        assert outcome and not outcome.startswith("error"), f"{pattern}: {outcome or 'not found'}"


def test_xgboost_is_the_cuda_build_and_xgboost_cpu_is_gone(host) -> None:
    info = run_python(host, XGBOOST)
    assert info == {"cuda": True, "nccl": True, "xgboost_cpu_installed": False}


def test_bundled_torch_radam_imports_and_steps(host) -> None:
    # the first step is the un-adapted momentum update: w - lr * g
    assert run_python(host, RADAM) == [0.949999988079071, -1.9500000476837158]
