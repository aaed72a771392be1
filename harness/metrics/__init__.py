"""Metrics by name. Each takes per-item Outcomes, gives per-sample scores and an aggregate with uncertainty."""
from __future__ import annotations

from harness.errors import TaskError, did_you_mean
from harness.metrics.base import Metric, Outcome
from harness.metrics.bias import LikelihoodDiff, PctStereotype
from harness.metrics.choice import Accuracy, NormalizedAccuracy, TruthfulMC2
from harness.metrics.text import CorpusTranslationMetric, ExactMatch, RougeMetric, TokenF1

__all__ = ["Metric", "Outcome", "get_metric", "METRIC_NAMES"]

_FACTORIES = {
    "acc": Accuracy,
    "acc_norm": NormalizedAccuracy,
    "mc2": TruthfulMC2,
    "exact_match": ExactMatch,
    "f1": TokenF1,
    "bleu": lambda **kw: CorpusTranslationMetric("bleu", **kw),
    "chrf": lambda **kw: CorpusTranslationMetric("chrf", **kw),
    "ter": lambda **kw: CorpusTranslationMetric("ter", **kw),
    "rouge1": lambda **kw: RougeMetric("rouge1", **kw),
    "rouge2": lambda **kw: RougeMetric("rouge2", **kw),
    "rougeL": lambda **kw: RougeMetric("rougeL", **kw),
    "rougeLsum": lambda **kw: RougeMetric("rougeLsum", **kw),
    "pct_stereotype": PctStereotype,
    "likelihood_diff": LikelihoodDiff,
}
METRIC_NAMES = sorted(_FACTORIES)


def get_metric(name: str, options: dict | None = None, task: str = "") -> Metric:
    """A metric instance by name; unknown names and options are TaskErrors naming the task."""
    if name not in _FACTORIES:
        raise TaskError(f"task {task}: unknown metric '{name}'{did_you_mean(name, _FACTORIES)}")
    try:
        return _FACTORIES[name](**(options or {}))
    except TypeError as exc:
        raise TaskError(f"task {task}: bad options for metric '{name}': {exc}") from None
