"""Paired tests of `evalh compare` against reference computations (scipy, statsmodels, sacrebleu)."""
import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests

from harness.report.corpus import CorpusScorer, parse_signature, scorer_options
from harness.report.paired import (holm, mcnemar_pvalue, mcnemar_test, paired_bootstrap_corpus,
                                   paired_bootstrap_mean)


@pytest.mark.parametrize("lost,gained", [(0, 0), (1, 0), (10, 0), (7, 2), (3, 9), (12, 12), (0, 24), (25, 0),
                                         (20, 10), (40, 61), (300, 250)])
def test_exact_mcnemar_matches_binomtest_and_statsmodels(lost, gained):
    p = mcnemar_pvalue(lost, gained)
    reference = mcnemar([[50, lost], [gained, 50]], exact=True).pvalue
    assert p == pytest.approx(reference, rel=1e-12, abs=1e-15)
    if lost + gained:
        assert p == pytest.approx(stats.binomtest(min(lost, gained), lost + gained, 0.5).pvalue, rel=1e-12)


def test_mcnemar_known_values():
    assert mcnemar_pvalue(10, 0) == pytest.approx(2 * 0.5**10)           # 0.001953125
    assert mcnemar_pvalue(5, 0) == pytest.approx(0.0625)


def test_mcnemar_test_delta_and_exact_interval():
    base = [1] * 40 + [0] * 10 + [1] * 6 + [0] * 4   # 60 items: 6 lost (1 -> 0), 2 gained (0 -> 1)
    cand = [1] * 40 + [0] * 10 + [0] * 6 + [1] * 2 + [0] * 2
    result = mcnemar_test(base, cand)
    assert result.delta == pytest.approx(-4 / 60)
    # Clopper-Pearson interval of the gained share among the 8 discordant items, mapped to 8/60 * (2q - 1)
    low_q, high_q = stats.binomtest(2, 8).proportion_ci(0.95, method="exact")
    assert (result.ci_low, result.ci_high) == (pytest.approx(8 / 60 * (2 * low_q - 1)),
                                               pytest.approx(8 / 60 * (2 * high_q - 1)))
    assert result.p_value == pytest.approx(stats.binomtest(2, 8, 0.5).pvalue)


def test_holm_matches_statsmodels():
    p = [0.01, 0.04, 0.03, 0.005, 0.2, 0.9]
    assert holm(p) == pytest.approx(list(multipletests(p, method="holm")[1]))
    assert holm([]) == []


def test_paired_bootstrap_mean():
    rng = np.random.default_rng(0)
    base = rng.uniform(0, 1, 200)
    same = paired_bootstrap_mean(base, base)
    assert (same.delta, same.ci_low, same.ci_high, same.p_value) == (0, 0, 0, 1.0)
    # the interval is the test's own: it excludes 0 exactly when p < alpha
    cand = base - 0.1 + rng.normal(0, 0.05, 200)
    worse = paired_bootstrap_mean(base, cand, resamples=2000)
    assert worse.delta == pytest.approx(float(np.mean(cand - base)), abs=1e-12)
    assert worse.ci_low < worse.delta < worse.ci_high < 0
    assert worse.p_value == pytest.approx(1 / 2001)  # no resample as extreme as the observed drop
    noise = paired_bootstrap_mean(base, base + rng.normal(0, 0.05, 200), resamples=2000, seed=1)
    assert noise.p_value > 0.05 and noise.ci_low < 0 < noise.ci_high


def test_signature_round_trip():
    assert parse_signature("nrefs:1|case:mixed|eff:no|tok:zh|smooth:exp|version:2.6.0")["tok"] == "zh"
    assert scorer_options("bleu", "nrefs:1|case:lc|eff:no|tok:13a|smooth:floor[0.10]|version:2.6.0") == {
        "lowercase": True, "tokenize": "13a", "smooth_method": "floor", "smooth_value": 0.1, "effective_order": False}
    assert scorer_options("chrf", "nrefs:1|case:mixed|eff:yes|nc:6|nw:2|space:no|version:2.6.0")["word_order"] == 2


@pytest.mark.parametrize("metric", ["bleu", "chrf", "ter"])
def test_corpus_bootstrap_recomputes_sacrebleu(metric):
    import sacrebleu

    refs = [f"the cat number {i} sat on the mat near the door" for i in range(60)]
    base = [r if i % 3 else r.replace("cat", "dog") for i, r in enumerate(refs)]
    cand = [r.replace("mat", "rug").replace("door", "window") if i % 2 else r for i, r in enumerate(base)]
    reference = {"bleu": sacrebleu.corpus_bleu, "chrf": sacrebleu.corpus_chrf, "ter": sacrebleu.corpus_ter}[metric]
    scorer = CorpusScorer(metric)
    stats_b, stats_c = scorer.statistics(base, [[r] for r in refs]), scorer.statistics(cand, [[r] for r in refs])
    assert scorer.score(stats_b.sum(axis=0)) == pytest.approx(reference(base, [refs]).score)
    result = paired_bootstrap_corpus(stats_b, stats_c, scorer.score, resamples=300)
    expected = reference(cand, [refs]).score - reference(base, [refs]).score
    assert result.delta == pytest.approx(expected)
    assert result.ci_low <= result.delta <= result.ci_high
    assert result.p_value < 0.01  # half the segments lost two words: a clear, consistent change
