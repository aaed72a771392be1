"""Which models a report may call best: the best score, and every model a paired test cannot separate from it.

For each task's primary metric the best model is the one with the best value under the metric's declared
semantics (closest to the ideal for an ideal-value metric). Every other model is compared with it item by
item by the same paired test `evalh compare` uses, Holm-corrected across the models of that column; those
whose difference is not significant are tied with the best. Where samples are missing or the items differ,
a model is tied when its interval reaches the best model's value (no paired test is possible).
"""
from __future__ import annotations

from collections.abc import Mapping

from harness.errors import EvalhError
from harness.metrics.semantics import Semantics
from harness.report.loading import LoadedRun
from harness.report.paired import holm
from harness.results import MetricValue

BEST, TIED = "best", "tied"


def _paired_p(runs: Mapping[str, LoadedRun], task: str, metric: str, best: str, other: str,
              seed: int) -> float | None:
    """The paired test's p-value of `other` against `best`, or None when the runs cannot be paired."""
    from harness.report.compare import _check_task, _test

    base, cand = runs[best], runs[other]
    if not (base.has_samples and cand.has_samples):
        return None
    try:
        pairs = _check_task(task, base, cand)
        value = base.result.tasks[task].metrics[metric]
        signature = str(value.details.get("signature", ""))
        test, _, _ = _test(metric, pairs, signature, Semantics.of(value), alpha=0.05, resamples=1000, seed=seed,
                           cluster=base.result.tasks[task].cluster)
    except EvalhError:
        return None
    return test.p_value


def column_standing(runs: Mapping[str, LoadedRun], task: str, metric: str, alpha: float = 0.05,
                    seed: int = 1234) -> dict[str, str]:
    """Run key -> 'best' or 'tied' for one column; empty when fewer than two runs score or all are equal."""
    scored: dict[str, MetricValue] = {}
    for key, run in runs.items():
        found = run.result.tasks.get(task)
        if found is not None and metric in found.metrics and found.metrics[metric].value is not None:
            scored[key] = found.metrics[metric]
    if len(scored) < 2 or len({v.value for v in scored.values()}) == 1:
        return {}
    best = max(scored, key=lambda k: Semantics.of(scored[k]).goodness(scored[k].value))
    others = [k for k in scored if k != best]
    tested = {k: _paired_p(runs, task, metric, best, k, seed) for k in others}
    keys = [k for k in others if tested[k] is not None]
    adjusted = dict(zip(keys, holm([tested[k] for k in keys])))
    standing = {best: BEST}
    target = scored[best].value
    for k in others:
        value = scored[k]
        if k in adjusted:
            tied = adjusted[k] >= alpha
        else:
            tied = value.ci_low is not None and value.ci_high is not None and value.ci_low <= target <= value.ci_high
        if tied:
            standing[k] = TIED
    return standing
