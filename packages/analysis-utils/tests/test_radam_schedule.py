"""The RAdam warm-up schedule (rho_inf, rho_t, rectification)."""

import math

import numpy as np
import pytest

from analysis_utils import first_adaptive_step, rectification, rho_inf, rho_t

STEPS = np.arange(1, 20_001)


def test_rho_inf_matches_the_paper_formula():
    assert rho_inf(0.999) == pytest.approx(1999.0)
    assert rho_inf(0.6) == pytest.approx(4.0)


@pytest.mark.parametrize("beta2", [0.0, 0.3, 0.9, 0.99, 0.999])
def test_rho_is_one_at_the_first_step_and_grows_towards_rho_inf(beta2):
    assert rho_t(1, beta2) == pytest.approx(1.0)
    values = rho_t(STEPS, beta2)
    assert np.all(np.diff(values) >= -1e-9)
    assert np.all(values <= rho_inf(beta2) + 1e-9)


def test_vectorised_schedule_agrees_with_scalar_schedule():
    steps = np.array([1, 2, 5, 6, 7, 50, 1000])
    np.testing.assert_allclose(rho_t(steps, 0.999), [rho_t(int(s), 0.999) for s in steps])
    vector = rectification(steps, 0.999, threshold=5.0)
    scalar = [rectification(int(s), 0.999, threshold=5.0) for s in steps]
    for v, s in zip(vector, scalar, strict=True):
        if s is None:
            assert math.isnan(v)
        else:
            assert v == pytest.approx(s, rel=1e-12)


@pytest.mark.parametrize("beta2", [0.0, 0.1, 0.3, 0.5, 0.59, 0.6])
def test_beta2_at_most_0_6_never_makes_the_update_adaptive(beta2):
    # The post's claim: rho_inf = 2/(1-beta2) - 1 <= 4 for beta2 <= 0.6, and rho_t < rho_inf.
    assert np.all(rho_t(STEPS, beta2) <= 4.0)
    assert np.all(np.isnan(rectification(STEPS, beta2)))
    assert rectification(10**6, beta2) is None
    assert first_adaptive_step(beta2) is None


def test_update_becomes_adaptive_once_beta2_exceeds_0_6():
    assert first_adaptive_step(0.61) is not None


def test_paper_threshold_starts_adapting_one_step_before_torch_threshold():
    # beta2 = 0.999: rho_5 ~ 4.996, so rho_t > 4 from step 5 but rho_t > 5 only from step 6.
    assert first_adaptive_step(0.999, threshold=4.0) == 5
    assert first_adaptive_step(0.999, threshold=5.0) == 6
    assert rectification(4, 0.999) is None
    assert 0 < rectification(5, 0.999) < rectification(6, 0.999) < 1
    assert rectification(5, 0.999, threshold=5.0) is None


def test_rectification_approaches_one_after_the_warm_up():
    r = rectification(np.array([10, 100, 1000, 100_000]), 0.999)
    assert np.all(np.diff(r) > 0)
    assert r[-1] == pytest.approx(1.0, abs=1e-6)


def test_first_adaptive_step_is_the_first_step_above_the_threshold():
    for beta2, threshold in [(0.7, 4.0), (0.9, 4.0), (0.95, 5.0), (0.9999, 5.0)]:
        t = first_adaptive_step(beta2, threshold)
        assert rho_t(t, beta2) > threshold
        assert t == 1 or rho_t(t - 1, beta2) <= threshold


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: rho_inf(1.0), "beta2"),
        (lambda: rho_t(0, 0.9), "step"),
        (lambda: rho_t(np.array([0, 1]), 0.9), "step"),
        (lambda: rectification(10, 0.9, threshold=3.0), "threshold"),
    ],
)
def test_invalid_schedule_arguments_raise_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
