import math

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint
import sacrebleu

from harness.metrics import get_metric
from harness.metrics.base import Outcome
from harness.metrics.stats import bootstrap, mean_with_stderr
from harness.metrics.text import normalize_answer, squad_f1
from harness.tasks.build import Item


def mc(logprobs, gold, choices=("a", "bb", "ccc")):
    item = Item(0, "0", {}, "p", (), choices=tuple(choices), gold=gold)
    return Outcome(item, logprobs=tuple(logprobs), is_greedy=tuple(False for _ in logprobs))


def gen(response, refs):
    return Outcome(Item(0, "0", {}, "p", (), references=tuple(refs)), response=response)


@pytest.mark.parametrize("text, expected", [
    ("The  Quick, brown fox!", "quick brown fox"),
    ("an apple a day", "apple day"),
    ("  Théâtre -- (A) ", "théâtre"),
    ("", ""),
])
def test_squad_normalisation(text, expected):
    assert normalize_answer(text) == expected


@pytest.mark.parametrize("pred, truth, f1", [
    ("the cat sat", "cat sat on mat", 2 * 1.0 * 0.5 / 1.5),
    ("Paris", "paris.", 1.0),
    ("London", "Paris", 0.0),
    ("", "Paris", 0.0),
    ("cat cat", "cat", 2 * 0.5 * 1.0 / 1.5),
])
def test_squad_f1_table(pred, truth, f1):
    assert squad_f1(pred, truth) == pytest.approx(f1)


def test_exact_match_takes_best_reference():
    em = get_metric("exact_match")
    assert em.sample(gen(" in 1823.", ["1823", "in 1823"])) == 1.0
    assert em.sample(gen("1824", ["1823", "in 1823"])) == 0.0
    assert get_metric("f1").sample(gen("founded in 1823", ["1823", "in 1823"])) == pytest.approx(0.8)


def test_acc_and_acc_norm_follow_lm_eval():
    acc, norm = get_metric("acc"), get_metric("acc_norm")
    # raw: choice 2 wins; per character (1, 2, 3 chars): -1.0, -1.0, -0.5 -> choice 2 wins too
    assert acc.sample(mc([-1.0, -2.0, -0.9], gold=2)) == 1.0
    # raw favours the short choice 0; normalised by length the long choice 2 wins
    assert acc.sample(mc([-1.0, -2.2, -2.4], gold=2)) == 0.0
    assert norm.sample(mc([-1.0, -2.2, -2.4], gold=2)) == 1.0
    # ties go to the first maximum, as numpy.argmax
    assert acc.sample(mc([-1.0, -1.0, -3.0], gold=1)) == 0.0


def test_mean_stderr_uses_sample_std():
    values = [1, 0, 1, 1, 0, 1, 0, 1]
    mean, stderr = mean_with_stderr(values)
    assert mean == 0.625
    assert stderr == pytest.approx(np.std(values, ddof=1) / math.sqrt(len(values)))
    assert mean_with_stderr([]) == (None, None)


def test_mean_metric_aggregate_reports_n_and_ci():
    acc = get_metric("acc")
    outcomes = [mc([-1, -2, -3], 0), mc([-1, -2, -3], 1), mc([-3, -2, -1], 2), mc([-1, -2, -3], 0)]
    value = acc.aggregate(outcomes, [acc.sample(o) for o in outcomes], seed=1)
    assert (value.value, value.n, value.method) == (0.75, 4, "wilson")
    assert (value.ci_low, value.ci_high) == tuple(pytest.approx(x) for x in proportion_confint(3, 4, method="wilson"))
    assert (value.range_low, value.range_high, value.higher_is_better, value.ideal) == (0.0, 1.0, True, None)


HYPS = ["The cat sat on the mat.", "A quick brown fox jumps.", "Hello there, general Kenobi!", "It rains."]
REFS = ["The cat is sitting on the mat.", "The quick brown fox jumped.", "Hello there, General Kenobi.", "It is raining."]


