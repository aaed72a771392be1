"""The Metric protocol and the per-item Outcome it scores."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.metrics.stats import mean_with_stderr
from harness.results import MetricValue
from harness.tasks.build import Item


@dataclass(frozen=True)
class Outcome:
    """What the model produced for one item."""

    item: Item
    logprobs: tuple[float, ...] | None = None
    is_greedy: tuple[bool, ...] | None = None
    response: str | None = None
    rolling: float | None = None


class Metric:
    """A mean of per-sample scores with the standard error of the mean (lm-eval's stderr).

    Corpus metrics (BLEU, chrF, TER) override `aggregate`: their value is not a mean of sentence scores.
    """

    name: str = ""
    higher_is_better: bool = True

    def sample(self, outcome: Outcome) -> float | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def score_all(self, outcomes: Sequence[Outcome]) -> list[tuple[float | None, dict | None]]:
        """Every outcome's score and, where the metric has one, a record of why (written to samples.jsonl
        under `details`). One call for all outcomes, so a metric that runs programs can run them in
        parallel; by default each outcome's `sample`, without details."""
        return [(self.sample(outcome), None) for outcome in outcomes]

    def aggregate(self, outcomes: Sequence[Outcome], samples: Sequence[float | None], seed: int) -> MetricValue:
        values = [s for s in samples if s is not None]
        mean, stderr = mean_with_stderr(values)
        ci = (mean - 1.96 * stderr, mean + 1.96 * stderr) if mean is not None and stderr is not None else (None, None)
        return MetricValue(value=mean, stderr=stderr, ci_low=ci[0], ci_high=ci[1], n=len(values), method="mean",
                           higher_is_better=self.higher_is_better)
