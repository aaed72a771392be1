"""`evalh rescore`: recompute a run's metrics from its samples.jsonl with the current metric code, no model.

samples.jsonl keeps what the model produced for every item (per-choice log-likelihoods and greedy flags,
generations, rolling log-likelihoods) with the item's row, choices and target, so each item's outcome is
rebuilt from it and scored again by the task's metrics: the run's own, or those of a changed task file
(`task_files`: other metric options, other metrics, other filters); `metrics` keeps only the named ones (and
the tasks that declare them). The result is a new run folder
whose config names the run it was rescored from.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from harness.bridge.lm_eval_run import PREFIX as LM_EVAL_PREFIX
from harness.errors import EvalhError, TaskError
from harness.metrics import get_metric
from harness.metrics.base import Outcome
from harness.results import RunError, RunResult, SampleRecord, read_result, read_samples, write_result
from harness.tasks.build import Item
from harness.tasks.loader import build_index, load_task_files
from harness.tasks.schema import TaskSpec
from harness.tasks.scoring import score_task
from harness.version import __version__


def outcome_of(record: SampleRecord) -> Outcome:
    """The model's outcome for one item, as the runner had it when it scored the item."""
    gold = record.target if isinstance(record.target, int) and not isinstance(record.target, bool) else None
    references = tuple(str(r) for r in record.target) if isinstance(record.target, list) else None
    item = Item(index=record.index, sample_id=record.sample_id, row=record.row, prompt=record.prompt, requests=(),
                choices=tuple(record.choices) if record.choices is not None else None, gold=gold,
                references=references)
    return Outcome(item, logprobs=tuple(record.logprobs) if record.logprobs is not None else None,
                   is_greedy=tuple(record.is_greedy) if record.is_greedy is not None else None,
                   response=record.response, rolling=record.rolling)


def _specs(result: RunResult, task_files: Sequence[Path]) -> dict[str, TaskSpec]:
    """Task definitions by name: those of `task_files` win over the run's (built-in and --include-path)."""
    index = build_index(result.config.get("include_paths") or [])
    specs = dict(index.tasks)
    for path in task_files:
        specs.update({spec.name: spec for spec in load_task_files(Path(path))})
    return specs


def rescore_task(spec: TaskSpec, records: list[SampleRecord], metric_names: Sequence[str] | None, seed: int,
                 previous) -> tuple[object, list[SampleRecord]]:
    """One task's TaskResult and sample records scored again from `records`."""
    if spec.output_type == "dialogue":
        raise TaskError(f"task {spec.name}: a dialogue task is graded by a judge model; rescoring needs no model")
    names = [m for m in spec.metrics if m in metric_names] if metric_names else list(spec.metrics)
    metrics = [get_metric(name, spec.metric_options.get(name), spec.name) for name in names]
    if spec.output_type == "loglikelihood_rolling" and any(r.rolling is None for r in records):
        raise TaskError(f"task {spec.name}: samples.jsonl has no rolling log-likelihoods (written by an older evalh)")
    started = time.perf_counter()
    outcomes = [outcome_of(r) for r in records]
    scores = score_task(spec, metrics, outcomes, seed)
    result = previous.model_copy(update={"metrics": scores.values, "breakdown": scores.breakdown,
                                         "seconds": round(time.perf_counter() - started, 3)})
    samples = [r.model_copy(update={"scores": scores.items[k], "details": scores.details[k]})
               for k, r in enumerate(records)]
    return result, samples


def rescore(run_dir: Path, output_dir: Path | None = None, *, metrics: Sequence[str] | None = None,
            task_files: Sequence[Path] = ()) -> tuple[Path, RunResult]:
    """Write a new run folder (under `output_dir`, default: beside `run_dir`) with the run's tasks scored again."""
    from harness.evaluation import new_run_dir

    run_dir = Path(run_dir)
    source = read_result(run_dir)
    records = read_samples(run_dir)
    specs = _specs(source, task_files)
    seed = int(source.config.get("seed", 1234))
    out_dir = new_run_dir(Path(output_dir) if output_dir else run_dir.parent, source.model.name)
    result = RunResult(
        run_id=out_dir.name, status="complete", created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        evalh_version=__version__, model=source.model, versions={**source.versions, "evalh": __version__},
        host=source.host, errors=list(source.errors),
        config={**source.config, "rescored_from": {"run_id": source.run_id, "path": str(run_dir.resolve()),
                                                   "metrics": list(metrics or []),
                                                   "task_files": [str(Path(p).resolve()) for p in task_files]}},
    )
    declared = {m for name in source.tasks if name in specs for m in specs[name].metrics}
    unknown = [m for m in metrics or () if m not in declared]
    if unknown:
        raise EvalhError(f"--metrics {', '.join(unknown)}: no task of run {source.run_id} declares "
                         f"{'it' if len(unknown) == 1 else 'them'} (its tasks' metrics: {', '.join(sorted(declared))})")
    imported = source.model.extra.get("imported_from") == "lm-eval"  # evalh import: lm-eval's task names
    kept: list[SampleRecord] = []
    for name, previous in source.tasks.items():
        if metrics and name in specs and not set(specs[name].metrics) & set(metrics):
            continue  # --metrics: only the tasks that declare one of them
        task_records = [r for r in records if r.task == name]
        try:
            if name.startswith(LM_EVAL_PREFIX) or imported:
                raise TaskError(f"task {name}: scored by lm-eval's own metrics, which evalh cannot rerun")
            if name not in specs:
                raise TaskError(f"task {name}: no task definition of this name (give its file with --task-file)")
            result.tasks[name], samples = rescore_task(specs[name], task_records, metrics, seed, previous)
        except EvalhError as exc:
            result.errors.append(RunError(scope="task", name=name, message=str(exc), type=type(exc).__name__))
            continue
        kept.extend(samples)
    with (out_dir / "samples.jsonl").open("w", encoding="utf-8") as handle:
        for record in kept:
            handle.write(record.model_dump_json() + "\n")
    result.status = "complete" if result.tasks else "failed"
    write_result(out_dir, result)
    return out_dir, result
