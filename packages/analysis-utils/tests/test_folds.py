"""ContinuousStratifiedKFold / ContinuousStratifiedGroupKFold behaviour."""

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score, cross_validate

from analysis_utils import (
    ContinuousStratifiedGroupKFold,
    ContinuousStratifiedKFold,
    default_n_bins,
    quantile_bins,
)


def ks_distance(sample, reference):
    """Two-sample Kolmogorov-Smirnov statistic (kept here to avoid a scipy dependency)."""
    sample, reference = np.sort(sample), np.sort(reference)
    points = np.concatenate([sample, reference])
    cdf_s = np.searchsorted(sample, points, side="right") / sample.size
    cdf_r = np.searchsorted(reference, points, side="right") / reference.size
    return float(np.max(np.abs(cdf_s - cdf_r)))


def fold_stats(cv, y, X=None):
    means, ks = [], []
    for _, test in cv.split(X if X is not None else np.zeros((y.size, 1)), y):
        means.append(y[test].mean())
        ks.append(ks_distance(y[test], y))
    return np.std(means), np.ptp(means), np.mean(ks)


def assert_partition(cv, n, y, groups=None):
    seen = np.zeros(n, dtype=int)
    folds = list(cv.split(np.zeros((n, 2)), y, groups))
    assert len(folds) == cv.get_n_splits()
    for train, test in folds:
        assert test.size > 0
        assert np.intersect1d(train, test).size == 0
        assert np.union1d(train, test).size == n
        seen[test] += 1
    assert np.all(seen == 1), "every sample must be in exactly one test fold"
    return folds


@pytest.mark.parametrize("n", [5, 7, 23, 100, 1001])
@pytest.mark.parametrize("n_splits", [2, 5])
@pytest.mark.parametrize("shuffle", [False, True])
def test_every_sample_lands_in_exactly_one_test_fold(n, n_splits, shuffle):
    y = np.random.default_rng(n).lognormal(size=n)
    cv = ContinuousStratifiedKFold(n_splits, shuffle=shuffle, random_state=0 if shuffle else None)
    folds = assert_partition(cv, n, y)
    sizes = [test.size for _, test in folds]
    assert max(sizes) - min(sizes) <= 1


def test_fold_target_distribution_matches_the_whole_target():
    y = np.random.default_rng(0).lognormal(mean=0.0, sigma=1.0, size=5000)
    cv = ContinuousStratifiedKFold(5, shuffle=True, random_state=0)
    _, mean_range, mean_ks = fold_stats(cv, y)
    assert mean_range < 0.02 * y.mean()
    assert mean_ks < 0.01


def test_folds_are_tighter_than_shuffled_kfold_on_a_skewed_target():
    ours, plain = [], []
    for seed in range(8):
        y = np.random.default_rng(seed).lognormal(sigma=1.0, size=3000)
        ours.append(fold_stats(ContinuousStratifiedKFold(5, shuffle=True, random_state=seed), y))
        plain.append(fold_stats(KFold(5, shuffle=True, random_state=seed), y))
    ours, plain = np.mean(ours, axis=0), np.mean(plain, axis=0)
    assert ours[0] < plain[0] / 3, "std of fold means"
    assert ours[1] < plain[1] / 3, "max-min of fold means"
    assert ours[2] < plain[2] / 3, "mean KS distance"


def test_shuffle_with_random_state_is_reproducible_and_seed_dependent():
    y = np.random.default_rng(1).normal(size=200)
    first = [t for _, t in ContinuousStratifiedKFold(shuffle=True, random_state=1).split(None, y)]
    again = [t for _, t in ContinuousStratifiedKFold(shuffle=True, random_state=1).split(None, y)]
    other = [t for _, t in ContinuousStratifiedKFold(shuffle=True, random_state=2).split(None, y)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_works_as_cv_in_cross_val_score_and_grid_search():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 4))
    y = np.exp(X @ np.array([0.5, -0.2, 0.1, 0.0]) + 0.1 * rng.normal(size=300))
    cv = ContinuousStratifiedKFold(n_splits=4, shuffle=True, random_state=0)
    scores = cross_val_score(Ridge(), X, y, cv=cv)
    assert scores.shape == (4,)
    assert np.all(np.isfinite(scores))
    search = GridSearchCV(Ridge(), {"alpha": [0.1, 1.0, 10.0]}, cv=cv).fit(X, y)
    assert search.n_splits_ == 4
    assert search.best_params_["alpha"] in (0.1, 1.0, 10.0)


