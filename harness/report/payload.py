"""The data the HTML leaderboard embeds: the comparison, samples aligned by item, and run metadata.

Samples of different models are aligned by (sample_id, prompt_hash): the same item asked the same way.
Compact lists instead of objects keep 4 models x 10 tasks x 200 samples well under the 5 MB budget.
"""
from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from harness.version import __version__
from harness.report.board import average, data_warnings
from harness.report.comparison import Comparison, ModelColumn, TaskRow
from harness.results import SampleRecord


def _num(value: float | None, digits: int = 4) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def _model_entry(model: ModelColumn) -> dict[str, Any]:
    result, info = model.run.result, model.run.result.model
    config = {k: result.config.get(k) for k in ("limit", "num_fewshot", "seed", "dtype", "batch_size")}
    return {
        "key": model.key, "label": model.label, "params": model.parameters, "size": model.size_label,
        "run_id": result.run_id, "created_at": result.created_at, "adapter": info.adapter, "source": info.source,
        "fingerprint": info.fingerprint, "dtype": info.dtype, "device": info.device, "timings": result.timings,
        "versions": result.versions, "host": result.host, "config": config, "samples": model.run.has_samples,
        "errors": [f"{e.scope} {e.name}: {e.message}" for e in result.errors],
    }


def _task_entry(comparison: Comparison, task: TaskRow) -> dict[str, Any]:
    datasets, higher = {}, {}
    for model in comparison.models:
        found = model.run.result.tasks.get(task.name)
        if found is None:
            continue
        datasets[model.key] = {"source": found.dataset.source, "fingerprint": found.dataset.fingerprint,
                               "rows_used": found.dataset.rows_used, "rows_total": found.dataset.rows_total,
                               "seconds": found.seconds, "version": found.version, "fewshot": found.num_fewshot}
        higher.update({name: [value.range_low, value.range_high, value.higher_is_better, value.ideal]
                       for name, value in found.metrics.items()})
    standing = {metric: marks for (name, metric), marks in comparison.standing.items() if name == task.name}
    return {"name": task.name, "versions": list(task.versions), "output_type": task.output_type,
            "groups": list(task.groups), "metrics": list(task.metrics), "primary": task.primary,
            "bias": task.is_bias, "semantics": higher, "standing": standing, "datasets": datasets}


def _cells(comparison: Comparison) -> dict[str, dict[str, dict[str, list]]]:
    out: dict[str, dict[str, dict[str, list]]] = {}
    for (task, metric, key), cell in comparison.cells.items():
        out.setdefault(task, {}).setdefault(metric, {})[key] = [
            _num(cell.value), _num(cell.ci_low), _num(cell.ci_high), cell.n]
    return out


def _sample_output(sample: SampleRecord) -> list:
    logprobs = [_num(lp) for lp in sample.logprobs] if sample.logprobs is not None else None
    return [sample.response, logprobs, {k: _num(v) for k, v in sample.scores.items()}]


def _samples(comparison: Comparison, task: str, limit: int | None) -> dict[str, Any]:
    """Items of a task (id, prompt hash, prompt, target, choices) and each model's output, aligned."""
    items: dict[tuple[str, str], list] = {}
    outputs: dict[str, dict[tuple[str, str], list]] = {}
    for model in comparison.models:
        for sample in model.run.samples_of(task):
            key = (sample.sample_id, sample.prompt_hash)
            if key not in items:
                if limit is not None and len(items) >= limit:
                    continue
                items[key] = [sample.sample_id, sample.prompt_hash, sample.prompt, sample.target, sample.choices]
            outputs.setdefault(model.key, {})[key] = _sample_output(sample)
    keys = list(items)
    return {"items": [items[k] for k in keys],
            "out": {m: [per_model.get(k) for k in keys] for m, per_model in outputs.items()}}


def _band(comparison: Comparison, task: str, metric: str, steps: int = 12) -> list[list[float | None]]:
    """The trend's 95% confidence band and line as [log10(parameters), low, high, fit] points across the
    sizes, inside the metric's range."""
    trend = comparison.trends[(task, metric)]
    sizes = [math.log10(model.parameters) for model, _ in comparison.points(task, metric)]
    lo, hi = min(sizes), max(sizes)
    out = []
    for k in range(steps + 1):
        x = lo + (hi - lo) * k / steps
        low, high = trend.band(10**x)
        out.append([_num(x, 4), _num(low, 6), _num(high, 6), _num(trend.fitted(10**x), 6)])
    return out


def _average(comparison: Comparison) -> dict[str, Any]:
    found = average(comparison)
    return {"columns": [list(c) for c in found.columns], "skipped": [list(s) for s in found.skipped],
            "values": {key: _num(v) for key, v in found.values.items()}}


def build_payload(comparison: Comparison, *, title: str, max_samples: int | None = None) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data (no NaN: missing numbers are null)."""
    return {
        "title": title,
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "evalh_version": __version__,
        "models": [_model_entry(m) for m in comparison.models],
        "tasks": [_task_entry(comparison, t) for t in comparison.tasks],
        "cells": _cells(comparison),
        "average": _average(comparison),
        "warnings": data_warnings(comparison),
        "trends": {f"{task}\x1f{metric}": [_num(t.slope, 6), _num(t.intercept, 6), _num(t.r2, 4),
                                             _band(comparison, task, metric)]
                   for (task, metric), t in comparison.trends.items()},
        "samples": {t.name: _samples(comparison, t.name, max_samples) for t in comparison.tasks},
    }
