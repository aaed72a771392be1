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
