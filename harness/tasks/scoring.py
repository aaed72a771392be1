"""A task's outcomes scored by its metrics, through its filter sets when it has them.

Without filters each metric is reported under its own name; a task with `cluster:` gets clustered
standard errors. With filters (harness/tasks/filters.py),
every metric is reported once per filter set as `METRIC,SET`, scored on the set's output, and each
item's details keep what every set extracted (`filtered`), so samples.jsonl shows why an item scored.

A task with `think_end_token` has the reasoning block stripped from every response first (the
`strip_reasoning` filter); the details keep the stripped text (`answer`) and samples.jsonl the raw output.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.metrics.base import Metric, Outcome, with_clusters
from harness.results import MetricValue
from harness.tasks.aggregate import cluster_ids, subgroup_metrics
from harness.tasks.filters import build_chain, strip_reasoning
from harness.tasks.schema import TaskSpec


@dataclass
class Scores:
    """Aggregates by metric name, their per-subgroup breakdown, and per item: scores and details."""

    values: dict[str, MetricValue] = field(default_factory=dict)
    breakdown: dict[str, dict[str, MetricValue]] = field(default_factory=dict)
    items: list[dict[str, float | None]] = field(default_factory=list)
    details: list[dict] = field(default_factory=list)


def score_task(spec: TaskSpec, metrics: Sequence[Metric], outcomes: Sequence[Outcome], seed: int) -> Scores:
    """Score every outcome with every metric (per filter set when the task has filters)."""
    out = Scores(items=[{} for _ in outcomes], details=[{} for _ in outcomes])
    if spec.think_end_token:
        outcomes = _without_reasoning(spec.think_end_token, outcomes, out.details)
    views = [("", list(outcomes))]
    if spec.filters:
        views = []
        for name, steps in spec.filters.items():
            chain = build_chain(steps, f"task {spec.name}, filter set '{name}'")
            kept = [chain(_responses(o)) for o in outcomes]
            for details, responses in zip(out.details, kept):
                details.setdefault("filtered", {})[name] = responses[0] if len(responses) == 1 else responses
            views.append((name, [_with_responses(o, r) for o, r in zip(outcomes, kept)]))
    for suffix, view in views:
        _score_view(spec, metrics, view, seed, f",{suffix}" if suffix else "", out)
    return out


def _responses(outcome: Outcome) -> list[str]:
    """Every generation of the item (one per repeat), a missing one as ""."""
    if outcome.responses is not None:
        return [r or "" for r in outcome.responses]
    return [outcome.response or ""]


def _with_responses(outcome: Outcome, responses: list[str]) -> Outcome:
    """`outcome` answering `responses`: the first is what single-answer metrics score ("" when none)."""
    return dataclasses.replace(outcome, response=responses[0] if responses else "", responses=tuple(responses))


def _without_reasoning(end: str, outcomes: Sequence[Outcome], details: list[dict]) -> list[Outcome]:
    """Each outcome's responses with the reasoning block (up to the last `end`) stripped; what is left is
    recorded in the details as `answer` (a list when the item has several generations)."""
    strip = strip_reasoning(end)
    stripped = []
    for outcome, detail in zip(outcomes, details):
        answers = strip(_responses(outcome))
        detail["answer"] = answers[0] if len(answers) == 1 else answers
        stripped.append(_with_responses(outcome, answers))
    return stripped


def _score_view(spec: TaskSpec, metrics: Sequence[Metric], outcomes: list[Outcome], seed: int, suffix: str,
                out: Scores) -> None:
    scored = {m.name: m.score_all(outcomes) for m in metrics}
    scores = {name: [score for score, _ in pairs] for name, pairs in scored.items()}
    clusters = cluster_ids(spec, outcomes) if spec.cluster else None
    for m in metrics:
        value = m.aggregate(outcomes, scores[m.name], seed)
        out.values[m.name + suffix] = with_clusters(value, scores[m.name], clusters, seed) if clusters else value
        for k, (score, detail) in enumerate(scored[m.name]):
            out.items[k][m.name + suffix] = score
            if detail is not None:
                out.details[k][m.name + suffix] = detail
    for group, values in subgroup_metrics(spec, metrics, outcomes, scores, seed).items():
        out.breakdown.setdefault(group, {}).update({name + suffix: value for name, value in values.items()})
