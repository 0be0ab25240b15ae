"""The bundled RAdam takes the same steps on CUDA as on the CPU."""

from __future__ import annotations

from types import ModuleType


def test_radam_steps_on_cuda_equal_the_cpu_steps(
    torch: ModuleType, cuda: object, radam: type
) -> None:
    generator = torch.Generator().manual_seed(0)
    start = torch.randn(64, 32, generator=generator)
    # 12 steps: past the warm-up, so both the plain and the rectified update are compared
    grads = [torch.randn(64, 32, generator=generator) for _ in range(12)]
    on_cpu = start.clone().requires_grad_()
    on_gpu = start.clone().to(cuda).requires_grad_()
    cpu_opt = radam([on_cpu], lr=0.01, weight_decay=0.01)
    gpu_opt = radam([on_gpu], lr=0.01, weight_decay=0.01)
    for step, grad in enumerate(grads, start=1):
        on_cpu.grad = grad.clone()
        on_gpu.grad = grad.to(cuda)
        cpu_opt.step()
        gpu_opt.step()
        torch.testing.assert_close(on_gpu.detach().cpu(), on_cpu.detach(), msg=f"step {step}")
    assert not torch.equal(on_cpu.detach(), start), "RAdam did not move the parameters"
