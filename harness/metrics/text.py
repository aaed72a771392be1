"""Metrics over generated text: SQuAD exact match and F1, sacrebleu's BLEU/chrF/TER, rouge-score's ROUGE."""
from __future__ import annotations

import collections
import re
import string
from collections.abc import Sequence
from functools import cached_property

import numpy as np

from harness.metrics.base import Metric, Outcome
from harness.metrics.semantics import Semantics
from harness.metrics.stats import bootstrap
from harness.results import MetricValue

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """The official SQuAD v1.1 normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def squad_f1(prediction: str, truth: str) -> float:
    """Token-overlap F1 of the official SQuAD v1.1 script."""
    pred, gold = normalize_answer(prediction).split(), normalize_answer(truth).split()
    common = collections.Counter(pred) & collections.Counter(gold)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(gold)
    return 2 * precision * recall / (precision + recall)


class ExactMatch(Metric):
    """1 if the normalised response equals any normalised reference (SQuAD v1.1)."""

    name = "exact_match"

    def sample(self, outcome: Outcome) -> float:
        refs = outcome.item.references or ()
        return float(max(normalize_answer(outcome.response or "") == normalize_answer(r) for r in refs))


class ExactMatchLmEval(Metric):
    """lm-eval's `exact_match` (HF evaluate's) for generation tasks with several acceptable answers.

    Leading whitespace is removed from the response (lm-eval's `remove_whitespace` filter); then each of
    `regexes_to_ignore` is deleted, and case and punctuation are ignored when asked, on both sides.
    1 if the response matches any reference (lm-eval's multiple-target rule).
    """

    name = "exact_match"

    def __init__(self, ignore_case: bool = False, ignore_punctuation: bool = False,
                 regexes_to_ignore: list[str] | None = None) -> None:
        self.ignore_case, self.ignore_punctuation = ignore_case, ignore_punctuation
        self.regexes = [re.compile(r) for r in regexes_to_ignore or []]

    def _clean(self, text: str) -> str:
        for regex in self.regexes:
            text = regex.sub("", text)
        if self.ignore_case:
            text = text.lower()
        if self.ignore_punctuation:
            text = text.translate(str.maketrans("", "", string.punctuation))
        return text

    def sample(self, outcome: Outcome) -> float:
        prediction = self._clean((outcome.response or "").lstrip())
        return float(any(prediction == self._clean(r) for r in outcome.item.references or ()))


class TokenF1(Metric):
    """Best token-overlap F1 over the references (SQuAD v1.1)."""

    name = "f1"

    def sample(self, outcome: Outcome) -> float:
        return max(squad_f1(outcome.response or "", r) for r in outcome.item.references or ())


class CorpusTranslationMetric(Metric):
    """sacrebleu's corpus BLEU, chrF or TER, with the signature recorded and a bootstrap CI over segments.

    Options go to sacrebleu's metric class, e.g. `{trg_lang: zh}` picks the Chinese tokenizer for BLEU.
    The per-sample score is the sentence-level score (for drill-down), never averaged into the corpus score.
    """

    def __init__(self, kind: str, **options: object) -> None:
        self.name, self.options = kind, options
        # BLEU and chrF are 0-100; TER (edits per reference word) can exceed 100
        self.semantics = Semantics(0.0, None, higher_is_better=False) if kind == "ter" else Semantics(0.0, 100.0)

    @cached_property
    def scorer(self):
        from sacrebleu.metrics import BLEU, CHRF, TER

        cls = {"bleu": BLEU, "chrf": CHRF, "ter": TER}[self.name]
        if self.name == "bleu":  # sentence scores of one-line hypotheses need smoothing, as sacrebleu's own
            return cls(**self.options), cls(effective_order=True, **self.options)
        return cls(**self.options), cls(**self.options)

    def sample(self, outcome: Outcome) -> float:
        return float(self.scorer[1].sentence_score(outcome.response or "", list(outcome.item.references or ())).score)

    def aggregate(self, outcomes: Sequence[Outcome], samples: Sequence[float | None], seed: int) -> MetricValue:
        corpus = self.scorer[0]
        hyps = [o.response or "" for o in outcomes]
        refs = reference_streams([o.item.references or ("",) for o in outcomes])
        score = corpus.corpus_score(hyps, refs)
        stderr = low = high = None
        if len(hyps) > 1:
            stats = np.array(corpus._extract_corpus_statistics(hyps, refs), dtype=float)
            stderr, low, high = bootstrap(stats, lambda s: corpus._compute_score_from_stats(list(s)).score, seed)
        return MetricValue(value=float(score.score), stderr=stderr, ci_low=low, ci_high=high, n=len(hyps),
                           method="bootstrap", **self.semantics.fields(),
                           details={"signature": str(corpus.get_signature()), "resamples": 1000})


def reference_streams(references: Sequence[Sequence[str]]) -> list[list[str]]:
    """sacrebleu wants one stream per reference; items with fewer references repeat their first, which
    changes no score (a duplicate reference adds no n-gram count and no new length)."""
    width = max(len(r) for r in references)
    return [[r[k] if k < len(r) else r[0] for r in references] for k in range(width)]


class RougeMetric(Metric):
    """ROUGE F-measure from rouge-score with Porter stemming (as HELM), averaged over items.

    rougeLsum splits summaries into sentences on newlines, as rouge-score expects.
    """

    def __init__(self, kind: str, use_stemmer: bool = True) -> None:
        self.name, self.use_stemmer = kind, use_stemmer

    @cached_property
    def scorer(self):
        from rouge_score import rouge_scorer

        return rouge_scorer.RougeScorer([self.name], use_stemmer=self.use_stemmer)

    def sample(self, outcome: Outcome) -> float:
        prediction = outcome.response or ""
        if self.name == "rougeLsum":
            prediction = "\n".join(_sentences(prediction))
        return max(self.scorer.score(r, prediction)[self.name].fmeasure for r in outcome.item.references or ())


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]
