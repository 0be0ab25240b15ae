"""RAdamNumpy: parity with torch.optim.RAdam, the warm-up claim, convergence."""

import numpy as np
import pytest

from analysis_utils import RAdamNumpy

SHAPES = [(), (3,), (4, 5)]
WEIGHT_DECAY_MODES = [
    pytest.param({}, id="no-weight-decay"),
    pytest.param({"weight_decay": 0.1}, id="l2-weight-decay"),
    pytest.param({"weight_decay": 0.1, "decoupled_weight_decay": True}, id="decoupled"),
]


def _random_gradients(rng, n_steps):
    # Gradients over several orders of magnitude exercise eps and the adaptive scaling.
    return [
        [rng.normal(size=shape) * 10 ** rng.uniform(-3, 1) for shape in SHAPES]
        for _ in range(n_steps)
    ]


@pytest.mark.parametrize("options", WEIGHT_DECAY_MODES)
@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.5, 0.99)])
def test_numpy_radam_matches_torch_radam_step_for_step(options, betas):
    torch = pytest.importorskip("torch", reason="torch.optim.RAdam is the reference")
    rng = np.random.default_rng(0)
    init = [rng.normal(size=shape) for shape in SHAPES]
    ours = [p.copy() for p in init]
    theirs = [torch.tensor(p.copy(), dtype=torch.float64) for p in init]
    opt = RAdamNumpy(ours, lr=0.01, betas=betas, threshold=5.0, **options)
    ref = torch.optim.RAdam(theirs, lr=0.01, betas=betas, foreach=False, **options)
    for step, grads in enumerate(_random_gradients(rng, 60), start=1):
        for t, g in zip(theirs, grads, strict=True):
            t.grad = torch.tensor(g, dtype=torch.float64)
        ref.step()
        opt.step(grads)
        for o, t in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(o, t.numpy(), rtol=1e-12, atol=1e-14, err_msg=f"step {step}")


def test_numpy_radam_with_paper_threshold_differs_from_torch_only_from_the_extra_step():
    torch = pytest.importorskip("torch", reason="torch.optim.RAdam is the reference")
    rng = np.random.default_rng(1)
    ours = [rng.normal(size=(3,))]
    theirs = [torch.tensor(ours[0].copy())]
    opt = RAdamNumpy(ours, lr=0.1)  # threshold 4: adaptive from step 5 with beta2=0.999
    ref = torch.optim.RAdam(theirs, lr=0.1, foreach=False)  # adaptive from step 6
    for step in range(1, 6):
        grad = rng.normal(size=3)
        theirs[0].grad = torch.tensor(grad)
        ref.step()
        opt.step([grad])
        if step < 5:
            np.testing.assert_allclose(ours[0], theirs[0].numpy(), rtol=1e-12)
    assert not np.allclose(ours[0], theirs[0].numpy(), rtol=1e-6)


@pytest.mark.parametrize("beta2", [0.3, 0.6])
def test_small_beta2_numpy_radam_is_bias_corrected_momentum_sgd(beta2):
    rng = np.random.default_rng(2)
    lr, beta1 = 0.05, 0.9
    param = rng.normal(size=(4, 3))
    expected = param.copy()
    momentum = np.zeros_like(param)
    opt = RAdamNumpy([param], lr=lr, betas=(beta1, beta2))
    for step in range(1, 301):
        grad = rng.normal(size=param.shape)
        opt.step([grad])
        momentum = beta1 * momentum + (1 - beta1) * grad
        expected -= lr * momentum / (1 - beta1**step)
        np.testing.assert_allclose(param, expected, rtol=1e-10, atol=1e-12)


def test_numpy_radam_solves_a_least_squares_problem():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(200, 5))
    w_true = rng.normal(size=5)
    b = A @ w_true + 0.01 * rng.normal(size=200)
    w = np.zeros(5)
    opt = RAdamNumpy([w], lr=0.05)
    for _ in range(2000):
        opt.step([2 * A.T @ (A @ w - b) / len(b)])
    w_lstsq = np.linalg.lstsq(A, b, rcond=None)[0]
    np.testing.assert_allclose(w, w_lstsq, atol=1e-3)


def test_numpy_radam_updates_arrays_in_place_and_round_trips_its_state():
    param = np.ones(3)
    opt = RAdamNumpy([param], lr=0.1)
    opt.step([np.ones(3)])
    assert not np.allclose(param, 1.0)
    saved = opt.state_dict()
    clone_param = param.copy()
    clone = RAdamNumpy([clone_param], lr=0.1)
    clone.load_state_dict(saved)
    for _ in range(10):
        opt.step([np.full(3, 0.5)])
        clone.step([np.full(3, 0.5)])
    np.testing.assert_array_equal(param, clone_param)


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: RAdamNumpy([np.zeros(2)], lr=-1.0), ValueError, "learning rate"),
        (lambda: RAdamNumpy([np.zeros(2)], betas=(0.9, 1.0)), ValueError, "beta"),
        (lambda: RAdamNumpy([np.zeros(2)], threshold=2.0), ValueError, "threshold"),
        (lambda: RAdamNumpy([np.zeros(2, dtype=int)]), TypeError, "floating-point"),
        (lambda: RAdamNumpy([[0.0, 1.0]]), TypeError, "numpy.ndarray"),
        (lambda: RAdamNumpy([np.zeros(2)]).step([np.zeros(3)]), ValueError, "shape"),
        (lambda: RAdamNumpy([np.zeros(2)]).step([]), ValueError, "gradients"),
    ],
)
def test_numpy_radam_rejects_bad_arguments_clearly(make, error, message):
    with pytest.raises(error, match=message):
        make()
