"""pass@k: the unbiased estimator of Chen et al. 2021 against its closed form, 1 - C(n-c, k) / C(n, k)."""
from __future__ import annotations

from math import comb

import pytest

from harness.metrics.code import pass_at_k

TABLE = [  # n, c, k
    (1, 0, 1), (1, 1, 1), (5, 0, 1), (5, 2, 1), (5, 5, 1), (10, 3, 5), (10, 7, 5), (10, 1, 10),
    (20, 4, 10), (100, 13, 1), (100, 13, 10), (100, 13, 100), (200, 1, 100), (200, 150, 50), (7, 2, 3)]


@pytest.mark.parametrize("n,c,k", TABLE)
def test_pass_at_k_equals_the_closed_form(n, c, k):
    assert pass_at_k(n, c, k) == pytest.approx(1 - comb(n - c, k) / comb(n, k), rel=1e-12, abs=1e-15)


def test_known_values():
    assert pass_at_k(1, 1, 1) == 1.0 and pass_at_k(1, 0, 1) == 0.0
    assert pass_at_k(5, 2, 1) == pytest.approx(0.4)  # pass@1 is the fraction that passes
    assert pass_at_k(4, 1, 2) == pytest.approx(0.5)  # 1 - C(3,2)/C(4,2) = 1 - 3/6
    assert pass_at_k(10, 8, 3) == 1.0  # fewer than k failures: some draw of k always passes


@pytest.mark.parametrize("n,c,k", [(1, 2, 1), (3, -1, 1), (3, 1, 0), (3, 1, 5)])
def test_impossible_counts_are_clear_errors(n, c, k):
    with pytest.raises(ValueError, match="pass@"):
        pass_at_k(n, c, k)
