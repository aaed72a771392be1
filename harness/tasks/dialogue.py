"""Multi-turn tasks (MT-Bench): each user turn is answered through the model's chat template with the
model's own earlier answers in the conversation, then a judge model grades every turn.

A dialogue task (`output_type: dialogue`) renders `prompt` to the list of user turns and `target` (optional)
to the list of reference answers; `breakdown` (e.g. `{{category}}`) gives per-category scores. The judge
is the run's --judge, else the `judge` option of the task's `mt_bench_score` metric (a model spec).
Every turn and the judging are stages of requests that the runner answers like any task's (memo,
response cache, sessions), so a second identical run is answered from the cache.
Generation is greedy, at most `generation.max_tokens` new tokens a turn (FastChat samples at temperature
0.7 for most categories; greedy keeps runs reproducible and cacheable).
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from harness.config import limit_count
from harness.errors import DataError, ModelError, TaskError
from harness.metrics import get_metric
from harness.metrics.judge import DialogueOutcome, Judgement, MTBenchScore, parse_rating
from harness.metrics.judge_prompts import judge_messages
from harness.models.base import ModelAdapter
from harness.requests import Generate, Request
from harness.results import DatasetInfo, SampleRecord, TaskResult
from harness.tasks.aggregate import subgroup_metrics
from harness.tasks.build import Item
from harness.tasks.datasets import describe_source, fingerprint, load_rows
from harness.tasks.schema import TaskSpec
from harness.tasks.templates import render_value

Messages = list[dict[str, str]]


def conversation_prompt(model: ModelAdapter, messages: Messages, plain_ok: bool = False) -> str:
    """`messages` in the model's chat format, ready for its next turn.

    With `plain_ok` (a judge), a model without a chat template gets the messages' texts one after another,
    each ended by a blank line; otherwise such a model cannot hold a dialogue.
    """
    try:
        return model.chat_conversation(messages)
    except ModelError as exc:
        if not plain_ok:
            raise TaskError(f"{exc} (a dialogue task needs a chat template)") from None
        return "".join(m["content"].rstrip("\n") + "\n\n" for m in messages)


def _turns(spec: TaskSpec, row: dict, where: str) -> tuple[list[str], list[str]]:
    turns = render_value(spec.prompt, row, f"{where}, field 'prompt'")
    refs = render_value(spec.target, row, f"{where}, field 'target'") if spec.target is not None else []
    if not isinstance(turns, list) or not turns or not all(isinstance(t, str) for t in turns):
        raise DataError(f"{where}, field 'prompt': expected a non-empty list of user turns, got {turns!r}")
    if refs is None or refs == "":
        refs = []
    if not isinstance(refs, list):
        raise DataError(f"{where}, field 'target': expected a list of reference answers, got {refs!r}")
    return turns, [str(r) for r in refs]


class Answers(Protocol):
    """What answers a model's requests for a dialogue task: the runner, with its response cache, memo and
    per-task sessions (harness.runner.Runner)."""

    model: ModelAdapter

    def ask(self, task: str, requests: Sequence[Request]) -> list: ...


def answer_turns(task: str, answers: Answers, conversations: Sequence[list[str]], max_tokens: int) -> list[list[str]]:
    """The model's answers, turn by turn: turn k of every conversation in one stage of requests, after
    turn k-1 (each turn's prompt holds the model's earlier answers)."""
    replies: list[list[str]] = [[] for _ in conversations]
    for turn in range(max(len(c) for c in conversations)):
        todo = [i for i, c in enumerate(conversations) if turn < len(c)]
        prompts = []
        for i in todo:
            messages: Messages = []
            for question, answer in zip(conversations[i], replies[i]):
                messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
            messages.append({"role": "user", "content": conversations[i][turn]})
            prompts.append(Generate(conversation_prompt(answers.model, messages), (), max_tokens))
        for i, reply in zip(todo, answers.ask(task, prompts)):
            replies[i].append(reply.strip())
    return replies


def judge_turns(task: str, judge: Answers, questions: Sequence[list[str]], answers: Sequence[list[str]],
                references: Sequence[list[str]], max_tokens: int) -> list[tuple[Judgement, ...]]:
    """Every turn (1 and 2) of every conversation graded by the judge in one stage, replies parsed."""
    jobs = [(i, turn) for i, qs in enumerate(questions) for turn in range(1, min(len(qs), 2) + 1)]
    prompts = [Generate(conversation_prompt(judge.model, judge_messages(t, questions[i], answers[i], references[i]),
                                            True), (), max_tokens) for i, t in jobs]
    replies = judge.ask(f"{task} (judge)", prompts) if prompts else []
    out: list[list[Judgement]] = [[] for _ in questions]
    for (i, turn), reply in zip(jobs, replies):
        out[i].append(Judgement(turn, reply, parse_rating(reply)))
    return [tuple(j) for j in out]


def judge_of(spec: TaskSpec) -> tuple[str, dict]:
    """The judge dialogue task `spec` names for itself: (model spec, load options); TaskError without one."""
    scorer = _scorer(spec, [get_metric(n, spec.metric_options.get(n), spec.name) for n in spec.metrics])
    if not scorer.judge:
        raise TaskError(f"task {spec.name}: no judge model; give one with metric_options: "
                        "{mt_bench_score: {judge: MODEL}} (or run with --judge MODEL)")
    return scorer.judge, dict(scorer.load_options)


def _scorer(spec: TaskSpec, metrics: list) -> MTBenchScore:
    scorer = next((m for m in metrics if isinstance(m, MTBenchScore)), None)
    if scorer is None:
        raise TaskError(f"task {spec.name}: a dialogue task needs the mt_bench_score metric")
    return scorer


def run_dialogue(spec: TaskSpec, answers: Answers, judge: Answers, *, data_dir: Path | None = None,
                 allowed: Sequence[Path] = (), limit: int | float | None = None, seed: int = 1234) -> tuple[TaskResult, list[SampleRecord]]:
    """Evaluate a dialogue task: answer every turn, judge, aggregate (overall and per `breakdown`)."""
    started = time.perf_counter()
    metrics = [get_metric(n, spec.metric_options.get(n), spec.name) for n in spec.metrics]
    scorer = _scorer(spec, metrics)
    all_rows = load_rows(spec, data_dir=data_dir, allowed=allowed)
    if not all_rows:
        raise DataError(f"task {spec.name}: the dataset ({describe_source(spec, data_dir)}) has no rows")
    rows = all_rows[:limit_count(limit, len(all_rows))]
    parsed = [_turns(spec, row, f"task {spec.name}, row {k}") for k, row in enumerate(rows)]
    scorer.judge_name = judge.model.info().name
    replies = answer_turns(spec.name, answers, [p[0] for p in parsed], spec.generation.max_tokens)
    judged = judge_turns(spec.name, judge, [p[0] for p in parsed], replies, [p[1] for p in parsed],
                         scorer.judge_max_tokens)
    outcomes = []
    for k, (row, (turns, refs)) in enumerate(zip(rows, parsed)):
        sample_id = str(row.get(spec.doc_id, k)) if spec.doc_id else str(k)
        item = Item(k, sample_id, row, turns[0], (), references=tuple(refs))
        outcomes.append(DialogueOutcome(item, response=replies[k][-1], answers=tuple(replies[k]),
                                        judgements=judged[k]))
    scores = {m.name: [m.sample(o) for o in outcomes] for m in metrics}
    values = {m.name: m.aggregate(outcomes, scores[m.name], seed) for m in metrics}
    result = TaskResult(
        name=spec.name, version=spec.version, output_type=spec.output_type, groups=spec.groups, metrics=values,
        breakdown=subgroup_metrics(spec, metrics, outcomes, scores, seed),
        dataset=DatasetInfo(source=describe_source(spec, data_dir), fingerprint=fingerprint(rows),
                            rows_total=len(all_rows), rows_used=len(rows)),
        seconds=round(time.perf_counter() - started, 3))
    return result, [_record(spec, o, {n: s[k] for n, s in scores.items()}) for k, o in enumerate(outcomes)]


def _record(spec: TaskSpec, outcome: DialogueOutcome, scores: dict) -> SampleRecord:
    item = outcome.item
    dialogue = {"turns": [{"question": q, "answer": a} for q, a in zip(render_value(spec.prompt, item.row, spec.name),
                                                                        outcome.answers)],
                "judgements": [j.record() for j in outcome.judgements]}
    return SampleRecord(task=spec.name, sample_id=item.sample_id, index=item.index, prompt_hash="", prompt=item.prompt,
                        target=list(item.references or ()), response=outcome.response, scores=scores,
                        row={**item.row, "_dialogue": dialogue})
