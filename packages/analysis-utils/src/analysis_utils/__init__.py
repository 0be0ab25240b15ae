"""Small helpers for data analysis: continuous-target CV splitters and RAdam.

Importing this package never imports PyTorch. ``analysis_utils.RAdam`` (the
``torch.optim.Optimizer``) is loaded on first access and raises an ``ImportError``
naming torch when PyTorch is not installed; the NumPy optimizer and the schedule
functions need only NumPy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from analysis_utils.folds import (
    ContinuousStratifiedGroupKFold,
    ContinuousStratifiedKFold,
    default_n_bins,
    quantile_bins,
)
from analysis_utils.radam import (
    PAPER_THRESHOLD,
    TORCH_THRESHOLD,
    RAdamNumpy,
    first_adaptive_step,
    rectification,
    rho_inf,
    rho_t,
)

if TYPE_CHECKING:
    from analysis_utils.torch_radam import RAdam

__version__ = "0.1.0"

__all__ = [
    "PAPER_THRESHOLD",
    "TORCH_THRESHOLD",
    "ContinuousStratifiedGroupKFold",
    "ContinuousStratifiedKFold",
    "RAdam",
    "RAdamNumpy",
    "default_n_bins",
    "first_adaptive_step",
    "quantile_bins",
    "rectification",
    "rho_inf",
    "rho_t",
]


def __getattr__(name: str) -> Any:
    # Lazy so that `import analysis_utils` works in images without torch.
    if name == "RAdam":
        from analysis_utils.torch_radam import RAdam

        return RAdam
    raise AttributeError(f"module 'analysis_utils' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {"RAdam"})
