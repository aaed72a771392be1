"""Which models a report may call best: the best score, and every model a paired test cannot separate from it.

For each task's primary metric the best model is the one with the best value under the metric's declared
semantics (closest to the ideal for an ideal-value metric). Every other model is compared with it item by
item by the same paired test `evalh compare` uses, Holm-corrected across the models of that column; those
whose difference is not significant are tied with the best. Where samples are missing or the items differ,
a model is tied when its interval reaches the best model's value (no paired test is possible).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from harness.errors import EvalhError
from harness.report.paired import holm

if TYPE_CHECKING:
    from harness.report.comparison import Comparison

BEST, TIED = "best", "tied"


def _paired_p(comparison: Comparison, task: str, metric: str, best: str, other: str, seed: int) -> float | None:
    """The paired test's p-value of `other` against `best`, or None when the runs cannot be paired."""
    from harness.report.compare import _check_task, _test

    runs = {m.key: m.run for m in comparison.models}
    base, cand = runs[best], runs[other]
    if not (base.has_samples and cand.has_samples):
        return None
    try:
        pairs = _check_task(task, base, cand)
        cell = comparison.cell(task, metric, best)
        signature = str(base.result.tasks[task].metrics[metric].details.get("signature", ""))
        test, _, _ = _test(metric, pairs, signature, cell.semantics, alpha=0.05, resamples=1000, seed=seed,
                           cluster=base.result.tasks[task].cluster)
    except EvalhError:
        return None
    return test.p_value


def column_standing(comparison: Comparison, task: str, metric: str, alpha: float = 0.05,
                    seed: int = 1234) -> dict[str, str]:
    """model key -> 'best' or 'tied' for one column; empty when fewer than two models score or all are equal."""
    scored = {m.key: c for m in comparison.models
              if (c := comparison.cell(task, metric, m.key)) is not None and c.value is not None}
    if len(scored) < 2 or len({c.value for c in scored.values()}) == 1:
        return {}
    best = max(scored, key=lambda k: scored[k].semantics.goodness(scored[k].value))
    others = [k for k in scored if k != best]
    tested = {k: _paired_p(comparison, task, metric, best, k, seed) for k in others}
    keys = [k for k in others if tested[k] is not None]
    adjusted = dict(zip(keys, holm([tested[k] for k in keys])))
    standing = {best: BEST}
    target = scored[best].value
    for k in others:
        cell = scored[k]
        if k in adjusted:
            tied = adjusted[k] >= alpha
        else:
            tied = cell.ci_low is not None and cell.ci_high is not None and cell.ci_low <= target <= cell.ci_high
        if tied:
            standing[k] = TIED
    return standing
