"""Corpus perplexities over rolling log-likelihoods, as lm-eval's wikitext task defines them.

lm-eval (`lm_eval/tasks/wikitext/preprocess_wikitext.py`, `lm_eval/api/metrics.py`): each document
contributes (loglikelihood, weight), the weight counted on the *original* text before detokenisation:
words = len(re.split(r"\\s+", text)), bytes = len(text.encode("utf-8")). Then

- word_perplexity = exp(-sum(ll) / sum(words))      (`weighted_perplexity`)
- byte_perplexity = exp(-sum(ll) / sum(bytes))
- bits_per_byte   = -sum(ll) / sum(bytes) / ln 2    (`bits_per_byte`)

These are corpus scores, not means of per-document scores; the CI is a bootstrap over documents.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

from harness.metrics.base import Metric, Outcome
from harness.metrics.semantics import Semantics
from harness.metrics.stats import bootstrap
from harness.results import MetricValue

_KINDS = ("word_perplexity", "byte_perplexity", "bits_per_byte")


def word_count(text: str) -> int:
    """lm-eval's word count: pieces of `re.split(r"\\s+", text)` (a leading space gives an empty piece)."""
    return len(re.split(r"\s+", text))


def byte_count(text: str) -> int:
    return len(text.encode("utf-8"))


def corpus_score(kind: str, loglikelihood: float, weight: float) -> float:
    """The corpus score from summed log-likelihood and summed weight (words or bytes)."""
    if kind == "bits_per_byte":
        return -loglikelihood / weight / math.log(2)
    return math.exp(-loglikelihood / weight)


class PerplexityMetric(Metric):
    """word_perplexity, byte_perplexity or bits_per_byte (lower is better).

    `text` is a template over the row giving the text whose words or bytes are counted (lm-eval counts
    the original document, e.g. `{{page}}`, not the detokenised text the model scored).
    """

    def __init__(self, kind: str, text: str = "{{page}}") -> None:
        if kind not in _KINDS:
            raise ValueError(f"unknown perplexity kind {kind!r}")
        self.name, self.text = kind, text
        # log-likelihoods are <= 0, so a perplexity is at least 1 and bits per byte at least 0
        self.semantics = Semantics(0.0 if kind == "bits_per_byte" else 1.0, None, higher_is_better=False)

    def weight(self, outcome: Outcome) -> int:
        from harness.tasks.templates import render_text

        text = render_text(self.text, outcome.item.row, f"metric {self.name}, row {outcome.item.index}")
        return word_count(text) if self.name == "word_perplexity" else byte_count(text)

    def sample(self, outcome: Outcome) -> float:
        """The document's own score (for drill-down; never averaged into the corpus score)."""
        assert outcome.rolling is not None
        return corpus_score(self.name, outcome.rolling, self.weight(outcome))

    def aggregate(self, outcomes: Sequence[Outcome], samples: Sequence[float | None], seed: int) -> MetricValue:
        stats = np.array([[o.rolling, self.weight(o)] for o in outcomes], dtype=float)
        total = stats.sum(axis=0)
        value = corpus_score(self.name, float(total[0]), float(total[1]))
        stderr = low = high = None
        if len(outcomes) > 1:
            stderr, low, high = bootstrap(stats, lambda s: corpus_score(self.name, float(s[0]), float(s[1])), seed)
        return MetricValue(value=value, stderr=stderr, ci_low=low, ci_high=high, n=len(outcomes),
                           method="bootstrap", **self.semantics.fields(),
                           details={"loglikelihood": float(total[0]), "weight": int(total[1]), "resamples": 1000})
