"""Recompute sacrebleu corpus scores (BLEU, chrF, TER) from samples, configured by the recorded signature."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CORPUS_METRICS = frozenset({"bleu", "chrf", "ter"})


def parse_signature(signature: str) -> dict[str, str]:
    """'nrefs:1|case:mixed|tok:13a|...' -> {'nrefs': '1', 'case': 'mixed', 'tok': '13a', ...}."""
    return dict(part.split(":", 1) for part in signature.split("|") if ":" in part)


def scorer_options(metric: str, signature: str) -> dict[str, object]:
    """sacrebleu constructor options that reproduce `signature` (what evalh's metrics can set)."""
    sig = parse_signature(signature)
    if metric == "bleu":
        options: dict[str, object] = {"lowercase": sig.get("case") == "lc"}
        if "tok" in sig:
            options["tokenize"] = sig["tok"]
        smooth = sig.get("smooth", "exp")
        name, _, value = smooth.partition("[")
        options["smooth_method"] = name
        if value:
            options["smooth_value"] = float(value.rstrip("]"))
        options["effective_order"] = sig.get("eff") == "yes"
        return options
    if metric == "chrf":
        return {"char_order": int(sig.get("nc", 6)), "word_order": int(sig.get("nw", 0)),
                "lowercase": sig.get("case") == "lc", "whitespace": sig.get("space") == "yes",
                "eps_smoothing": sig.get("eff") == "no"}
    if metric == "ter":
        return {"case_sensitive": sig.get("case") == "mixed", "normalized": sig.get("norm") == "yes",
                "no_punct": sig.get("punct") == "no", "asian_support": sig.get("asian") == "yes"}
    raise ValueError(f"not a corpus metric: {metric}")


class CorpusScorer:
    """Per-segment statistics and corpus scores of one sacrebleu metric, as evalh's run computed them."""

    def __init__(self, metric: str, signature: str = "") -> None:
        from sacrebleu.metrics import BLEU, CHRF, TER

        cls = {"bleu": BLEU, "chrf": CHRF, "ter": TER}[metric]
        self.metric = cls(**scorer_options(metric, signature))

    def statistics(self, hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> np.ndarray:
        """One row of sufficient statistics per segment (sacrebleu's own extraction)."""
        from harness.metrics.text import reference_streams

        streams = reference_streams([refs or ("",) for refs in references])
        return np.array(self.metric._extract_corpus_statistics(list(hypotheses), streams), dtype=float)

    def score(self, summed: np.ndarray) -> float:
        """The corpus score from statistics summed over segments."""
        return float(self.metric._compute_score_from_stats(list(summed)).score)
