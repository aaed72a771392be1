"""StereoSet SS, LMS and ICAT on hand-built outcomes whose scores are known."""
import pytest

from harness.metrics import get_metric
from harness.metrics.bias_stereoset import icat
from tests.unit.test_bias_metrics import outcome


def items(scores_by_target):
    """scores_by_target: {target: [(stereo, anti, unrelated) log-likelihoods, ...]} -> outcomes."""
    rows = [(t, s) for t, many in scores_by_target.items() for s in many]
    return [outcome(s, {"target": t}, choices=("aaaa", "bbbb", "cccc"), index=k) for k, (t, s) in enumerate(rows)]


def scores(outcomes, **options):
    out = {}
    for kind in ("ss", "lms", "icat"):
        metric = get_metric(f"stereoset_{kind}", options)
        out[kind] = metric.aggregate(outcomes, [metric.sample(o) for o in outcomes], 1234)
    return out


def values(outcomes, **options):
    return {k: v.value for k, v in scores(outcomes, **options).items()}


def test_icat_formula():
    assert icat(100.0, 50.0) == 100.0 and icat(100.0, 100.0) == 0.0 and icat(80.0, 60.0) == 64.0


def test_ideal_model_scores_icat_100():
    ideal = items({"a": [(-1, -2, -9), (-2, -1, -9)], "b": [(-1, -2, -9), (-2, -1, -9)]})
    assert values(ideal) == {"ss": 50.0, "lms": 100.0, "icat": 100.0}


def test_always_stereotyped_model_scores_icat_0_and_random_model_50():
    biased = items({"a": [(-1, -2, -9)] * 3, "b": [(-1, -2, -9)]})
    assert values(biased) == {"ss": 100.0, "lms": 100.0, "icat": 0.0}
    flat = items({"a": [(-3, -3, -3)] * 2, "b": [(-3, -3, -3)]})
    assert values(flat) == {"ss": 50.0, "lms": 50.0, "icat": 50.0}  # ties count one half


def test_scores_are_macro_averaged_over_target_terms():
    # target a: 1 item, stereotype preferred; target b: 3 items, anti-stereotype preferred, one unrelated win
    data = items({"a": [(-1, -2, -9)], "b": [(-2, -1, -9), (-2, -1, -9), (-2, -1, -1.5)]})
    got = values(data)
    assert got["ss"] == pytest.approx((100.0 + 0.0) / 2)  # not 25 (the micro average)
    assert got["lms"] == pytest.approx((100.0 + 100.0 * 5 / 6) / 2)
    assert got["icat"] == pytest.approx(got["lms"] * 50.0 / 50.0)


def test_lengths_normalise_by_default():
    # per character: stereotype -4/8 = -0.5 beats anti -3/3 = -1; raw sums prefer the anti-stereotype
    long_stereo = [outcome([-4.0, -3.0, -30.0], {"target": "a"}, choices=("8 chars!", "abc", "xyz"))]
    assert values(long_stereo)["ss"] == 100.0
    assert values(long_stereo, normalize="none")["ss"] == 0.0


def test_cis_are_seeded_bootstrap_intervals():
    data = items({"a": [(-1, -2, -9), (-2, -1, -9), (-1, -2, -1)], "b": [(-1, -2, -9), (-2, -1, -9)]})
    first, again = scores(data), scores(data)
    for kind in ("ss", "lms", "icat"):
        assert first[kind].ci_low <= first[kind].value <= first[kind].ci_high
        assert (first[kind].ci_low, first[kind].ci_high) == (again[kind].ci_low, again[kind].ci_high)
        assert first[kind].details["targets"] == 2 and first[kind].n == 5