def test_accepts_pandas_inputs_and_column_vector_targets():
    frame = pd.DataFrame({"a": np.arange(50.0), "target": np.random.default_rng(3).normal(size=50)})
    series_folds = list(ContinuousStratifiedKFold(5).split(frame[["a"]], frame["target"]))
    column_folds = list(ContinuousStratifiedKFold(5).split(frame[["a"]], frame[["target"]]))
    for (_, a), (_, b) in zip(series_folds, column_folds, strict=True):
        np.testing.assert_array_equal(a, b)
    assert_partition(ContinuousStratifiedKFold(5), 50, frame["target"])


@pytest.mark.parametrize(
    "y",
    [
        pytest.param(np.r_[np.zeros(80), np.arange(1.0, 21.0)], id="zero-inflated"),
        pytest.param(np.repeat([1.0, 2.0, 3.0], [40, 7, 3]), id="three-values"),
        pytest.param(np.r_[np.zeros(99), 1.0], id="one-outlier"),
        pytest.param(np.round(np.random.default_rng(4).normal(size=500), 1), id="rounded"),
    ],
)
def test_repeated_target_values_do_not_crash(y):
    for n_bins in (None, 3, 20, 1000):
        cv = ContinuousStratifiedKFold(5, n_bins=n_bins, shuffle=True, random_state=0)
        assert_partition(cv, y.size, y)


def test_the_posts_twenty_bins_on_repeated_values_work():
    # pd.qcut(y, 20) without duplicates="drop" raises on this target.
    y = np.r_[np.zeros(500), np.random.default_rng(5).lognormal(size=500)]
    with pytest.raises(ValueError, match="Bin edges must be unique"):
        pd.qcut(y, q=20)
    assert_partition(ContinuousStratifiedKFold(10, n_bins=20), y.size, y)


def test_quantile_bins_are_ordered_and_at_least_min_size():
    y = np.r_[np.zeros(30), np.random.default_rng(6).lognormal(size=207)]
    codes = quantile_bins(y, n_bins=100, min_bin_size=5)
    counts = np.bincount(codes)
    assert counts.min() >= 5
    for k in range(counts.size - 1):
        assert y[codes == k].max() <= y[codes == k + 1].min()
    # equal values always share a bin
    assert np.unique(codes[y == 0]).size == 1


def test_default_number_of_bins_keeps_bins_n_splits_strong():
    assert default_n_bins(10_000, 5) == 2000
    assert default_n_bins(4, 5) == 1
    assert default_n_bins(10**8, 5) == 5000


@pytest.mark.parametrize(
    ("y", "message"),
    [
        (np.r_[np.arange(9.0), np.nan], "NaN"),
        (np.r_[np.arange(9.0), np.inf], "infinite"),
        (np.arange(3.0), "cannot split 3 samples"),
        (np.full(20, 2.5), "constant"),
        (None, "needs the continuous target y"),
        (np.zeros((10, 2)), "1-D target"),
        (np.array(["a", "b"] * 10, dtype=object), "numeric"),
    ],
)
def test_bad_targets_raise_clear_value_errors(y, message):
    with pytest.raises(ValueError, match=message):
        list(ContinuousStratifiedKFold(5).split(None, y))