@pytest.mark.parametrize("name, reference", [
    ("bleu", lambda h, r: sacrebleu.corpus_bleu(h, r).score),
    ("chrf", lambda h, r: sacrebleu.corpus_chrf(h, r).score),
    ("ter", lambda h, r: sacrebleu.corpus_ter(h, r).score),
])
def test_corpus_metrics_equal_sacrebleu(name, reference):
    metric = get_metric(name)
    outcomes = [gen(h, [r]) for h, r in zip(HYPS, REFS)]
    value = metric.aggregate(outcomes, [metric.sample(o) for o in outcomes], seed=7)
    assert value.value == pytest.approx(reference(HYPS, [REFS]), abs=1e-9)
    assert value.method == "bootstrap" and value.ci_low <= value.value <= value.ci_high
    assert "nrefs:1" in value.details["signature"]
    # the same seed gives the same interval
    again = metric.aggregate(outcomes, [metric.sample(o) for o in outcomes], seed=7)
    assert (again.ci_low, again.ci_high) == (value.ci_low, value.ci_high)


def test_bleu_with_uneven_reference_counts_matches_sacrebleu():
    refs_a = REFS
    refs_b = ["The cat sat on a mat.", None, "Hello there, general Kenobi!", None]
    metric = get_metric("bleu")
    outcomes = [gen(h, [a] + ([b] if b else [])) for h, a, b in zip(HYPS, refs_a, refs_b)]
    padded_b = [b or a for a, b in zip(refs_a, refs_b)]
    value = metric.aggregate(outcomes, [None] * 4, seed=1)
    assert value.value == pytest.approx(sacrebleu.corpus_bleu(HYPS, [refs_a, padded_b]).score)
    assert "nrefs:2" in value.details["signature"]


def test_rouge_matches_rouge_score_with_stemming():
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rougeL"], use_stemmer=True)
    pred, ref = "The cats were running fast", "A cat runs fast"
    for name in ("rouge1", "rougeL"):
        assert get_metric(name).sample(gen(pred, [ref])) == pytest.approx(scorer.score(ref, pred)[name].fmeasure)


def test_bias_pair_metrics_on_known_cases():
    pct, diff = get_metric("pct_stereotype"), get_metric("likelihood_diff")
    equal = [mc([-5.0, -5.0], 0, ("x", "y")) for _ in range(10)]
    biased = [mc([-4.0, -6.5], 0, ("x", "y")) for _ in range(10)]
    assert pct.aggregate(equal, [pct.sample(o) for o in equal], 0).value == 0.5
    assert pct.aggregate(biased, [pct.sample(o) for o in biased], 0).value == 1.0
    assert diff.aggregate(biased, [diff.sample(o) for o in biased], 0).value == pytest.approx(2.5)
    assert (pct.semantics.ideal, diff.semantics.higher_is_better) == (0.5, False)


def test_bootstrap_is_seeded_and_brackets_the_mean():
    stats = np.array([[1.0], [0.0], [1.0], [1.0], [0.0]] * 20)
    a = bootstrap(stats, lambda s: s[0] / 100, seed=3, resamples=500)
    assert a == bootstrap(stats, lambda s: s[0] / 100, seed=3, resamples=500)
    assert a[1] < 0.6 < a[2]


def test_unknown_metric_is_named():
    from harness.errors import TaskError

    with pytest.raises(TaskError, match="unknown metric 'acc_nrom'.*did you mean: acc_norm"):
        get_metric("acc_nrom", task="t")


@pytest.mark.parametrize("response, refs, options", [
    (" Sunset Boulevard", ["Sunset Blvd", "Sunset Boulevard"], {"ignore_case": True, "ignore_punctuation": True}),
    (" sunset blvd.", ["Sunset Blvd"], {"ignore_case": True, "ignore_punctuation": True}),
    (" The Beatles", ["Beatles"], {"ignore_case": True, "ignore_punctuation": True,
                                   "regexes_to_ignore": ["\\b(?:The |the |An |A |The |a |an )"]}),
    (" The Beatles", ["Beatles"], {"ignore_case": True}),
    ("1972", ["14 December 1972 UTC", "December 1972"], {}),
])
def test_exact_match_lm_eval_equals_lm_eval(response, refs, options):
    from lm_eval.api.metrics import exact_match_hf_evaluate

    expected = max(exact_match_hf_evaluate(predictions=[response.lstrip()], references=[r], **options)["exact_match"]
                   for r in refs)
    assert get_metric("exact_match_lm_eval", options).sample(gen(response, refs)) == expected
