"""Label-level scores of multiple-choice classification tasks: macro-F1 and Matthews correlation.

The prediction is the highest log-likelihood choice (as `acc`); the value is scikit-learn's
`f1_score(gold, pred, average="macro")` or `matthews_corrcoef(gold, pred)` (lm-eval's `mcc` for GLUE
CoLA calls the same function). Corpus scores, so the CI is a bootstrap over items: an item's statistics
are its one-hot cell of the confusion matrix, and the score of a resample is computed from the summed
matrix by the same formulas scikit-learn uses (`test_classification` checks they agree).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.metrics.base import Metric, Outcome
from harness.metrics.semantics import PROPORTION, Semantics
from harness.metrics.stats import bootstrap
from harness.results import MetricValue


def predicted(outcome: Outcome) -> int:
    assert outcome.logprobs is not None
    return int(np.argmax(outcome.logprobs))


def macro_f1_from_confusion(matrix: np.ndarray) -> float:
    """Mean F1 over the labels that occur as gold or prediction (scikit-learn's default label set)."""
    true_pos = np.diag(matrix)
    gold, pred = matrix.sum(axis=1), matrix.sum(axis=0)
    present = (gold + pred) > 0
    denom = gold + pred
    f1 = np.divide(2 * true_pos, denom, out=np.zeros_like(true_pos, dtype=float), where=denom > 0)
    return float(f1[present].mean()) if present.any() else 0.0


def mcc_from_confusion(matrix: np.ndarray) -> float:
    """Multi-class Matthews correlation (Gorodkin's R_K), as scikit-learn computes it; 0 when undefined."""
    t, p = matrix.sum(axis=1), matrix.sum(axis=0)
    c, s = np.trace(matrix), matrix.sum()
    cov_ytyp = c * s - float(t @ p)
    cov_ypyp = s * s - float(p @ p)
    cov_ytyt = s * s - float(t @ t)
    if cov_ypyp * cov_ytyt == 0:
        return 0.0
    return float(cov_ytyp / np.sqrt(cov_ytyt * cov_ypyp))


class ClassificationMetric(Metric):
    """`f1_macro` or `mcc` over the argmax predictions (see the module docstring)."""

    def __init__(self, kind: str) -> None:
        if kind not in ("f1_macro", "mcc"):
            raise ValueError(f"unknown classification metric {kind!r}")
        self.name = kind
        self.semantics = Semantics(-1.0, 1.0) if kind == "mcc" else PROPORTION

    def sample(self, outcome: Outcome) -> float:
        """1 if the prediction is right (for drill-down; the score itself is a corpus score)."""
        return float(predicted(outcome) == outcome.item.gold)

    def _score(self, gold: list[int], pred: list[int]) -> float:
        from sklearn.metrics import f1_score, matthews_corrcoef

        if self.name == "mcc":
            return float(matthews_corrcoef(gold, pred))
        return float(f1_score(gold, pred, average="macro", zero_division=0))

    def aggregate(self, outcomes: Sequence[Outcome], samples: Sequence[float | None], seed: int) -> MetricValue:
        gold = [int(o.item.gold) for o in outcomes]
        pred = [predicted(o) for o in outcomes]
        labels = max(len(o.item.choices or ()) for o in outcomes)
        value = self._score(gold, pred)
        stderr = low = high = None
        if len(outcomes) > 1:
            cells = np.zeros((len(outcomes), labels * labels))
            cells[np.arange(len(outcomes)), np.array(gold) * labels + np.array(pred)] = 1.0
            formula = mcc_from_confusion if self.name == "mcc" else macro_f1_from_confusion
            stderr, low, high = bootstrap(cells, lambda s: formula(s.reshape(labels, labels)), seed)
        return MetricValue(value=value, stderr=stderr, ci_low=low, ci_high=high, n=len(outcomes),
                           method="bootstrap", **self.semantics.fields(),
                           details={"resamples": 1000, "labels": labels})
