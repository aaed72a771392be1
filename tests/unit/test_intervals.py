"""Intervals of aggregate scores against independent implementations (statsmodels, scipy), and a property
test: over many random paired datasets no interval leaves its range and no verdict contradicts its interval."""
import math

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from harness.metrics import get_metric
from harness.metrics.base import mean_value, with_clusters
from harness.metrics.semantics import PROPORTION, Semantics
from harness.metrics.stats import bootstrap, clustered_stderr, wilson_interval
from harness.report.compare import NO_CHANGE, TaskComparison, decide
from harness.report.paired import holm, mcnemar_test, paired_bootstrap_corpus, paired_bootstrap_mean
from harness.report.power import mcnemar_mde


@pytest.mark.parametrize("k,n", [(0, 1), (1, 1), (0, 10), (10, 10), (3, 4), (17, 48), (250, 500), (1, 499)])
def test_wilson_interval_equals_statsmodels(k, n):
    reference = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert wilson_interval(k, n) == (pytest.approx(reference[0], abs=1e-12), pytest.approx(reference[1], abs=1e-12))
    value = mean_value([1.0] * k + [0.0] * (n - k), PROPORTION, seed=0)
    assert value.method == "wilson" and (value.ci_low, value.ci_high) == tuple(pytest.approx(r) for r in reference)


@pytest.mark.parametrize("values", [[0.0], [1.0], [0.0] * 7, [1.0] * 7])
def test_edges_stay_in_range(values):
    value = mean_value(values, PROPORTION, seed=0)
    assert 0.0 <= value.ci_low <= value.value <= value.ci_high <= 1.0
    constant = mean_value([0.25] * 6, PROPORTION, seed=0)  # a constant non-0/1 score: a zero-width interval
    assert (constant.ci_low, constant.value, constant.ci_high) == (0.25, 0.25, 0.25)
    single = mean_value([0.25], PROPORTION, seed=0)  # one item says nothing about the spread: the whole range
    assert (single.ci_low, single.ci_high) == (0.0, 1.0)


def test_clustered_stderr_equals_statsmodels_cluster_robust_ols():
    rng = np.random.default_rng(3)
    groups = np.repeat(np.arange(30), rng.integers(1, 9, size=30))
    effect = rng.normal(0, 1, size=30)[groups]
    y = (rng.normal(0, 1, size=len(groups)) + effect > 0).astype(float)
    fit = sm.OLS(y, np.ones((len(y), 1))).fit(cov_type="cluster", cov_kwds={"groups": groups})
    assert clustered_stderr(y, groups) == pytest.approx(float(fit.bse[0]), rel=1e-10)
    naive = sm.OLS(y, np.ones((len(y), 1))).fit()
    value = with_clusters(mean_value(list(y), PROPORTION, seed=0), list(y), list(groups), seed=0)
    assert value.stderr == pytest.approx(float(fit.bse[0]), rel=1e-10)
    assert value.stderr_naive == pytest.approx(float(naive.bse[0]), rel=1e-10)
    assert value.design_effect == pytest.approx((fit.bse[0] / naive.bse[0]) ** 2, rel=1e-10)
    assert value.method == "wilson+cluster" and 0.0 <= value.ci_low <= value.value <= value.ci_high <= 1.0
    assert clustered_stderr([1.0, 0.0], ["a", "a"]) is None  # one cluster: not identified


def test_bootstrap_of_a_bounded_mean_agrees_with_scipy():
    f1 = get_metric("f1")
    scores = [0.0] * 40 + [0.5] * 3 + [1.0]  # skewed at the lower edge: a normal interval would go below 0
    value = f1.aggregate([], scores, seed=11)
    reference = stats.bootstrap((np.array(scores),), np.mean, n_resamples=4000, method="percentile",
                                rng=np.random.default_rng(99))
    tolerance = 0.3 * reference.standard_error  # Monte-Carlo error of a 2.5% quantile from 1000 resamples
    assert value.ci_low == pytest.approx(reference.confidence_interval.low, abs=tolerance)
    assert value.ci_high == pytest.approx(reference.confidence_interval.high, abs=tolerance)
    assert value.ci_low >= 0.0


def test_corpus_bootstrap_agrees_with_scipy_paired_resamples():
    rng = np.random.default_rng(5)
    ll, words = -rng.gamma(5, 20, size=80), rng.integers(20, 200, size=80).astype(float)
    ours = bootstrap(np.column_stack([ll, words]), lambda s: math.exp(-s[0] / s[1]), seed=1, resamples=2000)
    reference = stats.bootstrap((ll, words), lambda a, b: math.exp(-a.sum() / b.sum()), paired=True,
                                vectorized=False, n_resamples=2000, method="percentile", rng=np.random.default_rng(2))
    tolerance = 0.3 * reference.standard_error
    assert ours[1] == pytest.approx(reference.confidence_interval.low, abs=tolerance)
    assert ours[2] == pytest.approx(reference.confidence_interval.high, abs=tolerance)
    assert ours[0] == pytest.approx(reference.standard_error, rel=0.15)


