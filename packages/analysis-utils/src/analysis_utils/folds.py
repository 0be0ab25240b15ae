"""Cross-validation splitters that stratify a *continuous* target.

``StratifiedKFold`` only understands class labels. For regression the usual trick is
to cut the target into quantile bins and stratify on the bin codes, so that every
fold sees the whole range of the target (including the rare large values of a skewed
target) instead of whatever a random shuffle happens to give it.

The splitters here do that with the pitfalls removed:

* ``random_state`` follows scikit-learn: it only matters with ``shuffle=True``, and
  passing it with ``shuffle=False`` raises the same ``ValueError`` sklearn raises.
* Repeated target values never crash the binning (duplicate quantile edges are
  dropped) and bins that end up smaller than ``n_splits`` are merged into their
  neighbour, so every bin can put at least one sample in every fold.
* The number of bins defaults to one derived from the data.
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import check_random_state

__all__ = [
    "ContinuousStratifiedGroupKFold",
    "ContinuousStratifiedKFold",
    "default_n_bins",
    "quantile_bins",
]

#: Upper bound for the data-derived number of bins. Finer bins match the fold
#: distributions more closely; past a few thousand the gain is nil while the bins
#: become as small as ``n_splits`` anyway.
MAX_DEFAULT_BINS = 5000


def default_n_bins(n_samples: int, n_splits: int) -> int:
    """Number of quantile bins used when ``n_bins=None``.

    ``n_samples // n_splits`` keeps every bin about ``n_splits`` strong, which is the
    finest binning that still lets each bin give one sample to every fold; it is
    capped at :data:`MAX_DEFAULT_BINS`.
    """
    return int(max(1, min(n_samples // n_splits, MAX_DEFAULT_BINS)))


def quantile_bins(y: Any, n_bins: int, min_bin_size: int = 1) -> np.ndarray:
    """Cut a continuous ``y`` into at most ``n_bins`` quantile bins.

    Returns integer codes ``0 .. k-1`` ordered by target value. Duplicate quantile
    edges (from repeated values) are dropped, empty bins vanish, and any bin with
    fewer than ``min_bin_size`` samples is merged into its neighbour so that it can
    be spread over ``min_bin_size`` folds.
    """
    values = np.asarray(y, dtype=float).ravel()
    if values.size == 0:
        return np.zeros(0, dtype=np.intp)
    if not np.all(np.isfinite(values)):
        raise ValueError("quantile_bins needs finite values; drop or impute NaN/inf first.")
    if int(n_bins) < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}.")
    if n_bins == 1 or np.ptp(values) == 0:
        return np.zeros(values.size, dtype=np.intp)
    raw = pd.qcut(values, q=int(n_bins), labels=False, duplicates="drop")
    # Compact the codes: quantile edges interpolated between data points can leave
    # bins empty.
    _, codes = np.unique(np.asarray(raw, dtype=np.intp), return_inverse=True)
    codes = codes.ravel()
    counts = np.bincount(codes)
    # Greedy left-to-right merge: close a bin once it holds min_bin_size samples.
    new_ids = np.empty(counts.size, dtype=np.intp)
    current = 0
    filled = 0
    for j, count in enumerate(counts):
        new_ids[j] = current
        filled += int(count)
        if filled >= min_bin_size:
            current += 1
            filled = 0
    if filled and current > 0:
        # The trailing bins never reached min_bin_size: fold them into the last full bin.
        new_ids[new_ids == current] = current - 1
    return new_ids[codes]


def _as_target(y: Any, owner: str) -> np.ndarray:
    """Validate ``y`` and return it as a 1-D float array with a clear error otherwise."""
    if y is None:
        raise ValueError(
            f"{owner}.split() needs the continuous target y to stratify on; call "
            "split(X, y). (cross_val_score, cross_validate and GridSearchCV pass y for you.)"
        )
    try:
        if hasattr(y, "to_numpy"):
            values = y.to_numpy(dtype=float, na_value=np.nan)
        else:
            values = np.asarray(y, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{owner} needs a numeric (continuous) target y; could not convert it to "
            f"float ({exc}). For class labels use sklearn's StratifiedKFold."
        ) from exc
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueError(
            f"{owner} stratifies a single 1-D target; got y with shape {values.shape}. "
            "Pass one target column."
        )
    n_nan = int(np.isnan(values).sum())
    n_inf = int(np.isinf(values).sum())
    if n_nan or n_inf:
        raise ValueError(
            f"{owner}: y contains {n_nan} NaN and {n_inf} infinite value(s), so quantile "
            "bins cannot be computed. Drop or impute those rows before splitting."
        )
    return values


def _check_n_samples(n: int, n_splits: int, owner: str, what: str = "samples") -> None:
    if n < n_splits:
        raise ValueError(
            f"{owner}: cannot split {n} {what} into n_splits={n_splits} folds; every fold "
            f"needs at least one. Lower n_splits to at most {n} or add data."
        )


def _num_rows(X: Any) -> int:
    if hasattr(X, "shape") and len(X.shape) > 0:
        return int(X.shape[0])
    return len(X)


class _SplitterParams:
    """The splitters' shared constructor, fold count and ``get_params``/``set_params`` (so
    ``sklearn.base.clone`` works on them)."""

    def __init__(
        self,
        n_splits: int = 5,
        n_bins: int | None = None,
        shuffle: bool = False,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.n_splits = n_splits
        self.n_bins = n_bins
        self.shuffle = shuffle
        self.random_state = random_state
        self._validate_params()

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """Return the number of folds."""
        return int(self.n_splits)

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [name for name in signature.parameters if name != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Return the constructor arguments (sklearn estimator protocol)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> _SplitterParams:
        """Set constructor arguments and re-validate them; returns ``self``."""
        valid = set(self._param_names())
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for {type(self).__name__}; "
                    f"valid parameters are {sorted(valid)}."
                )
            setattr(self, name, value)
        self._validate_params()
        return self

    def _n_bins(self, n_items: int) -> int:
        return self.n_bins if self.n_bins is not None else default_n_bins(n_items, self.n_splits)

    def _validate_params(self) -> None:
        owner = type(self).__name__
        n_splits = self.n_splits
        if not isinstance(n_splits, numbers.Integral) or isinstance(n_splits, bool):
            raise ValueError(
                f"{owner}: n_splits must be an integer, got {n_splits!r} of type "
                f"{type(n_splits).__name__}."
            )
        if n_splits < 2:
            raise ValueError(
                f"{owner}: k-fold cross-validation needs at least two folds; got "
                f"n_splits={n_splits}. Use n_splits >= 2."
            )
        n_bins = self.n_bins
        if n_bins is not None and (
            not isinstance(n_bins, numbers.Integral) or isinstance(n_bins, bool) or n_bins < 1
        ):
            raise ValueError(
                f"{owner}: n_bins must be None (derived from the data) or an integer >= 1, "
                f"got {n_bins!r}."
            )
        if not isinstance(self.shuffle, bool):
            raise TypeError(f"{owner}: shuffle must be True or False; got {self.shuffle!r}.")
        if not self.shuffle and self.random_state is not None:
            # Same rule and message as sklearn's KFold/StratifiedKFold.
            raise ValueError(
                "Setting a random_state has no effect since shuffle is False. You should "
                "leave random_state to its default (None), or set shuffle=True."
            )


class ContinuousStratifiedKFold(_SplitterParams, BaseCrossValidator):
    """K-fold splitter that stratifies a continuous target by quantile bins.

    Drop-in for ``cv=`` anywhere scikit-learn passes ``y`` to ``split`` (for example
    ``cross_val_score`` and ``GridSearchCV``). The target is cut into quantile bins
    (:func:`quantile_bins`, at least ``n_splits`` samples per bin) and the samples of
    each bin are dealt round-robin over the folds, so every fold sees the whole target
    distribution and fold sizes differ by at most one.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds, at least 2.
    n_bins : int or None, default=None
        Number of quantile bins. ``None`` derives it from the data as
        ``n_samples // n_splits`` (capped at :data:`MAX_DEFAULT_BINS`). Bins that end up
        smaller than ``n_splits`` are merged into a neighbour.
    shuffle : bool, default=False
        Shuffle samples inside each bin before dealing them to folds. Without shuffling
        the original order decides, which is deterministic but can bias folds if the
        data is sorted by the target.
    random_state : int, RandomState instance or None, default=None
        Seed for the shuffle. As in scikit-learn it only has an effect with
        ``shuffle=True``; setting it with ``shuffle=False`` raises ``ValueError``.
    """

    def split(
        self, X: Any, y: Any = None, groups: Any = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train_indices, test_indices)`` for each fold.

        ``X`` is only used for its length and may be ``None``; ``y`` is required.
        ``groups`` is accepted for API compatibility and ignored.
        """
        test_folds = self._make_test_folds(X, y)
        indices = np.arange(test_folds.size)
        for fold in range(self.n_splits):
            mask = test_folds == fold
            yield indices[~mask], indices[mask]

    def _make_test_folds(self, X: Any, y: Any) -> np.ndarray:
        self._validate_params()
        owner = type(self).__name__
        values = _as_target(y, owner)
        n_samples = values.size
        if X is not None and _num_rows(X) != n_samples:
            raise ValueError(
                f"{owner}: X has {_num_rows(X)} rows but y has {n_samples} values; "
                "they must describe the same samples."
            )
        _check_n_samples(n_samples, self.n_splits, owner)
        if np.ptp(values) == 0:
            raise ValueError(
                f"{owner}: y is constant (every value is {values[0]!r}), so there is "
                "nothing to stratify. Use sklearn.model_selection.KFold instead."
            )
        codes = quantile_bins(values, self._n_bins(n_samples), min_bin_size=self.n_splits)
        if self.shuffle:
            rng = check_random_state(self.random_state)
            perm = rng.permutation(n_samples)
            order = perm[np.argsort(codes[perm], kind="stable")]
        else:
            order = np.argsort(codes, kind="stable")
        # Deal the bin-sorted samples round-robin: each bin (>= n_splits strong) gives
        # every fold its share and the fold sizes differ by at most one.
        test_folds = np.empty(n_samples, dtype=np.intp)
        test_folds[order] = np.arange(n_samples) % self.n_splits
        return test_folds


