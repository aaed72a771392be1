"""Standard errors and bootstrap confidence intervals."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

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
