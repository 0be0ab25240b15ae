"""PyTorch sees the GPU and computes on it what the CPU computes."""

from __future__ import annotations

from types import ModuleType


def test_torch_cuda_is_available_with_cudnn(torch: ModuleType, cuda: object) -> None:
    assert torch.cuda.is_available()
    assert torch.cuda.device_count() >= 1
    assert torch.backends.cudnn.is_available(), "cuDNN did not load"
    capability = torch.cuda.get_device_capability(cuda)
    print(f"{torch.cuda.get_device_name(cuda)} (sm_{capability[0]}{capability[1]}), "
          f"torch {torch.__version__}, CUDA {torch.version.cuda}, "
          f"cuDNN {torch.backends.cudnn.version()}")  # fmt: skip


def test_matrix_product_on_the_gpu_equals_the_cpu_product(torch: ModuleType, cuda: object) -> None:
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(512, 256, generator=generator)
    b = torch.randn(256, 384, generator=generator)
    # full float32 on both sides: TF32 would round the GPU's inputs to 10-bit mantissas
    previous = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    try:
        on_gpu = (a.to(cuda) @ b.to(cuda)).cpu()
    finally:
        torch.set_float32_matmul_precision(previous)
    torch.testing.assert_close(on_gpu, a @ b, rtol=1e-4, atol=1e-4)


def test_convolution_runs_on_the_gpu_through_cudnn(torch: ModuleType, cuda: object) -> None:
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(2, 3, 32, 32, generator=generator)
    conv = torch.nn.Conv2d(3, 8, kernel_size=3, padding=1)
    expected = conv(images)
    previous, torch.backends.cudnn.allow_tf32 = torch.backends.cudnn.allow_tf32, False
    try:
        got = conv.to(cuda)(images.to(cuda)).cpu()
    finally:
        torch.backends.cudnn.allow_tf32 = previous
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)
