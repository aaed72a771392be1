"""Standard errors and confidence intervals of aggregate scores.

- proportions (0/1 per-sample scores): Wilson score interval, which stays inside [0, 1] and is defined
  for n = 1, all correct and all wrong (statsmodels `proportion_confint(method="wilson")`);
- bounded means and corpus scores: percentile bootstrap, whose bounds are values of the statistic on
  resamples and therefore inside its range; the percentile interval is transformation-equivariant, so a
  perplexity's interval is the exponential of the interval of its log (the log scale is where it is built);
- clustered data: the cluster-robust (CR1) standard error of the mean, the one statsmodels' OLS reports for
  an intercept-only model with `cov_type="cluster"`, and a bootstrap that resamples whole clusters.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence

import numpy as np


def mean_with_stderr(values: Sequence[float]) -> tuple[float | None, float | None]:
    """Mean and standard error of the mean, with the sample (n-1) standard deviation as lm-eval uses."""
    n = len(values)
    if n == 0:
        return None, None
    mean = math.fsum(values) / n
    if n == 1:
        return mean, None
    variance = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(variance / n)


def z_value(alpha: float) -> float:
    """The two-sided normal quantile for level alpha (1.96 for 0.05)."""
    from scipy import stats

    return float(stats.norm.ppf(1 - alpha / 2))


def wilson_interval(successes: float, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval for a proportion; (0, 1) when n is 0."""
    if n <= 0:
        return 0.0, 1.0
    z = z_value(alpha)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # all wrong / all right: the bound is exactly 0 / 1 (the formula's rounding would leave 1e-17 / 1 - 1e-16)
    low = 0.0 if successes <= 0 else max(0.0, centre - half)
    high = 1.0 if successes >= n else min(1.0, centre + half)
    return low, high


def clustered_stderr(values: Sequence[float], clusters: Sequence[Hashable]) -> float | None:
    """Cluster-robust (CR1) standard error of the mean: G/(G-1) * sum over clusters of the squared summed
    residuals, over n^2; None with fewer than two clusters (the variance is not identified)."""
    y = np.asarray(values, dtype=float)
    groups: dict[Hashable, float] = {}
    residuals = y - y.mean()
    for cluster, residual in zip(clusters, residuals):
        groups[cluster] = groups.get(cluster, 0.0) + float(residual)
    g = len(groups)
    if g < 2:
        return None
    sums = np.array(list(groups.values()))
    return math.sqrt(g / (g - 1) * float(np.sum(sums**2)) / len(y) ** 2)


def cluster_bootstrap_mean(values: Sequence[float], clusters: Sequence[Hashable], seed: int,
                           resamples: int = 1000, alpha: float = 0.05) -> tuple[float, float, float] | None:
    """Percentile interval of the mean when whole clusters are resampled: (stderr, low, high), or None
    with fewer than two clusters."""
    index: dict[Hashable, list[int]] = {}
    for i, cluster in enumerate(clusters):
        index.setdefault(cluster, []).append(i)
    if len(index) < 2:
        return None
    y = np.asarray(values, dtype=float)
    sums = np.array([y[rows].sum() for rows in index.values()])
    sizes = np.array([len(rows) for rows in index.values()], dtype=float)
    picks = np.random.default_rng(seed).integers(0, len(sums), size=(resamples, len(sums)))
    means = sums[picks].sum(axis=1) / sizes[picks].sum(axis=1)
    low, high = np.percentile(means, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return float(means.std(ddof=1)), float(low), float(high)


def bootstrap_mean(values: Sequence[float], seed: int, resamples: int = 1000,
                   alpha: float = 0.05) -> tuple[float, float, float]:
    """Percentile bootstrap of a mean (scipy.stats.bootstrap): (stderr, low, high); a constant sample gives
    a zero-width interval at its value."""
    from scipy import stats

    y = np.asarray(values, dtype=float)
    if np.ptp(y) == 0:
        return 0.0, float(y[0]), float(y[0])
    found = stats.bootstrap((y,), np.mean, n_resamples=resamples, confidence_level=1 - alpha,
                            method="percentile", rng=np.random.default_rng(seed))
    return (float(found.standard_error), float(found.confidence_interval.low),
            float(found.confidence_interval.high))


def bootstrap(stats: np.ndarray, score: Callable[[np.ndarray], float], seed: int, resamples: int = 1000,
              alpha: float = 0.05) -> tuple[float, float, float]:
    """Resample segments with replacement; `score` turns summed segment statistics into a corpus score.

    Returns (stderr, ci_low, ci_high): the bootstrap standard deviation and percentile interval.
    """
    n = len(stats)
    rng = np.random.default_rng(seed)
    scores = np.empty(resamples)
    for r in range(resamples):
        picks = rng.integers(0, n, size=n)
        scores[r] = score(stats[picks].sum(axis=0))
    low, high = np.percentile(scores, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return float(scores.std(ddof=1)), float(low), float(high)
