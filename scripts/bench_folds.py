#!/usr/bin/env python3
"""Compare how well CV folds reproduce a skewed continuous target's distribution.

For a lognormal target and several seeds, measures per splitter:

* the spread of the fold target means (standard deviation and max - min), and
* the mean two-sample Kolmogorov-Smirnov statistic between each fold's test target
  and the whole target,

for ``ContinuousStratifiedKFold`` versus ``KFold(shuffle=True)`` (and, for reference,
the blog post's recipe: ``StratifiedKFold`` on 20 ``pd.qcut`` bins). Lower is better.
Prints a Markdown table; ``--json PATH`` also writes the numbers as JSON.

Run: python scripts/bench_folds.py [--n 10000] [--seeds 10] [--n-splits 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from sklearn.model_selection import KFold, StratifiedKFold

try:
    import analysis_utils
except ImportError:  # not installed: use the source tree next to this script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "packages/analysis-utils/src"))
    import analysis_utils

from analysis_utils import ContinuousStratifiedKFold


def ks_statistic(sample: np.ndarray, reference: np.ndarray) -> float:
    """Two-sample KS statistic (sup distance of the empirical CDFs), without scipy."""
    sample, reference = np.sort(sample), np.sort(reference)
    points = np.concatenate([sample, reference])
    cdf_sample = np.searchsorted(sample, points, side="right") / sample.size
    cdf_reference = np.searchsorted(reference, points, side="right") / reference.size
    return float(np.max(np.abs(cdf_sample - cdf_reference)))


class PostQcutStratifiedKFold:
    """The blog post's recipe, with its bugs fixed: StratifiedKFold on qcut codes."""

    def __init__(self, n_splits: int, q: int, random_state: int) -> None:
        self.q = q
        self.inner = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)

    def split(self, X: Any, y: np.ndarray):
        codes = pd.qcut(y, q=self.q, labels=False, duplicates="drop")
        return self.inner.split(X, codes)


def splitters(n_splits: int, seed: int) -> dict[str, Any]:
    return {
        "ContinuousStratifiedKFold(shuffle=True)": ContinuousStratifiedKFold(
            n_splits=n_splits, shuffle=True, random_state=seed
        ),
        "KFold(shuffle=True)": KFold(n_splits=n_splits, shuffle=True, random_state=seed),
        "StratifiedKFold on qcut(q=20) (blog post)": PostQcutStratifiedKFold(
            n_splits=n_splits, q=20, random_state=seed
        ),
    }


def measure(cv: Any, y: np.ndarray) -> dict[str, float]:
    X = np.zeros((y.size, 1))
    start = time.perf_counter()
    folds = list(cv.split(X, y))
    elapsed = time.perf_counter() - start
    means = np.array([y[test].mean() for _, test in folds])
    return {
        "fold_mean_std": float(means.std()),
        "fold_mean_range": float(means.max() - means.min()),
        "mean_ks": float(np.mean([ks_statistic(y[test], y) for _, test in folds])),
        "split_seconds": elapsed,
    }


def run(n: int, seeds: int, n_splits: int, sigma: float) -> dict[str, Any]:
    per_method: dict[str, list[dict[str, float]]] = {}
    target_means = []
    for seed in range(seeds):
        y = np.random.default_rng(seed).lognormal(mean=0.0, sigma=sigma, size=n)
        target_means.append(float(y.mean()))
        for name, cv in splitters(n_splits, seed).items():
            per_method.setdefault(name, []).append(measure(cv, y))
    summary = {
        name: {key: float(np.mean([r[key] for r in rows])) for key in rows[0]}
        for name, rows in per_method.items()
    }
    return {
        "config": {"n": n, "seeds": seeds, "n_splits": n_splits, "lognormal_sigma": sigma},
        "target_mean": float(np.mean(target_means)),
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "scikit-learn": sklearn.__version__,
            "analysis_utils": analysis_utils.__version__,
        },
        "summary": summary,
        "per_seed": per_method,
    }


def markdown_table(result: dict[str, Any]) -> str:
    cfg = result["config"]
    baseline = result["summary"]["KFold(shuffle=True)"]
    lines = [
        f"Lognormal target (sigma={cfg['lognormal_sigma']}), n={cfg['n']}, "
        f"{cfg['n_splits']} folds, whole-target mean {result['target_mean']:.3f}; "
        f"mean over {cfg['seeds']} seeds (lower is better; ratio = KFold value / this value):",
        "",
        "| splitter | std of fold means | max-min of fold means | mean KS vs whole "
        "| ratio (std) | ratio (KS) | split time [ms] |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, s in result["summary"].items():
        lines.append(
            f"| {name} | {s['fold_mean_std']:.5f} | {s['fold_mean_range']:.5f} "
            f"| {s['mean_ks']:.5f} | {baseline['fold_mean_std'] / s['fold_mean_std']:.1f}x "
            f"| {baseline['mean_ks'] / s['mean_ks']:.1f}x | {1000 * s['split_seconds']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="samples per data set")
    parser.add_argument("--seeds", type=int, default=10, help="number of random data sets")
    parser.add_argument("--n-splits", type=int, default=5, help="number of folds")
    parser.add_argument("--sigma", type=float, default=1.0, help="lognormal sigma (skewness)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    args = parser.parse_args(argv)
    if args.n < args.n_splits or args.seeds < 1 or args.n_splits < 2:
        parser.error("need --n >= --n-splits >= 2 and --seeds >= 1")

    result = run(args.n, args.seeds, args.n_splits, args.sigma)
    print(markdown_table(result))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
