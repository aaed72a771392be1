"""Paired tests for comparing two runs item by item, each with the interval that agrees with it.

A verdict must never contradict the interval printed beside it, so every test here comes with an
interval built from the same computation, such that at any level a (two-sided):

    p < a  <=>  the (1 - a) interval of the difference excludes 0.

McNemar (0/1 scores): with b items lost (1 -> 0) and c gained (0 -> 1) out of n, conditional on the
m = b + c discordant items, c ~ Binomial(m, q) and the difference is delta = (c - b) / n = m (2q - 1) / n.
The exact two-sided p-value is 2 * P(X <= min(b, c)) at q = 1/2 (statsmodels `mcnemar(exact=True)`), and the
interval is the Clopper-Pearson interval of q mapped to delta: Clopper-Pearson's bounds are the q at which
each one-sided tail equals a/2, so it excludes 1/2 exactly when that p-value is below a.

Paired bootstrap: the same resampled item indices for both runs; the p-value is that of the shifted null
(Koehn 2004; sacrebleu's paired bootstrap), (1 + #{|d* - mean(d*)| >= |observed|}) / (1 + resamples), and the
interval is observed +- h, where h is the smallest resampled distance |d* - mean(d*)| beyond which that
p-value falls below a: the bootstrap's own symmetric interval, excluding 0 exactly when p < a.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class PairedTest:
    """Candidate minus baseline: the difference, its (1 - alpha) interval, a two-sided p-value, the test's
    name, and `interval(level)` giving the interval at another level (e.g. the Holm-adjusted one)."""

    delta: float
    ci_low: float
    ci_high: float
    p_value: float
    test: str
    interval: Callable[[float], tuple[float, float]] = field(repr=False, compare=False,
                                                             default=lambda level: (-math.inf, math.inf))
    noise: float = 0.0
    """The spread the test works against: the discordant share (McNemar) or the stderr of the difference."""


def mcnemar_pvalue(lost: int, gained: int) -> float:
    """Exact two-sided McNemar p-value for discordant counts (1.0 when none)."""
    from scipy import stats

    discordant = lost + gained
    if discordant == 0:
        return 1.0
    return float(min(1.0, 2 * stats.binom.cdf(min(lost, gained), discordant, 0.5)))


def mcnemar_interval(lost: int, gained: int, n: int, alpha: float) -> tuple[float, float]:
    """The exact (Clopper-Pearson) interval of the paired difference, consistent with `mcnemar_pvalue`."""
    from scipy import stats

    m = lost + gained
    if m == 0:
        return 0.0, 0.0
    q_low = 0.0 if gained == 0 else float(stats.beta.ppf(alpha / 2, gained, m - gained + 1))
    q_high = 1.0 if gained == m else float(stats.beta.ppf(1 - alpha / 2, gained + 1, m - gained))
    return m * (2 * q_low - 1) / n, m * (2 * q_high - 1) / n


def mcnemar_test(base: Sequence[float], cand: Sequence[float], alpha: float = 0.05) -> PairedTest:
    """Exact McNemar test on paired 0/1 scores with its exact interval of the difference."""
    n = len(base)
    lost = sum(1 for b, c in zip(base, cand) if b == 1 and c == 0)
    gained = sum(1 for b, c in zip(base, cand) if b == 0 and c == 1)
    interval = lambda level: mcnemar_interval(lost, gained, n, level)  # noqa: E731
    low, high = interval(alpha)
    return PairedTest((gained - lost) / n, low, high, mcnemar_pvalue(lost, gained), "mcnemar-exact", interval,
                      noise=(lost + gained) / n)


def _bootstrap_test(diffs: np.ndarray, observed: float, name: str, alpha: float,
                    bound: float | None = None) -> PairedTest:
    """The shifted-null p-value and its dual symmetric interval (module docstring); `bound` caps |delta|."""
    centred = np.sort(np.abs(diffs - diffs.mean()))[::-1]
    count = int(np.count_nonzero(centred >= abs(observed)))
    p_value = (1 + count) / (1 + len(diffs))

    def interval(level: float) -> tuple[float, float]:
        allowed = math.ceil(level * (1 + len(diffs)) - 1) - 1  # p < level <=> count <= allowed
        half = math.inf if allowed < 0 else float(centred[allowed]) if allowed < len(centred) else 0.0
        low, high = observed - half, observed + half
        if bound is not None:
            low, high = max(low, -bound), min(high, bound)
        return low, high

    low, high = interval(alpha)
    return PairedTest(float(observed), low, high, float(p_value), name, interval,
                      noise=float(diffs.std(ddof=1)) if len(diffs) > 1 else 0.0)


def paired_bootstrap_mean(base: Sequence[float], cand: Sequence[float], *, resamples: int = 1000,
                          seed: int = 1234, alpha: float = 0.05, bound: float | None = None) -> PairedTest:
    """Paired bootstrap of the mean difference (ROUGE, F1, likelihood_diff, ...); `bound` is the largest
    possible |difference| (the metric's range width)."""
    diffs = np.asarray(cand, dtype=float) - np.asarray(base, dtype=float)
    picks = np.random.default_rng(seed).integers(0, len(diffs), size=(resamples, len(diffs)))
    return _bootstrap_test(diffs[picks].mean(axis=1), float(diffs.mean()), "paired-bootstrap-mean", alpha, bound)


def paired_bootstrap_corpus(base_stats: np.ndarray, cand_stats: np.ndarray,
                            score: Callable[[np.ndarray], float], *, resamples: int = 1000, seed: int = 1234,
                            alpha: float = 0.05, bound: float | None = None,
                            name: str = "paired-bootstrap-corpus") -> PairedTest:
    """Paired bootstrap of a corpus score (BLEU, chrF, TER) from per-segment sufficient statistics.

    `score` turns summed statistics into the corpus score; both runs use the same resampled segments.
    """
    n = len(base_stats)
    picks = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    observed = score(cand_stats.sum(axis=0)) - score(base_stats.sum(axis=0))
    base_sums, cand_sums = base_stats[picks].sum(axis=1), cand_stats[picks].sum(axis=1)
    diffs = np.array([score(c) - score(b) for b, c in zip(base_sums, cand_sums)])
    return _bootstrap_test(diffs, float(observed), name, alpha, bound)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in input order (statsmodels `multipletests(method="holm")`)."""
    if not p_values:
        return []
    from statsmodels.stats.multitest import multipletests

    return [float(p) for p in multipletests(list(p_values), method="holm")[1]]


def adjusted_level(alpha: float, p_value: float, p_holm: float) -> float:
    """The per-test level at which the unadjusted test agrees with the Holm decision: p < level exactly
    when p_holm < alpha (level = alpha * p / p_holm), so its interval excludes 0 exactly then."""
    if p_holm <= 0 or p_value <= 0:
        return alpha
    return min(alpha, alpha * p_value / p_holm)
