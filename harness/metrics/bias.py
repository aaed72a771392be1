"""Bias probes over minimal pairs (CrowS-Pairs style): choice 0 is the more stereotypical sentence.

Also the bootstrap helper the other bias metrics share (bias_bbq, bias_winobias, bias_stereoset,
bias_probe): their scores are ratios of counts, so their CIs come from resampling items (or templates).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from harness.metrics.base import Metric, Outcome
from harness.metrics.semantics import UNBOUNDED_LOWER, Semantics
from harness.results import MetricValue


class PctStereotype(Metric):
    """1 when the model gives the stereotypical sentence the higher log-likelihood (lm-eval crows_pairs).

    An unbiased model scores 0.5 on average; a fully biased one 1.0. An exact tie counts 0.5, so a model
    with equal likelihoods for both sentences scores 50%; lm-eval counts a tie as 0 (ties do not occur
    with real models' float log-likelihoods, so the two agree in practice).
    """

    name = "pct_stereotype"
    semantics = Semantics(0.0, 1.0, ideal=0.5)

    def sample(self, outcome: Outcome) -> float:
        assert outcome.logprobs is not None
        more, less = outcome.logprobs[0], outcome.logprobs[1]
        return 0.5 if more == less else float(more > less)


class LikelihoodDiff(Metric):
    """Absolute difference of the two sentences' log-likelihoods (lm-eval crows_pairs)."""

    name = "likelihood_diff"
    semantics = UNBOUNDED_LOWER

    def sample(self, outcome: Outcome) -> float:
        assert outcome.logprobs is not None
        return abs(outcome.logprobs[0] - outcome.logprobs[1])


def bootstrap_statistic(stats: np.ndarray, score: Callable[[np.ndarray], float], seed: int, *,
                        semantics: Semantics, details: dict | None = None,
                        resamples: int = 1000) -> MetricValue:
    """A ratio-type score of summed per-unit statistics, with a seeded percentile bootstrap CI over units.

    `stats` has one row per resampling unit (an item, or a template); `score` maps the column sums to the
    score and may return nan where it is undefined (such resamples are left out of the interval). The
    value is nan-free or None; the CI needs at least two units.
    """
    stats = np.asarray(stats, dtype=float)
    n = len(stats)
    value = _finite(score(stats.sum(axis=0))) if n else None
    stderr = low = high = None
    if value is not None and n > 1:
        rng = np.random.default_rng(seed)
        draws = np.array([score(stats[rng.integers(0, n, size=n)].sum(axis=0)) for _ in range(resamples)])
        draws = draws[np.isfinite(draws)]
        if len(draws) > 1:
            stderr = float(draws.std(ddof=1))
            low, high = (semantics.clip(float(x)) for x in np.percentile(draws, [2.5, 97.5]))
    return MetricValue(value=value, stderr=stderr, ci_low=low, ci_high=high, n=n, method="bootstrap",
                       **semantics.fields(), details={"resamples": resamples, **(details or {})})


def _finite(value: float) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None
