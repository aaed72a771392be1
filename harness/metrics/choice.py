"""Multiple-choice accuracy as lm-eval defines it."""
from __future__ import annotations

import numpy as np

from harness.metrics.base import Metric, Outcome


class Accuracy(Metric):
    """1 if the highest log-likelihood choice is the gold one (first maximum wins ties, as numpy.argmax)."""

    name = "acc"

    def sample(self, outcome: Outcome) -> float:
        assert outcome.logprobs is not None
        return float(int(np.argmax(outcome.logprobs)) == outcome.item.gold)


class NormalizedAccuracy(Metric):
    """Accuracy after dividing each choice's log-likelihood by the choice's length in characters.

    lm-eval's acc_norm: the length is that of the choice text without the target delimiter.
    """

    name = "acc_norm"

    def sample(self, outcome: Outcome) -> float:
        assert outcome.logprobs is not None and outcome.item.choices is not None
        lengths = np.array([float(len(c)) for c in outcome.item.choices])
        return float(int(np.argmax(np.array(outcome.logprobs) / lengths)) == outcome.item.gold)


class TruthfulMC2(Metric):
    """TruthfulQA MC2 (lm-eval's truthfulqa_mc2 `acc`): probability mass on the true answers.

    `labels` is a template rendering to the row's 0/1 labels; the true answers come first, so the split is
    the first 0. Mass is normalised over all answers: sum(p_true) / (sum(p_true) + sum(p_false)).
    """

    name = "mc2"

    def __init__(self, labels: str = "{{mc2_targets.labels}}") -> None:
        self.labels = labels

    def sample(self, outcome: Outcome) -> float:
        from harness.tasks.templates import render_value

        assert outcome.logprobs is not None
        labels = list(render_value(self.labels, outcome.item.row, f"metric mc2, row {outcome.item.index}"))
        split = labels.index(0)
        probs = np.exp(np.array(outcome.logprobs))
        return float(probs[:split].sum() / probs.sum())