def _paired(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """0/1 scores of two runs with random accuracies and a random overlap of their answers."""
    base = (rng.random(n) < rng.uniform(0, 1)).astype(float)
    fresh = (rng.random(n) < rng.uniform(0, 1)).astype(float)
    return base, np.where(rng.random(n) < rng.uniform(0, 1), base, fresh)


def _row(test, semantics: Semantics, n: int) -> TaskComparison:
    return TaskComparison("m", "t", "acc", n, 0.0, 0.0, semantics, test, mde=mcnemar_mde(n, test.noise))


def _check(row: TaskComparison, width: float) -> None:
    """The verdict and the interval shown with it say the same thing; the interval stays in its range."""
    low, high = row.result.ci_low, row.result.ci_high
    assert -width - 1e-12 <= low <= row.result.delta <= high <= width + 1e-12
    if row.verdict == NO_CHANGE:
        assert low <= 0 <= high, row
    else:
        assert (low > 0 or high < 0) and (row.better > 0) == (row.verdict == "improvement"), row


def test_property_intervals_in_range_and_verdicts_agree_with_intervals():
    rng = np.random.default_rng(20240601)
    checked = 0
    for _ in range(20):  # batches of 50 tasks, Holm-corrected together as `evalh compare` does
        rows = []
        for _ in range(50):
            n = int(rng.integers(1, 501))
            base, cand = _paired(rng, n)
            for scores in (base, cand):
                value = mean_value(list(scores), PROPORTION, seed=0)
                assert 0.0 <= value.ci_low <= value.value <= value.ci_high <= 1.0
            rows.append(_row(mcnemar_test(base, cand), PROPORTION, n))
        adjusted = holm([r.result.p_value for r in rows])
        for row, p in zip(rows, adjusted):
            _check(decide(row, p, 0.05, 0.0), 1.0)
            checked += 1
    ideal = Semantics(0.0, 1.0, ideal=0.5)
    for _ in range(100):  # bounded continuous scores, and a metric judged by its distance to an ideal value
        n = int(rng.integers(1, 501))
        base = rng.beta(rng.uniform(0.2, 3), rng.uniform(0.2, 3), size=n)
        cand = np.clip(base + rng.normal(rng.uniform(-0.2, 0.2), rng.uniform(0, 0.3), size=n), 0, 1)
        value = mean_value(list(base), PROPORTION, seed=1)
        assert 0.0 <= value.ci_low <= value.ci_high <= 1.0
        mean_test = paired_bootstrap_mean(base, cand, resamples=200, seed=n, bound=1.0)
        row = TaskComparison("m", "t", "f1", n, 0.0, 0.0, PROPORTION, mean_test)
        _check(decide(row, mean_test.p_value, 0.05, 0.0), 1.0)
        b, c = _paired(rng, n)
        ones = np.ones(n)
        distance = paired_bootstrap_corpus(np.column_stack([b, ones]), np.column_stack([c, ones]),
                                           lambda s: abs(s[0] / s[1] - 0.5), resamples=200, seed=n, bound=1.0)
        row = TaskComparison("m", "t", "pct_stereotype", n, 0.0, 0.0, ideal, distance)
        _check(decide(row, distance.p_value, 0.05, 0.0), 1.0)
        checked += 2
    assert checked >= 1000


def test_a_metric_with_a_bare_higher_is_better_flag_is_a_clear_error(monkeypatch):
    from harness.errors import TaskError
    from harness.metrics import _FACTORIES
    from harness.metrics.base import Metric

    class Old(Metric):
        name = "old"
        higher_is_better = False

    monkeypatch.setitem(_FACTORIES, "old", Old)
    with pytest.raises(TaskError, match="metric 'old' sets higher_is_better; declare its range"):
        get_metric("old", task="t")


@pytest.mark.parametrize("options,message", [
    ({"low": 1.0, "high": 0.0}, "low 1.0 must be below high 0.0"),
    ({"low": 0.0, "high": 1.0, "ideal": 2.0}, "ideal value 2.0 lies outside its range"),
])
def test_bad_semantics_name_the_value(options, message):
    with pytest.raises(ValueError, match=message):
        Semantics(**options)
