"""RAdam as a ``torch.optim.Optimizer`` with a configurable rectification threshold.

``torch.optim.RAdam`` hard-codes the switch to the adaptive update at ``rho_t > 5``;
the paper (Liu et al., Algorithm 2) uses ``rho_t > 4``. This optimizer takes the
threshold as an argument (default 4, the paper's) and otherwise performs the same
arithmetic as ``torch.optim.RAdam``'s single-tensor path, so with ``threshold=5.0``
the iterates agree with PyTorch's. The schedule comes from
:mod:`analysis_utils.radam`, shared with the NumPy optimizer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

try:
    import torch
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "analysis_utils.torch_radam needs PyTorch, which is not installed. Install torch "
        "(e.g. pip install 'analysis-utils[torch]') or use analysis_utils.RAdamNumpy."
    ) from exc

from analysis_utils.radam import PAPER_THRESHOLD, _check_hyperparameters, rectification

__all__ = ["RAdam"]


class RAdam(torch.optim.Optimizer):
    """Rectified Adam with the paper's threshold by default.

    Arguments match ``torch.optim.RAdam``: ``weight_decay`` adds an L2 term to the
    gradient, or with ``decoupled_weight_decay=True`` multiplies the parameters by
    ``1 - lr * weight_decay`` (AdamW style). ``threshold`` is the ``rho_t`` value the
    SMA length must exceed before the adaptive step is used: 4.0 as in the paper,
    5.0 to reproduce ``torch.optim.RAdam``.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        threshold: float = PAPER_THRESHOLD,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        _check_hyperparameters(lr, betas, eps, weight_decay, threshold)
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "threshold": threshold,
            "decoupled_weight_decay": decoupled_weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """Perform one update; ``closure`` re-evaluates the loss if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()

        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr = float(group["lr"])
            weight_decay = group["weight_decay"]
            eps = group["eps"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                if param.grad.is_sparse:
                    raise RuntimeError("RAdam does not support sparse gradients.")
                grad = param.grad if not group["maximize"] else -param.grad
                state = self.state[param]
                if len(state) == 0:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(
                        param, memory_format=torch.preserve_format
                    )
                exp_avg = state["exp_avg"]
                exp_avg_sq = state["exp_avg_sq"]
                target = param
                if torch.is_complex(param):
                    target = torch.view_as_real(param)
                    grad = torch.view_as_real(grad)
                    exp_avg = torch.view_as_real(exp_avg)
                    exp_avg_sq = torch.view_as_real(exp_avg_sq)

                state["step"] = int(state["step"]) + 1
                step = state["step"]

                if weight_decay != 0:
                    if group["decoupled_weight_decay"]:
                        target.mul_(1 - lr * weight_decay)
                    else:
                        grad = grad.add(target, alpha=weight_decay)

                exp_avg.lerp_(grad, 1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)

                bias_correction1 = 1 - beta1**step
                bias_correction2 = 1 - beta2**step
                bias_corrected_exp_avg = exp_avg / bias_correction1

                rect = rectification(step, beta2, group["threshold"])
                if rect is not None:
                    adaptive_lr = (bias_correction2**0.5) / exp_avg_sq.sqrt().add_(eps)
                    target.add_(bias_corrected_exp_avg * lr * adaptive_lr * rect, alpha=-1.0)
                else:
                    target.add_(bias_corrected_exp_avg * lr, alpha=-1.0)
        return loss
