"""What a metric's numbers mean: the range they live in, and which of them is best.

A metric declares this once (`Metric.semantics`); results.json carries it with every value, and everything
that ranks, colours, draws or gates reads it from there: the CLI table, the leaderboard's best/tied cells
and sorting, summary.md, plots and `evalh compare`'s verdict.

Best is either a direction (higher or lower is better) or an ideal value: pct_stereotype is best at 0.5,
StereoSet SS at 50, a bias score at 0. For an ideal-value metric, getting better means getting closer to
the ideal and a regression is moving away from it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Semantics:
    """Range [low, high] (None: unbounded on that side) and either a direction or an ideal value."""

    low: float | None = 0.0
    high: float | None = 1.0
    higher_is_better: bool = True
    ideal: float | None = None

    def __post_init__(self) -> None:
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ValueError(f"metric range: low {self.low} must be below high {self.high}")
        if self.ideal is not None and not self.contains(self.ideal):
            raise ValueError(f"metric ideal value {self.ideal} lies outside its range [{self.low}, {self.high}]")

    @classmethod
    def of(cls, value: Any) -> Semantics:
        """The semantics recorded with a MetricValue (or a report Cell)."""
        return cls(value.range_low, value.range_high, value.higher_is_better, value.ideal)

    def fields(self) -> dict[str, Any]:
        """The MetricValue fields that record these semantics."""
        return {"range_low": self.low, "range_high": self.high, "higher_is_better": self.higher_is_better,
                "ideal": self.ideal}

    def contains(self, value: float) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def clip(self, value: float) -> float:
        """The nearest value inside the range (intervals built near an edge may step over it by rounding)."""
        if self.low is not None:
            value = max(self.low, value)
        if self.high is not None:
            value = min(self.high, value)
        return value

    @property
    def width(self) -> float | None:
        """high - low, None when unbounded."""
        return None if self.low is None or self.high is None else self.high - self.low

    def goodness(self, value: float) -> float:
        """A number that is larger the better `value` is: value, -value, or -(distance to the ideal)."""
        if self.ideal is not None:
            return -abs(value - self.ideal)
        return value if self.higher_is_better else -value

    def improvement(self, base: float, cand: float) -> float:
        """How much better cand is than base (negative: worse), in the metric's units."""
        return self.goodness(cand) - self.goodness(base)

    def describe(self) -> str:
        """'higher is better', 'lower is better' or 'best at 0.5'."""
        if self.ideal is not None:
            return f"best at {self.ideal:g}"
        return "higher is better" if self.higher_is_better else "lower is better"

    def marker(self) -> str:
        """A short table-header marker: '' (higher is better), ' ↓', or ' →0.5'."""
        if self.ideal is not None:
            return f" →{self.ideal:g}"
        return "" if self.higher_is_better else " ↓"


PROPORTION = Semantics(0.0, 1.0)
"""A share of items, higher is better (accuracy, exact match, F1)."""
UNBOUNDED_LOWER = Semantics(0.0, None, higher_is_better=False)
"""A non-negative score where lower is better (likelihood differences, TER, bits per byte)."""


def finite_or_none(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None
