"""Group scores from task scores: lm-eval's `weight_by_size` aggregation (e.g. MMLU's categories and total).

A group is what tasks declare in `groups:`. For every group with at least two member tasks in a run, each
metric that every present member reports as a mean of per-item scores (acc, acc_norm, ...) gets a group value:
the mean of the members' values weighted by their item counts, i.e. the mean over all the group's items, as
lm-eval's `aggregate_metric_list: [{metric: acc, weight_by_size: true}]`. The standard error pools the
members' (lm-eval's `pooled_sample_stderr`). The interval is Wilson's over all the group's items when every
member's scores are 0/1, else the normal one from the pooled error, kept inside the range. Corpus metrics
(BLEU, perplexity, MCC) are never averaged across tasks. Works on results files alone, so reports can call it
too.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from harness.metrics.base import MEAN_METHODS, Metric, Outcome, with_clusters
from harness.metrics.semantics import Semantics
from harness.metrics.stats import wilson_interval
from harness.results import MetricValue, TaskResult
from harness.tasks.schema import TaskSpec
from harness.tasks.templates import render_value


def pooled_stderr(stderrs: Sequence[float], sizes: Sequence[int]) -> float | None:
    """lm-eval's `pooled_sample_stderr`: sqrt(sum((n_i - 1) * n_i * se_i^2) / (N - k) / N)."""
    total, k = sum(sizes), len(sizes)
    if total - k <= 0:
        return None
    variance = math.fsum((n - 1) * n * se ** 2 for se, n in zip(stderrs, sizes)) / (total - k)
    return math.sqrt(variance / total)


def weighted_metric(values: Sequence[MetricValue]) -> MetricValue:
    """Size-weighted mean of member values with the pooled standard error and a normal 95% CI."""
    sizes = [v.n for v in values]
    total = sum(sizes)
    mean = math.fsum(v.value * v.n for v in values) / total  # type: ignore[operator]
    stderr = None
    if all(v.stderr is not None for v in values):
        stderr = pooled_stderr([v.stderr for v in values], sizes)  # type: ignore[misc]
    semantics = Semantics.of(values[0])
    low = high = None
    if all(v.method == "wilson" for v in values):
        low, high = wilson_interval(round(mean * total), total)
    elif stderr is not None:
        low, high = semantics.clip(mean - 1.96 * stderr), semantics.clip(mean + 1.96 * stderr)
    return MetricValue(value=mean, stderr=stderr, ci_low=low, ci_high=high, n=total, method="weighted_mean",
                       **semantics.fields(), details={"tasks": len(values)})


def group_members(tasks: Mapping[str, TaskResult]) -> dict[str, list[str]]:
    """Group name -> member task names present in `tasks`, from each task's declared groups."""
    members: dict[str, list[str]] = {}
    for name, task in tasks.items():
        for group in task.groups:
            members.setdefault(group, []).append(name)
    return {group: sorted(names) for group, names in sorted(members.items())}


def group_metrics(tasks: Mapping[str, TaskResult], min_tasks: int = 2) -> dict[str, dict[str, MetricValue]]:
    """Group -> metric -> weighted value, for groups of at least `min_tasks` tasks (module docstring)."""
    out: dict[str, dict[str, MetricValue]] = {}
    for group, names in group_members(tasks).items():
        if len(names) < min_tasks:
            continue
        shared = set.intersection(*(_mean_metrics(tasks[n]) for n in names))
        metrics = {m: weighted_metric([tasks[n].metrics[m] for n in names]) for m in sorted(shared)}
        if metrics:
            out[group] = metrics
    return out


def _mean_metrics(task: TaskResult) -> set[str]:
    return {name for name, m in task.metrics.items()
            if m.method.split("+")[0] in MEAN_METHODS and m.value is not None and m.n > 0}


def subgroup_metrics(spec: TaskSpec, metrics: Sequence[Metric], outcomes: Sequence[Outcome], scores: dict,
                     seed: int) -> dict:
    """Every metric again per subgroup (the task's `breakdown` template, e.g. a bias type), keyed by subgroup;
    with the task's clusters (`cluster`), means get clustered errors as the task's own values do."""
    if not spec.breakdown:
        return {}
    groups: dict[str, list[int]] = {}
    for k, outcome in enumerate(outcomes):
        key = str(render_value(spec.breakdown, outcome.item.row, f"task {spec.name}, row {k}, field 'breakdown'"))
        groups.setdefault(key, []).append(k)
    clusters = cluster_ids(spec, outcomes) if spec.cluster else None
    out: dict[str, dict[str, MetricValue]] = {}
    for key, ks in sorted(groups.items()):
        out[key] = {}
        for m in metrics:
            samples = [scores[m.name][k] for k in ks]
            value = m.aggregate([outcomes[k] for k in ks], samples, seed)
            if clusters is not None:
                value = with_clusters(value, samples, [clusters[k] for k in ks], seed)
            out[key][m.name] = value
    return out


def cluster_ids(spec: TaskSpec, outcomes: Sequence[Outcome]) -> list[str]:
    """Each item's cluster, from the task's `cluster` template (e.g. a SQuAD paragraph, a BBQ template)."""
    assert spec.cluster is not None
    return [str(render_value(spec.cluster, o.item.row, f"task {spec.name}, row {k}, field 'cluster'"))
            for k, o in enumerate(outcomes)]
