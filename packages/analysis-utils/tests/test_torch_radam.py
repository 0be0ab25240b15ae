"""analysis_utils.torch_radam.RAdam: parity with torch.optim.RAdam, warm-up, convergence."""

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the PyTorch optimizer needs torch installed")

from analysis_utils.torch_radam import RAdam  # noqa: E402

SHAPES = [(), (3,), (4, 5)]
WEIGHT_DECAY_MODES = [
    pytest.param({}, id="no-weight-decay"),
    pytest.param({"weight_decay": 0.1}, id="l2-weight-decay"),
    pytest.param({"weight_decay": 0.1, "decoupled_weight_decay": True}, id="decoupled"),
]


def _pair(rng, shapes, dtype=torch.float64):
    init = [rng.normal(size=shape) for shape in shapes]
    ours = [torch.tensor(p.copy(), dtype=dtype) for p in init]
    theirs = [torch.tensor(p.copy(), dtype=dtype) for p in init]
    return ours, theirs


@pytest.mark.parametrize("options", WEIGHT_DECAY_MODES)
@pytest.mark.parametrize("maximize", [False, True])
def test_torch_radam_matches_torch_optim_radam_step_for_step(options, maximize):
    rng = np.random.default_rng(0)
    ours, theirs = _pair(rng, SHAPES)
    opt = RAdam(ours, lr=0.01, threshold=5.0, maximize=maximize, **options)
    ref = torch.optim.RAdam(theirs, lr=0.01, foreach=False, maximize=maximize, **options)
    for step in range(1, 61):
        for o, t in zip(ours, theirs, strict=True):
            grad = torch.tensor(rng.normal(size=tuple(o.shape)) * 10 ** rng.uniform(-3, 1))
            o.grad = grad.clone()
            t.grad = grad.clone()
        opt.step()
        ref.step()
        for o, t in zip(ours, theirs, strict=True):
            torch.testing.assert_close(o, t, rtol=1e-14, atol=0.0, msg=f"step {step}")


def test_torch_radam_matches_torch_optim_radam_for_complex_parameters():
    rng = np.random.default_rng(1)
    init = rng.normal(size=4) + 1j * rng.normal(size=4)
    ours = torch.tensor(init.copy())
    theirs = torch.tensor(init.copy())
    opt = RAdam([ours], lr=0.01, threshold=5.0, weight_decay=0.01)
    ref = torch.optim.RAdam([theirs], lr=0.01, foreach=False, weight_decay=0.01)
    for _ in range(20):
        grad = torch.tensor(rng.normal(size=4) + 1j * rng.normal(size=4))
        ours.grad = grad.clone()
        theirs.grad = grad.clone()
        opt.step()
        ref.step()
    torch.testing.assert_close(ours, theirs, rtol=1e-14, atol=0.0)


def test_torch_radam_and_numpy_radam_agree():
    from analysis_utils import RAdamNumpy

    rng = np.random.default_rng(2)
    param_np = rng.normal(size=(4, 5))
    param_t = torch.tensor(param_np.copy())
    opt_np = RAdamNumpy([param_np], lr=0.02, weight_decay=0.05)
    opt_t = RAdam([param_t], lr=0.02, weight_decay=0.05)
    for _ in range(60):
        grad = rng.normal(size=(4, 5))
        param_t.grad = torch.tensor(grad)
        opt_t.step()
        opt_np.step([grad])
    np.testing.assert_allclose(param_np, param_t.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("beta2", [0.2, 0.6])
def test_small_beta2_torch_radam_is_bias_corrected_momentum_sgd(beta2):
    rng = np.random.default_rng(3)
    lr, beta1 = 0.05, 0.9
    param = torch.tensor(rng.normal(size=(3, 2)))
    expected = param.clone()
    momentum = torch.zeros_like(param)
    opt = RAdam([param], lr=lr, betas=(beta1, beta2))
    for step in range(1, 301):
        grad = torch.tensor(rng.normal(size=(3, 2)))
        param.grad = grad
        opt.step()
        momentum = beta1 * momentum + (1 - beta1) * grad
        expected -= lr * momentum / (1 - beta1**step)
        torch.testing.assert_close(param, expected, rtol=1e-10, atol=1e-12)


def test_torch_radam_fits_a_least_squares_problem_with_autograd():
    generator = torch.Generator().manual_seed(0)
    A = torch.randn(200, 5, generator=generator, dtype=torch.float64)
    w_true = torch.randn(5, generator=generator, dtype=torch.float64)
    b = A @ w_true + 0.01 * torch.randn(200, generator=generator, dtype=torch.float64)
    w = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    opt = RAdam([w], lr=0.05)

    def closure():
        opt.zero_grad()
        loss = ((A @ w - b) ** 2).mean()
        loss.backward()
        return loss

    first_loss = opt.step(closure).item()
    for _ in range(2000):
        opt.step(closure)
    w_lstsq = torch.linalg.lstsq(A, b.unsqueeze(1)).solution.squeeze(1)
    assert closure().item() < first_loss / 100
    torch.testing.assert_close(w.detach(), w_lstsq, atol=1e-3, rtol=0)


def test_torch_radam_state_dict_round_trip_continues_identically():
    rng = np.random.default_rng(4)
    a = torch.tensor(rng.normal(size=3))
    b = a.clone()
    opt_a = RAdam([a], lr=0.1)
    for _ in range(7):
        a.grad = torch.ones(3, dtype=torch.float64)
        opt_a.step()
    b.copy_(a)
    opt_b = RAdam([b], lr=0.1)
    # deepcopy as torch.save/torch.load would: state_dict() shares the live buffers.
    opt_b.load_state_dict(copy.deepcopy(opt_a.state_dict()))
    for _ in range(5):
        a.grad = torch.full((3,), 0.5, dtype=torch.float64)
        b.grad = torch.full((3,), 0.5, dtype=torch.float64)
        opt_a.step()
        opt_b.step()
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_torch_radam_rejects_a_threshold_below_four():
    with pytest.raises(ValueError, match="threshold"):
        RAdam([torch.zeros(2)], threshold=3.5)


def test_package_exposes_the_torch_optimizer_lazily():
    import analysis_utils

    assert analysis_utils.RAdam is RAdam
