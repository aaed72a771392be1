"""Paired tests for comparing two runs item by item: McNemar, paired bootstrap, Holm's correction.

McNemar (0/1 scores): with b items lost (1 -> 0) and c items gained (0 -> 1), the exact test is a two-sided
binomial test of min(b, c) successes in b + c trials at p = 1/2 (statsmodels `mcnemar(exact=True)`); from
b + c >= EXACT_BELOW on, the chi-square statistic with continuity correction, (|b - c| - 1)^2 / (b + c), on
one degree of freedom (statsmodels `mcnemar(exact=False, correction=True)`).

Paired bootstrap: the same resampled item indices for both runs; the p-value is that of the shifted
null (Koehn 2004; sacrebleu's paired bootstrap): the share of resampled differences whose distance from
their mean is at least the observed difference, (1 + count) / (1 + resamples).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

EXACT_BELOW = 25


@dataclass(frozen=True)
class PairedTest:
    """Candidate minus baseline: the difference, its CI, a two-sided p-value, and the test's name."""

    delta: float
    ci_low: float
    ci_high: float
    p_value: float
    test: str


def mcnemar_pvalue(lost: int, gained: int, exact_below: int = EXACT_BELOW) -> tuple[float, str]:
    """Two-sided McNemar p-value for discordant counts; exact (binomial) for small counts."""
    from scipy import stats

    discordant = lost + gained
    if discordant == 0:
        return 1.0, "mcnemar-exact"
    if discordant < exact_below:
        return float(stats.binomtest(min(lost, gained), discordant, 0.5).pvalue), "mcnemar-exact"
    statistic = (abs(lost - gained) - 1.0) ** 2 / discordant
    return float(stats.chi2.sf(statistic, 1)), "mcnemar-chi2"


def mcnemar_test(base: Sequence[float], cand: Sequence[float], alpha: float = 0.05) -> PairedTest:
    """McNemar's test on paired 0/1 scores, with a Wald CI for the difference of paired proportions."""
    from scipy import stats

    n = len(base)
    lost = sum(1 for b, c in zip(base, cand) if b == 1 and c == 0)
    gained = sum(1 for b, c in zip(base, cand) if b == 0 and c == 1)
    p_value, test = mcnemar_pvalue(lost, gained)
    delta = (gained - lost) / n
    variance = max(((gained + lost) / n - delta**2) / n, 0.0)
    half = float(stats.norm.ppf(1 - alpha / 2)) * math.sqrt(variance)
    return PairedTest(delta, delta - half, delta + half, p_value, test)


def _bootstrap_p(diffs: np.ndarray, observed: float) -> float:
    centred = np.abs(diffs - diffs.mean())
    return float((1 + np.count_nonzero(centred >= abs(observed) - 1e-12)) / (1 + len(diffs)))


def paired_bootstrap_mean(base: Sequence[float], cand: Sequence[float], *, resamples: int = 1000,
                          seed: int = 1234, alpha: float = 0.05) -> PairedTest:
    """Paired bootstrap of the mean difference (ROUGE, F1, likelihood_diff, ...)."""
    diffs = np.asarray(cand, dtype=float) - np.asarray(base, dtype=float)
    picks = np.random.default_rng(seed).integers(0, len(diffs), size=(resamples, len(diffs)))
    means = diffs[picks].mean(axis=1)
    low, high = np.percentile(means, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    observed = float(diffs.mean())
    return PairedTest(observed, float(low), float(high), _bootstrap_p(means, observed), "paired-bootstrap-mean")


def paired_bootstrap_corpus(base_stats: np.ndarray, cand_stats: np.ndarray,
                            score: Callable[[np.ndarray], float], *, resamples: int = 1000, seed: int = 1234,
                            alpha: float = 0.05) -> PairedTest:
    """Paired bootstrap of a corpus score (BLEU, chrF, TER) from per-segment sufficient statistics.

    `score` turns summed statistics into the corpus score; both runs use the same resampled segments.
    """
    n = len(base_stats)
    picks = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    observed = score(cand_stats.sum(axis=0)) - score(base_stats.sum(axis=0))
    base_sums, cand_sums = base_stats[picks].sum(axis=1), cand_stats[picks].sum(axis=1)
    diffs = np.array([score(c) - score(b) for b, c in zip(base_sums, cand_sums)])
    low, high = np.percentile(diffs, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return PairedTest(float(observed), float(low), float(high), _bootstrap_p(diffs, observed),
                      "paired-bootstrap-corpus")


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (statsmodels `multipletests(method="holm")`), in input order."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted
