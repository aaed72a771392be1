"""The Metric protocol, the per-item Outcome it scores, and the interval of a mean of per-item scores."""
from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from harness.metrics.semantics import PROPORTION, Semantics
from harness.metrics.stats import (bootstrap_mean, cluster_bootstrap_mean, clustered_stderr, mean_with_stderr,
                                   wilson_interval)
from harness.results import MetricValue
from harness.tasks.build import Item


@dataclass(frozen=True)
class Outcome:
    """What the model produced for one item."""

    item: Item
    logprobs: tuple[float, ...] | None = None
    is_greedy: tuple[bool, ...] | None = None
    response: str | None = None
    responses: tuple[str, ...] | None = None
    """Every generation of a generate item, one per repeat (`response` is the first)."""
    rolling: float | None = None


class Metric:
    """A mean of per-sample scores with its standard error and an interval inside the metric's range.

    `semantics` declares the range and what is best; every aggregate carries it into results.json.
    Corpus metrics (BLEU, chrF, TER) override `aggregate`: their value is not a mean of sentence scores.
    """

    name: str = ""
    semantics: Semantics = PROPORTION

    def sample(self, outcome: Outcome) -> float | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def score_all(self, outcomes: Sequence[Outcome]) -> list[tuple[float | None, dict | None]]:
        """Every outcome's score and, where the metric has one, a record of why (written to samples.jsonl
        under `details`). One call for all outcomes, so a metric that runs programs can run them in
        parallel; by default each outcome's `sample`, without details."""
        return [(self.sample(outcome), None) for outcome in outcomes]

    def aggregate(self, outcomes: Sequence[Outcome], samples: Sequence[float | None], seed: int) -> MetricValue:
        return mean_value([s for s in samples if s is not None], self.semantics, seed)


MEAN_METHODS = ("wilson", "bootstrap-mean", "mean")
"""Methods of values that are means of per-item scores (clusters and group averages apply to these)."""


def is_proportion(values: Sequence[float]) -> bool:
    return all(v in (0.0, 1.0) for v in values)


def mean_value(values: Sequence[float], semantics: Semantics, seed: int, alpha: float = 0.05) -> MetricValue:
    """The mean with lm-eval's stderr and an interval inside the range: Wilson for 0/1 scores, else a
    percentile bootstrap (a constant sample gives a zero-width interval; a single non-0/1 value gives the
    whole range, or no interval when the range is unbounded)."""
    mean, stderr = mean_with_stderr(values)
    low = high = None
    method = "wilson" if values and is_proportion(values) else "bootstrap-mean"
    if mean is None:
        pass
    elif method == "wilson":
        low, high = wilson_interval(sum(values), len(values), alpha)
    elif len(values) == 1:
        low, high = semantics.low, semantics.high
    else:
        stderr, low, high = bootstrap_mean(values, seed, alpha=alpha)
        low, high = semantics.clip(low), semantics.clip(high)
    return MetricValue(value=mean, stderr=stderr, ci_low=low, ci_high=high, n=len(values), method=method,
                       **semantics.fields())


def with_clusters(value: MetricValue, samples: Sequence[float | None], clusters: Sequence[Hashable], seed: int,
                  alpha: float = 0.05) -> MetricValue:
    """A mean's value with clustered errors: cluster-robust stderr, the naive one, the design effect, and a
    percentile interval from resampling whole clusters. Scores that are not means are returned unchanged."""
    if value.method not in MEAN_METHODS or value.value is None:
        return value
    kept = [(s, c) for s, c in zip(samples, clusters) if s is not None]
    values, groups = [s for s, _ in kept], [c for _, c in kept]
    clustered = clustered_stderr(values, groups)
    interval = cluster_bootstrap_mean(values, groups, seed, alpha=alpha)
    if clustered is None or interval is None:  # one cluster: nothing is identified beyond the naive error
        return value.model_copy(update={"details": {**value.details, "clusters": len(set(groups))}})
    semantics = Semantics.of(value)
    naive = value.stderr
    return value.model_copy(update={
        "stderr": clustered, "stderr_naive": naive, "method": f"{value.method}+cluster",
        "design_effect": (clustered / naive) ** 2 if naive else None,
        "ci_low": semantics.clip(interval[1]), "ci_high": semantics.clip(interval[2]),
        "details": {**value.details, "clusters": len(set(groups))}})