class ContinuousStratifiedGroupKFold(_SplitterParams, BaseCrossValidator):
    """Group k-fold that stratifies a continuous target; no group spans two folds.

    Each group is summarised by its mean target, the group means are cut into quantile
    bins (at least ``n_splits`` groups each), and within every bin the groups are
    handed out in rounds of ``n_splits``: each round gives one group to each fold,
    largest group to the fold with the fewest samples so far. That keeps the target
    distribution and the fold sizes balanced. Bins are computed over groups
    (unweighted by group size).

    Parameters are as for :class:`ContinuousStratifiedKFold`; ``n_bins=None`` derives
    the number of bins from the number of groups. ``shuffle`` randomises the order of
    equally sized groups within a bin.
    """

    # Ask sklearn's metadata routing for ``groups`` (what GroupsConsumerMixin does).
    __metadata_request__split = {"groups": True}  # noqa: RUF012

    def split(
        self, X: Any, y: Any = None, groups: Any = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train_indices, test_indices)``; ``y`` and ``groups`` are required."""
        test_folds = self._make_test_folds(X, y, groups)
        indices = np.arange(test_folds.size)
        for fold in range(self.n_splits):
            mask = test_folds == fold
            yield indices[~mask], indices[mask]

    def _make_test_folds(self, X: Any, y: Any, groups: Any) -> np.ndarray:
        self._validate_params()
        owner = type(self).__name__
        values = _as_target(y, owner)
        n_samples = values.size
        if groups is None:
            raise ValueError(
                f"{owner}.split() needs groups (one label per sample) so that no group is "
                "split across folds; call split(X, y, groups) or pass groups= to "
                "cross_val_score / GridSearchCV.fit. Without groups use "
                "ContinuousStratifiedKFold."
            )
        group_labels = np.asarray(groups).ravel()
        if group_labels.size != n_samples:
            raise ValueError(
                f"{owner}: groups has {group_labels.size} labels but y has {n_samples} "
                "values; pass one group label per sample."
            )
        if X is not None and _num_rows(X) != n_samples:
            raise ValueError(
                f"{owner}: X has {_num_rows(X)} rows but y has {n_samples} values; "
                "they must describe the same samples."
            )
        if np.ptp(values) == 0:
            raise ValueError(
                f"{owner}: y is constant (every value is {values[0]!r}), so there is "
                "nothing to stratify. Use sklearn.model_selection.GroupKFold instead."
            )
        _, group_index = np.unique(group_labels, return_inverse=True)
        group_index = group_index.ravel()
        sizes = np.bincount(group_index)
        n_groups = sizes.size
        _check_n_samples(n_groups, self.n_splits, owner, what="groups")
        means = np.bincount(group_index, weights=values) / sizes

        codes = quantile_bins(means, self._n_bins(n_groups), min_bin_size=self.n_splits)
        if self.shuffle:
            perm = check_random_state(self.random_state).permutation(n_groups)
        else:
            perm = np.arange(n_groups)
        # Bin order first, then largest group first; ties keep the (shuffled) order.
        order = perm[np.lexsort((-sizes[perm], codes[perm]))]

        fold_sizes = np.zeros(self.n_splits, dtype=np.int64)
        group_fold = np.empty(n_groups, dtype=np.intp)
        bin_starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0])
        bin_ends = np.r_[bin_starts[1:], n_groups]
        for start, end in zip(bin_starts, bin_ends, strict=True):
            for round_start in range(start, end, self.n_splits):
                free = np.ones(self.n_splits, dtype=bool)
                for g in order[round_start : min(round_start + self.n_splits, end)]:
                    candidates = np.flatnonzero(free)
                    fold = candidates[np.argmin(fold_sizes[candidates])]
                    group_fold[g] = fold
                    fold_sizes[fold] += sizes[g]
                    free[fold] = False
        return group_fold[group_index]
