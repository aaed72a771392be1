"""CrowS-Pairs, WinoBias and probe metrics on hand-built outcomes whose scores are known."""
import numpy as np
import pytest

from harness.metrics import get_metric
from harness.metrics.base import Outcome
from harness.metrics.bias import bootstrap_statistic
from harness.metrics.semantics import PROPORTION
from harness.tasks.build import Item


def outcome(logprobs, row=None, gold=0, choices=None, index=0):
    choices = choices or tuple(f"c{k}" for k in range(len(logprobs)))
    item = Item(index, str(index), row or {}, "", (), choices=tuple(choices), gold=gold)
    return Outcome(item, logprobs=tuple(float(x) for x in logprobs))


def score(name, outcomes, seed=1234, **options):
    metric = get_metric(name, options)
    return metric.aggregate(outcomes, [metric.sample(o) for o in outcomes], seed)


# --- CrowS-Pairs: choice 0 is the more stereotypical sentence -------------------------------------------

def test_equal_likelihoods_score_fifty_percent_stereotype():
    pairs = [outcome([-5.0, -5.0], index=k) for k in range(10)]
    assert score("pct_stereotype", pairs).value == 0.5
    assert score("likelihood_diff", pairs).value == 0.0


def test_fully_biased_model_scores_hundred_percent_and_its_mean_gap():
    pairs = [outcome([-2.0, -2.0 - k], index=k) for k in range(1, 5)]
    assert score("pct_stereotype", pairs).value == 1.0
    assert score("likelihood_diff", pairs).value == pytest.approx(2.5)
    anti = [outcome([-3.0, -1.0], index=k) for k in range(4)]
    assert score("pct_stereotype", anti).value == 0.0


def test_pct_stereotype_mean_and_stderr():
    pairs = [outcome([-1.0, -2.0]), outcome([-2.0, -1.0]), outcome([-1.0, -3.0]), outcome([-4.0, -1.0])]
    value = score("pct_stereotype", pairs)
    assert value.value == 0.5 and value.n == 4
    assert value.stderr == pytest.approx(np.std([1, 0, 1, 0], ddof=1) / 2)


# --- the shared bootstrap -------------------------------------------------------------------------------

def test_bootstrap_statistic_is_seeded_and_brackets_the_value():
    stats = np.array([[1.0, 1.0], [0.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
    ratio = lambda s: s[0] / s[1]  # noqa: E731
    first = bootstrap_statistic(stats, ratio, seed=7, semantics=PROPORTION)
    again = bootstrap_statistic(stats, ratio, seed=7, semantics=PROPORTION)
    assert first.value == 0.75 and first.n == 4 and first.method == "bootstrap"
    assert (first.ci_low, first.ci_high, first.stderr) == (again.ci_low, again.ci_high, again.stderr)
    assert 0.0 <= first.ci_low <= 0.75 <= first.ci_high == 1.0
    one = bootstrap_statistic(stats[:1], ratio, seed=7, semantics=PROPORTION)
    assert one.value == 1.0 and one.ci_low is None
    empty = bootstrap_statistic(np.zeros((0, 2)), ratio, seed=7, semantics=PROPORTION)
    assert empty.value is None and empty.n == 0


# --- WinoBias: rows say pro/anti through their source file ---------------------------------------------

PRO, ANTI = {"_file": "pro_stereotyped_type1.txt.test"}, {"_file": "anti_stereotyped_type1.txt.test"}


def test_winobias_model_right_only_on_pro_sentences_has_gap_one():
    items = [outcome([-1.0, -2.0], PRO, gold=0, index=k) for k in range(3)]
    items += [outcome([-1.0, -2.0], ANTI, gold=1, index=3 + k) for k in range(3)]
    assert score("winobias_acc_pro", items).value == 1.0
    assert score("winobias_acc_anti", items).value == 0.0
    gap = score("winobias_gap", items)
    assert gap.value == 1.0 and gap.n == 6 and gap.details == {"resamples": 1000, "n_pro": 3, "n_anti": 3}
    assert gap.ci_low == pytest.approx(1.0) and gap.ci_high == pytest.approx(1.0)


def test_winobias_unbiased_model_has_gap_zero_and_mixed_accuracies():
    items = [outcome([-1.0, -2.0], PRO, gold=g, index=k) for k, g in enumerate([0, 1, 0, 1])]
    items += [outcome([-1.0, -2.0], ANTI, gold=g, index=4 + k) for k, g in enumerate([1, 0, 0, 1])]
    assert score("winobias_acc_pro", items).value == 0.5
    assert score("winobias_acc_anti", items).value == 0.5
    gap = score("winobias_gap", items)
    assert gap.value == 0.0 and gap.ci_low < 0.0 < gap.ci_high


def test_winobias_gap_is_undefined_without_anti_sentences():
    gap = score("winobias_gap", [outcome([-1.0, -2.0], PRO, index=k) for k in range(3)])
    assert gap.value is None


# --- YAML probes: disparity of group mean log-probabilities --------------------------------------------

def probe(values):
    """values: {(group, template): logprob}."""
    return [outcome([lp], {"group": g, "template_id": t}, index=k) for k, ((g, t), lp) in enumerate(values.items())]


def test_probe_disparity_is_max_minus_min_of_group_means_with_template_bootstrap():
    rows = probe({("men", 0): -1.0, ("men", 1): -2.0, ("women", 0): -2.0, ("women", 1): -4.0})
    value = score("probe_disparity", rows)
    assert value.value == pytest.approx(1.5)  # men -1.5, women -3.0
    assert value.details["group_means"] == {"men": -1.5, "women": -3.0}
    assert (value.details["max_group"], value.details["min_group"]) == ("men", "women")
    # resampling templates can only give 1.0 (template 0 twice), 1.5 or 2.0 (template 1 twice)
    assert 1.0 <= value.ci_low <= 1.5 <= value.ci_high <= 2.0
    assert value.n == 4 and value.details["templates"] == 2
    assert score("probe_logprob", rows).value == pytest.approx(-2.25)


def test_probe_disparity_zero_for_equal_groups_and_undefined_for_one_group():
    equal = probe({("a", 0): -1.0, ("a", 1): -3.0, ("b", 0): -1.0, ("b", 1): -3.0, ("c", 0): -1.0, ("c", 1): -3.0})
    value = score("probe_disparity", equal)
    assert value.value == 0.0 and value.ci_high == pytest.approx(0.0, abs=1e-12)
    one = score("probe_disparity", probe({("a", 0): -1.0, ("a", 1): -3.0}))
    assert one.value is None and one.details["group_means"] == {"a": -2.0}
