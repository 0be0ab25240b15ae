"""Rectified Adam (RAdam): the warm-up schedule and a NumPy optimizer.

Liu et al., "On the Variance of the Adaptive Learning Rate and Beyond" (ICLR 2020),
Algorithm 2. Adam's adaptive learning rate has a huge variance in the first steps,
which is why Adam needs a warm-up. RAdam estimates the length of the approximated
simple moving average of the squared gradients,

    rho_inf = 2 / (1 - beta2) - 1
    rho_t   = rho_inf - 2 t beta2^t / (1 - beta2^t),

and while ``rho_t`` is at or below a threshold it takes a plain bias-corrected
momentum (SGD) step. Above it, the adaptive step is scaled by the rectification

    r_t = sqrt(((rho_t - 4)(rho_t - 2) rho_inf) / ((rho_inf - 4)(rho_inf - 2) rho_t)),

which acts as an automatic, data-free warm-up. ``rho_1`` is always 1 and ``rho_t``
grows towards ``rho_inf``; for ``beta2 <= 0.6`` we have ``rho_inf <= 4``, so the
update never becomes adaptive.

Threshold: the paper switches to the adaptive step when ``rho_t > 4`` (the default
here, ``threshold=4.0``); ``torch.optim.RAdam`` (and the authors' code) use
``rho_t > 5``. Pass ``threshold=5.0`` to reproduce PyTorch exactly.

The functions below work on scalars (returning Python floats, computed in exactly
the order ``torch.optim.RAdam`` uses, so the schedule agrees bit for bit) and on
NumPy arrays of steps (handy to plot the implicit warm-up).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

import numpy as np

__all__ = [
    "PAPER_THRESHOLD",
    "TORCH_THRESHOLD",
    "RAdamNumpy",
    "first_adaptive_step",
    "rectification",
    "rho_inf",
    "rho_t",
]

#: ``rho_t > 4`` as in Algorithm 2 of the paper.
PAPER_THRESHOLD = 4.0
#: ``rho_t > 5`` as in ``torch.optim.RAdam`` and the reference implementation.
TORCH_THRESHOLD = 5.0


def _check_beta2(beta2: float) -> float:
    beta2 = float(beta2)
    if not 0.0 <= beta2 < 1.0:
        raise ValueError(f"beta2 must be in [0, 1), got {beta2}.")
    return beta2


def _check_threshold(threshold: float) -> float:
    threshold = float(threshold)
    if not threshold >= 4.0:
        raise ValueError(
            f"threshold must be >= 4 (got {threshold}): the rectification term "
            "sqrt((rho_t - 4)...) is only defined for rho_t > 4. Use 4.0 (paper) or 5.0 "
            "(torch.optim.RAdam)."
        )
    return threshold


def _is_scalar(step: Any) -> bool:
    return np.ndim(step) == 0


def rho_inf(beta2: float) -> float:
    """Maximum length of the approximated SMA, ``2 / (1 - beta2) - 1``."""
    beta2 = _check_beta2(beta2)
    return 2 / (1 - beta2) - 1


@overload
def rho_t(step: int | float, beta2: float) -> float: ...
@overload
def rho_t(step: np.ndarray | Sequence[int], beta2: float) -> np.ndarray: ...
def rho_t(step: Any, beta2: float) -> float | np.ndarray:
    """Length of the approximated SMA at ``step`` (1-based), scalar or array of steps."""
    r_inf = rho_inf(beta2)
    beta2 = float(beta2)
    if _is_scalar(step):
        t = float(step)
        if not t >= 1:
            raise ValueError(f"step counts from 1, got {step}.")
        bias_correction2 = 1 - beta2**t
        return r_inf - 2 * t * (beta2**t) / bias_correction2
    steps = np.asarray(step, dtype=float)
    if steps.size and not np.all(steps >= 1):
        raise ValueError("steps count from 1; got a step below 1.")
    power = np.power(beta2, steps)
    return r_inf - 2 * steps * power / (1 - power)


@overload
def rectification(
    step: int | float, beta2: float, threshold: float = PAPER_THRESHOLD
) -> float | None: ...
@overload
def rectification(
    step: np.ndarray | Sequence[int], beta2: float, threshold: float = PAPER_THRESHOLD
) -> np.ndarray: ...
def rectification(
    step: Any, beta2: float, threshold: float = PAPER_THRESHOLD
) -> float | np.ndarray | None:
    """Variance rectification ``r_t``, or "not adaptive" while ``rho_t <= threshold``.

    For a scalar step returns a float, or ``None`` when the optimizer takes the plain
    momentum step. For an array of steps returns an array with ``nan`` at those steps.
    """
    threshold = _check_threshold(threshold)
    r_inf = rho_inf(beta2)
    r_t = rho_t(step, beta2)
    if _is_scalar(step):
        if r_t > threshold:
            # Same operation order as torch.optim.RAdam's _compute_rect.
            return ((r_t - 4) * (r_t - 2) * r_inf / ((r_inf - 4) * (r_inf - 2) * r_t)) ** 0.5
        return None
    out = np.full(np.shape(r_t), np.nan)
    adaptive = r_t > threshold
    rt = r_t[adaptive]
    out[adaptive] = np.sqrt((rt - 4) * (rt - 2) * r_inf / ((r_inf - 4) * (r_inf - 2) * rt))
    return out


def first_adaptive_step(beta2: float, threshold: float = PAPER_THRESHOLD) -> int | None:
    """First step at which the update becomes adaptive (``rho_t > threshold``).

    ``None`` if it never does, i.e. when ``rho_inf <= threshold`` (``beta2 <= 0.6``
    for the paper's threshold of 4). Everything before it is the implicit warm-up.
    """
    threshold = _check_threshold(threshold)
    if rho_inf(beta2) <= threshold:
        return None
    # rho_t increases monotonically to rho_inf: bracket by doubling, then bisect.
    hi = 1
    while rho_t(hi, beta2) <= threshold:
        hi *= 2
        if hi > 2**62:  # rho_inf is within rounding of the threshold
            return None
    lo = hi // 2  # rho_t(lo) <= threshold, or lo == 0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if rho_t(mid, beta2) > threshold:
            hi = mid
        else:
            lo = mid
    return hi


def _check_hyperparameters(
    lr: float, betas: tuple[float, float], eps: float, weight_decay: float, threshold: float
) -> None:
    # Same checks and wording as torch.optim.RAdam.
    if not lr >= 0.0:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not eps >= 0.0:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not weight_decay >= 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    _check_threshold(threshold)


class RAdamNumpy:
    """RAdam for NumPy arrays, updated in place by :meth:`step`.

    Same arguments and arithmetic as ``torch.optim.RAdam`` (with ``threshold`` added):
    ``weight_decay`` is an L2 term added to the gradient, or with
    ``decoupled_weight_decay=True`` an AdamW-style ``p *= 1 - lr * weight_decay``.
    With ``threshold=5.0`` the iterates agree with PyTorch's in float64 to a few ulps
    (PyTorch's CPU kernels fuse some multiply-adds, NumPy rounds each operation).

    Parameters must be floating-point arrays (0-d arrays work as scalars); they are
    modified in place, so keep references to them.
    """

    def __init__(
        self,
        params: Sequence[np.ndarray],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        threshold: float = PAPER_THRESHOLD,
        decoupled_weight_decay: bool = False,
        maximize: bool = False,
    ) -> None:
        _check_hyperparameters(lr, betas, eps, weight_decay, threshold)
        self.params = list(params)
        if not self.params:
            raise ValueError("RAdamNumpy got an empty parameter list.")
        for i, p in enumerate(self.params):
            if not isinstance(p, np.ndarray) or not np.issubdtype(p.dtype, np.floating):
                raise TypeError(
                    f"parameter {i} must be a floating-point numpy.ndarray (updated in place); "
                    f"got {type(p).__name__}"
                    + (f" of dtype {p.dtype}" if isinstance(p, np.ndarray) else "")
                    + ". Convert it with np.asarray(x, dtype=float) and keep that array."
                )
            if not p.flags.writeable:
                raise ValueError(f"parameter {i} is read-only; pass a writeable array.")
        self.lr = float(lr)
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)
        self.threshold = float(threshold)
        self.decoupled_weight_decay = bool(decoupled_weight_decay)
        self.maximize = bool(maximize)
        self.step_count = 0
        self.exp_avg = [np.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [np.zeros_like(p) for p in self.params]

    def step(self, grads: Sequence[Any]) -> None:
        """Apply one RAdam update given one gradient per parameter (same shapes)."""
        grads = list(grads)
        if len(grads) != len(self.params):
            raise ValueError(f"expected {len(self.params)} gradients, got {len(grads)}.")
        beta1, beta2 = self.betas
        lr = self.lr
        self.step_count += 1
        step = self.step_count
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        rect = rectification(step, beta2, self.threshold)
        weight = 1 - beta1
        for i, (param, grad, exp_avg, exp_avg_sq) in enumerate(
            zip(self.params, grads, self.exp_avg, self.exp_avg_sq, strict=True)
        ):
            grad = np.asarray(grad, dtype=param.dtype)
            if grad.shape != param.shape:
                raise ValueError(
                    f"gradient {i} has shape {grad.shape}, parameter has {param.shape}."
                )
            if self.maximize:
                grad = -grad
            if self.weight_decay != 0:
                if self.decoupled_weight_decay:
                    param *= 1 - lr * self.weight_decay
                else:
                    grad = grad + self.weight_decay * param
            # exp_avg.lerp_(grad, 1 - beta1), with torch's formula for each weight range.
            if weight < 0.5:
                exp_avg += weight * (grad - exp_avg)
            else:
                exp_avg[...] = grad - (grad - exp_avg) * (1 - weight)
            exp_avg_sq *= beta2
            exp_avg_sq += (1 - beta2) * grad * grad
            bias_corrected_exp_avg = exp_avg / bias_correction1
            if rect is not None:
                adaptive_lr = (bias_correction2**0.5) / (np.sqrt(exp_avg_sq) + self.eps)
                param -= bias_corrected_exp_avg * lr * adaptive_lr * rect
            else:
                param -= bias_corrected_exp_avg * lr

    def state_dict(self) -> dict[str, Any]:
        """Copy of the optimizer state (step count and moment estimates)."""
        return {
            "step": self.step_count,
            "exp_avg": [m.copy() for m in self.exp_avg],
            "exp_avg_sq": [v.copy() for v in self.exp_avg_sq],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state produced by :meth:`state_dict`."""
        self.step_count = int(state["step"])
        for dst, src in zip(self.exp_avg, state["exp_avg"], strict=True):
            dst[...] = src
        for dst, src in zip(self.exp_avg_sq, state["exp_avg_sq"], strict=True):
            dst[...] = src
