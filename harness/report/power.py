"""Power of paired comparisons: the minimum detectable effect of a comparison, and the items a planned one needs.

For paired 0/1 scores (McNemar) with discordant share psi (items scored differently by the two runs) and a
difference delta, Connor's (1987) normal approximation gives the items needed at two-sided level alpha:

    n = (z_{1-alpha/2} sqrt(psi) + z_{power} sqrt(psi - delta^2))^2 / delta^2

and, read the other way, the smallest delta detectable with n items. Without a pilot run, psi is taken from
the two accuracies as if their errors were independent, p1 (1 - p2) + p2 (1 - p1): models' errors overlap
in practice, so the real discordance is usually lower and this n is on the safe side.

For other metrics the bootstrap's standard error of the difference, se, gives (z_{1-alpha/2} + z_power) se.
"""
from __future__ import annotations

import math

from harness.errors import EvalhError
from harness.metrics.stats import z_value


def independent_discordance(baseline_acc: float, candidate_acc: float) -> float:
    """The discordant share of two models with these accuracies whose errors are independent."""
    return baseline_acc * (1 - candidate_acc) + candidate_acc * (1 - baseline_acc)


def mcnemar_items(discordance: float, drop: float, *, alpha: float = 0.05, power: float = 0.8) -> int:
    """Items needed to detect a difference of `drop` with McNemar's test (Connor 1987), rounded up."""
    if not 0 < drop <= 1:
        raise EvalhError(f"drop must be in (0, 1], got {drop}")
    if not drop <= discordance <= 1:
        raise EvalhError(f"discordance {discordance} must be at least the drop {drop} (a difference needs at "
                         "least that share of items scored differently) and at most 1")
    z_a, z_b = z_value(alpha), z_value(2 * (1 - power))
    n = (z_a * math.sqrt(discordance) + z_b * math.sqrt(discordance - drop**2)) ** 2 / drop**2
    return math.ceil(n - 1e-9)


def mcnemar_mde(n: int, discordance: float, *, alpha: float = 0.05, power: float = 0.8) -> float | None:
    """The smallest |difference| McNemar's test detects with `power` on n items at this discordance;
    None when none can be (even the largest difference this discordance allows is too small).

    With no discordant item there is no discordance to plan with; the answer is then the smallest change
    the exact test can detect at all, k/n with k the fewest items all changing one way that give p < alpha."""
    from scipy.optimize import brentq

    if n <= 0:
        return None
    if discordance <= 0:
        fewest = math.ceil(math.log2(2 / alpha) + 1e-12)  # 2 * 0.5^k < alpha
        return fewest / n if fewest <= n else None
    z_a, z_b = z_value(alpha), z_value(2 * (1 - power))

    def gap(delta: float) -> float:
        return math.sqrt(n) * delta - z_a * math.sqrt(discordance) - z_b * math.sqrt(max(discordance - delta**2, 0))

    largest = min(discordance, 1.0)
    if gap(largest) < 0:
        return None
    return float(brentq(gap, 1e-12, largest)) if gap(1e-12) < 0 else 0.0


def bootstrap_mde(stderr: float, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest |difference| a test with this standard error of the difference detects with `power`."""
    return (z_value(alpha) + z_value(2 * (1 - power))) * stderr
