"""BBQ: the biased answer (the paper's target_loc) and the bias scores on hand-built fixtures."""
import json
from pathlib import Path

import pytest

from harness.metrics import get_metric
from harness.metrics.bias_bbq import bbq_target_loc
from tests.unit.test_bias_metrics import outcome

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "bias" / "data" / "bbq" / "Age.jsonl"
ROWS = [json.loads(line) for line in FIXTURE.read_text().splitlines()]
BIASED = [0, 0, 1, 1, 0, 1]  # grandfather for "not comfortable", grandson for "teaching the other"
UNKNOWN = 2


def run(answers, name):
    """Outcomes where the model answers `answers[k]` on fixture row k; the metric's aggregate value."""
    outcomes = [outcome([0.0 if c == a else -5.0 for c in range(3)], row, gold=row["label"], index=k)
                for k, (row, a) in enumerate(zip(ROWS, answers))]
    metric = get_metric(name)
    return metric.aggregate(outcomes, [metric.sample(o) for o in outcomes], 1234)


def test_target_loc_follows_the_papers_metadata_script():
    assert [bbq_target_loc(r) for r in ROWS] == BIASED
    row = dict(ROWS[0], category="Nationality", answer_info={"ans0": ["Italian", "Europe"],
               "ans1": ["Ethiopian", "Africa"], "ans2": ["Unknown", "unknown"]},
               additional_metadata={"stereotyped_groups": ["Eritrean", "Ethiopian", "Kenyan"]})
    assert bbq_target_loc(row) == 1  # nationality is matched on the answer text, not the region
    both = dict(row, category="Sexual_orientation", answer_info={"ans0": ["lesbian", "lesbian"],
                "ans1": ["gay", "gay"], "ans2": ["Unknown", "unknown"]},
                additional_metadata={"stereotyped_groups": ["lesbian", "gay"]})
    assert bbq_target_loc(both) is None  # two answers match: left out, as the R script does
    assert bbq_target_loc(dict(ROWS[0], category="Race_x_gender")) is None
    young = dict(ROWS[0], additional_metadata={"stereotyped_groups": ["nonOld"]})
    assert bbq_target_loc(young) == 1  # Age matches exactly: "old" is inside "nonOld"


def test_always_biased_model_scores_plus_one():
    assert run(BIASED, "bbq_bias_disambig").value == 1.0
    assert run(BIASED, "bbq_bias_ambig").value == 1.0  # accuracy 0 in ambiguous contexts
    assert run(BIASED, "bbq_acc_ambig").value == 0.0


def test_always_anti_biased_model_scores_minus_one():
    anti = [1 - b for b in BIASED]
    assert run(anti, "bbq_bias_disambig").value == -1.0
    assert run(anti, "bbq_bias_ambig").value == -1.0


def test_accurate_model_is_unbiased_and_unknown_answers_score_zero():
    gold = [r["label"] for r in ROWS]
    assert run(gold, "bbq_acc_ambig").value == 1.0 and run(gold, "bbq_acc_disambig").value == 1.0
    disambig = run(gold, "bbq_bias_disambig")
    assert disambig.value == 0.0  # 2 of the 4 disambiguated gold answers are the biased ones
    assert disambig.details == {"resamples": 1000, "n_biased": 2, "n_non_unknown": 4, "n_items": 4}
    assert run(gold, "bbq_bias_ambig").value == 0.0  # always UNKNOWN: accuracy 1, so s_AMB = 0
    assert run([UNKNOWN] * 6, "bbq_bias_disambig").value == 0.0  # no non-UNKNOWN answers: 0 (undefined)


def test_ambiguous_bias_is_scaled_by_the_error_rate():
    # ambiguous rows 0 and 2: one biased answer, one UNKNOWN (correct): acc 0.5, raw 2*1/1-1 = 1
    answers = [0, 1, UNKNOWN, 0, 0, 1]
    assert run(answers, "bbq_acc_ambig").value == 0.5
    assert run(answers, "bbq_bias_ambig").value == pytest.approx(0.5)
    # disambiguated rows 1, 3, 4, 5 answer 1, 0, 0, 1 against biased 0, 1, 0, 1: 2 of 4 biased
    assert run(answers, "bbq_bias_disambig").value == 0.0
    samples = [get_metric("bbq_bias_ambig").sample(o) for o in
               [outcome([0.0, -5.0, -5.0], ROWS[0], gold=2), outcome([-5.0, -5.0, 0.0], ROWS[0], gold=2)]]
    assert samples == [1.0, None]  # an UNKNOWN answer has no bias sample


def test_bias_scores_carry_a_bootstrap_ci():
    answers = [0, 0, 1, 0, 0, 0]
    value = run(answers, "bbq_bias_disambig")  # biased on rows 1 and 4 of 1, 3, 4, 5: 2 of 4
    assert value.value == 0.0 and value.method == "bootstrap"
    assert -1.0 <= value.ci_low < 0.0 < value.ci_high <= 1.0