def test_mismatched_x_and_y_lengths_raise():
    with pytest.raises(ValueError, match="rows"):
        list(ContinuousStratifiedKFold(2).split(np.zeros((5, 1)), np.arange(6.0)))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"random_state": 0}, ValueError, "random_state has no effect since shuffle is False"),
        ({"n_splits": 1}, ValueError, "at least two folds"),
        ({"n_splits": 2.5}, ValueError, "integer"),
        ({"n_bins": 0}, ValueError, "n_bins"),
        ({"shuffle": "yes"}, TypeError, "shuffle"),
    ],
)
def test_bad_parameters_fail_at_construction_like_sklearn(kwargs, error, message):
    with pytest.raises(error, match=message):
        ContinuousStratifiedKFold(**kwargs)


def test_clone_get_params_set_params_and_repr():
    cv = ContinuousStratifiedKFold(n_splits=3, n_bins=7, shuffle=True, random_state=4)
    assert cv.get_params() == {"n_splits": 3, "n_bins": 7, "shuffle": True, "random_state": 4}
    copy = clone(cv)
    assert copy is not cv
    assert copy.get_params() == cv.get_params()
    expected = "ContinuousStratifiedKFold(n_bins=7, n_splits=3, random_state=4, shuffle=True)"
    assert repr(cv) == expected
    cv.set_params(n_splits=4)
    assert cv.get_n_splits() == 4
    with pytest.raises(ValueError, match="Invalid parameter"):
        cv.set_params(bins=3)
    group_cv = ContinuousStratifiedGroupKFold(n_splits=3)
    assert clone(group_cv).get_params() == group_cv.get_params()


def _grouped_data(seed, n_groups=120):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 15, size=n_groups)
    groups = np.repeat(np.arange(n_groups), sizes)
    group_level = rng.lognormal(sigma=1.0, size=n_groups)
    y = group_level[groups] * rng.lognormal(sigma=0.2, size=groups.size)
    return y, groups


@pytest.mark.parametrize("shuffle", [False, True])
def test_grouped_variant_never_splits_a_group(shuffle):
    y, groups = _grouped_data(7)
    cv = ContinuousStratifiedGroupKFold(5, shuffle=shuffle, random_state=0 if shuffle else None)
    folds = assert_partition(cv, y.size, y, groups)
    for train, test in folds:
        assert np.intersect1d(groups[train], groups[test]).size == 0
    sizes = np.array([test.size for _, test in folds])
    assert sizes.max() - sizes.min() <= 15  # at most about one group's size apart


def test_grouped_variant_balances_group_means_better_than_random_group_assignment():
    from sklearn.model_selection import GroupKFold

    ours, plain = [], []
    for seed in range(5):
        y, groups = _grouped_data(seed, n_groups=300)
        cv = ContinuousStratifiedGroupKFold(5, shuffle=True, random_state=seed)
        ours.append(np.std([y[t].mean() for _, t in cv.split(None, y, groups)]))
        plain_cv = GroupKFold(5, shuffle=True, random_state=seed)
        plain.append(np.std([y[t].mean() for _, t in plain_cv.split(y[:, None], y, groups)]))
    assert np.mean(ours) < np.mean(plain) / 2


def test_grouped_variant_works_with_cross_val_score_and_metadata_routing():
    rng = np.random.default_rng(8)
    y, groups = _grouped_data(8)
    X = np.c_[np.log(y) + rng.normal(size=y.size), rng.normal(size=y.size)]
    cv = ContinuousStratifiedGroupKFold(4)
    assert cross_val_score(Ridge(), X, y, cv=cv, groups=groups).shape == (4,)
    with sklearn.config_context(enable_metadata_routing=True):
        result = cross_validate(Ridge(), X, y, cv=cv, params={"groups": groups})
    assert result["test_score"].shape == (4,)


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        (None, "needs groups"),
        (np.arange(3).repeat(10), "cannot split 3 groups"),
        (np.arange(29), "one group label per sample"),
    ],
)
def test_grouped_variant_errors_name_the_cause(groups, message):
    y = np.random.default_rng(9).normal(size=30)
    with pytest.raises(ValueError, match=message):
        list(ContinuousStratifiedGroupKFold(5).split(None, y, groups))
