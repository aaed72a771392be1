"""MT-Bench single-answer grading: a judge model rates each turn 1-10 (Zheng et al. 2023, FastChat llm_judge).

The judge's reply must carry the rating as "[[N]]" (FastChat's `one_score_pattern`); FastChat falls back
to "[N]" anywhere in the reply, which also matches citations like "[1]", so here the fallback only
accepts a rating the reply names as one ("Rating: 7", "Rating: [7]", "rating: 7/10") or a "[N]" that opens
the reply (small judges often answer "[5]" and explain after it; a citation does not come first). Several
different ratings in one reply, a rating outside 1-10, or none at all make the judgement unparseable: it
is counted and reported (`details.unparseable`), never scored.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.metrics.base import Metric, Outcome, mean_value
from harness.metrics.semantics import Semantics
from harness.results import MetricValue

_DOUBLE = re.compile(r"\[\[\s*(\d+(?:\.\d+)?)\s*\]\]")
_LEADING = re.compile(r"\A\s*\[\s*(\d+(?:\.\d+)?)\s*\](?!\])")
_NAMED = re.compile(r"\brating\b\s*(?:is|of|=|:)?\s*\[?\s*(\d+(?:\.\d+)?)\s*\]?(?:\s*/\s*10)?", re.IGNORECASE)


@dataclass(frozen=True)
class Rating:
    """A parsed judge reply: the rating, or why there is none."""

    value: float | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.value is not None


def parse_rating(reply: str) -> Rating:
    """The 1-10 rating in a judge's reply (module docstring for the rules)."""
    found = {float(m) for m in _DOUBLE.findall(reply or "")}
    if len(found) > 1:
        return Rating(None, f"conflicting ratings {sorted(found)}")
    if not found:
        named = {float(m) for m in _NAMED.findall(reply or "")} | {float(m) for m in _LEADING.findall(reply or "")}
        if len(named) != 1:
            return Rating(None, "no [[rating]]" if not named else f"conflicting ratings {sorted(named)}")
        found = named
    value = found.pop()
    if not 1.0 <= value <= 10.0 or not math.isfinite(value):
        return Rating(None, f"rating {value:g} is outside 1-10")
    return Rating(value)


@dataclass(frozen=True)
class Judgement:
    """One judged turn: what the judge said and what was read from it."""

    turn: int
    reply: str
    rating: Rating

    def record(self) -> dict:
        return {"turn": self.turn, "rating": self.rating.value, "error": self.rating.error, "reply": self.reply}


@dataclass(frozen=True)
class DialogueOutcome(Outcome):
    """A multi-turn outcome: the model's answer to each user turn and the judge's grading of each."""

    answers: tuple[str, ...] = ()
    judgements: tuple[Judgement, ...] = field(default_factory=tuple)


class MTBenchScore(Metric):
    """Mean judge rating over all judged turns (FastChat's MT-Bench score), stderr over judgements.

    `judge` names the judge model (any `--model` spec, loaded with `harness.models.resolve.load_model`);
    `judge_max_tokens` bounds its reply; `judge_dtype`/`judge_device`/`judge_batch_size` go to its loader.
    The per-sample score is the mean rating of the item's parseable turns.
    """

    name = "mt_bench_score"
    semantics = Semantics(1.0, 10.0)

    def __init__(self, judge: str | None = None, judge_max_tokens: int = 512, judge_dtype: str = "auto",
                 judge_device: str = "auto", judge_batch_size: int = 8) -> None:
        self.judge, self.judge_max_tokens = judge, int(judge_max_tokens)
        self.judge_name = judge  # the model actually used, once known (run_dialogue sets it)
        self.load_options = {"dtype": judge_dtype, "device": judge_device, "batch_size": int(judge_batch_size)}

    def sample(self, outcome: Outcome) -> float | None:
        if not isinstance(outcome, DialogueOutcome):
            from harness.errors import TaskError

            raise TaskError("mt_bench_score scores dialogue tasks (harness.tasks.dialogue.run_dialogue) only")
        ratings = [j.rating.value for j in _judgements(outcome) if j.rating.ok]
        return math.fsum(ratings) / len(ratings) if ratings else None  # type: ignore[arg-type]

    def aggregate(self, outcomes: Sequence[Outcome], samples: Sequence[float | None], seed: int) -> MetricValue:
        judged = [j for o in outcomes for j in _judgements(o)]
        ratings = [j.rating.value for j in judged if j.rating.ok]
        value = mean_value(ratings, self.semantics, seed)  # type: ignore[arg-type]
        per_turn = {}
        for turn in sorted({j.turn for j in judged}):
            values = [j.rating.value for j in judged if j.turn == turn and j.rating.ok]
            per_turn[f"turn_{turn}"] = math.fsum(values) / len(values) if values else None  # type: ignore[arg-type]
        details = {"judgements": len(judged), "unparseable": len(judged) - len(ratings), **per_turn,
                   "judge": self.judge_name}
        return value.model_copy(update={"details": details})


def _judgements(outcome: Outcome) -> tuple[Judgement, ...]:
    return outcome.judgements if isinstance(outcome, DialogueOutcome) else ()
