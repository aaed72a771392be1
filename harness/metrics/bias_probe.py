"""Metrics for demographic probes written in YAML (`dataset: {probe: ...}`, see tasks/bias/probe_occupations.yaml).

Every row is one (template, group, word[, continuation]) with the log-probability of its target text.

- `probe_logprob`: the mean log-probability (mean, stderr); with `breakdown: "{{group}}"` this gives
  each group's mean with a CI.
- `probe_disparity`: max - min over groups of the group's mean log-probability (a group's mean is over all
  of its rows: templates x words x continuations), in nats. 0 when every group is scored alike. The CI is
  a seeded percentile bootstrap over templates (the unit a probe author samples), resampling all rows of
  a drawn template together. `details` holds each group's mean and the groups at the two extremes.
  Undefined (None) for fewer than two groups, e.g. inside a per-group breakdown.

A log-probability disparity is the counterfactual-template measure of e.g. Kurita et al. 2019 and HELM's
"demographic representation" family, here over the model's own likelihoods rather than generations.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.metrics.base import Metric, Outcome
from harness.metrics.bias import bootstrap_statistic
from harness.metrics.semantics import UNBOUNDED_LOWER, Semantics
from harness.results import MetricValue


def _logprob(outcome: Outcome) -> float:
    assert outcome.logprobs is not None
    return float(outcome.logprobs[0])


class ProbeLogprob(Metric):
    """Mean log-probability of the probe's target text (per group through a breakdown)."""

    name = "probe_logprob"
    semantics = Semantics(None, 0.0)

    def sample(self, outcome: Outcome) -> float:
        return _logprob(outcome)


class ProbeDisparity(Metric):
    """max - min of the groups' mean log-probabilities, with a bootstrap CI over templates."""

    name = "probe_disparity"
    semantics = UNBOUNDED_LOWER

    def __init__(self, group_field: str = "group", unit_field: str = "template_id") -> None:
        self.group_field, self.unit_field = group_field, unit_field

    def sample(self, outcome: Outcome) -> float:
        return _logprob(outcome)

    def aggregate(self, outcomes: Sequence[Outcome], samples: Sequence[float | None], seed: int) -> MetricValue:
        groups = sorted({str(o.item.row[self.group_field]) for o in outcomes})
        units = sorted({str(o.item.row[self.unit_field]) for o in outcomes})
        # per unit (template): each group's summed log-probability, then each group's row count
        stats = np.zeros((len(units), 2 * len(groups)))
        for outcome in outcomes:
            row = outcome.item.row
            u, g = units.index(str(row[self.unit_field])), groups.index(str(row[self.group_field]))
            stats[u, g] += _logprob(outcome)
            stats[u, len(groups) + g] += 1.0
        k = len(groups)

        def score(s: np.ndarray) -> float:
            counts = s[k:]
            if k < 2 or (counts == 0).any():
                return float("nan")
            means = s[:k] / counts
            return float(means.max() - means.min())

        totals = stats.sum(axis=0)
        means = {g: float(totals[i] / totals[k + i]) for i, g in enumerate(groups) if totals[k + i]}
        details = {"group_means": means, "groups": len(groups), "templates": len(units)}
        if len(means) >= 2:
            details["max_group"] = max(means, key=means.get)
            details["min_group"] = min(means, key=means.get)
        value = bootstrap_statistic(stats, score, seed, semantics=self.semantics, details=details)
        return value.model_copy(update={"n": len(outcomes)})
