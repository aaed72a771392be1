"""The comparison a report draws: models (ordered by size) x tasks x metrics, with CIs and size trends.

Pure data, built from results files only; the renderers (html, markdown, plots) read nothing else.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.metrics.semantics import Semantics
from harness.report.loading import LoadedRun
from harness.report.ties import column_standing

BIAS_METRICS = frozenset({"pct_stereotype", "likelihood_diff"})
_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([KMBT])\s*$", re.IGNORECASE)
_SCALE = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}


def parse_size_label(label: str | None) -> float | None:
    """'135M' -> 1.35e8, '1.5B' -> 1.5e9; None for anything else."""
    match = _SIZE.match(label or "")
    return float(match.group(1)) * _SCALE[match.group(2).upper()] if match else None


@dataclass(frozen=True)
class ModelColumn:
    """One run's model, as a column of the comparison (key: m0, m1, ... in size order)."""

    key: str
    label: str
    parameters: float | None
    size_label: str | None
    run: LoadedRun = field(repr=False, compare=False)


@dataclass(frozen=True)
class Cell:
    """One aggregate score with its CI (either bound may be missing) and its metric's declared semantics."""

    value: float | None
    ci_low: float | None
    ci_high: float | None
    stderr: float | None
    n: int
    method: str
    higher_is_better: bool
    range_low: float | None = None
    range_high: float | None = None
    ideal: float | None = None

    @property
    def semantics(self) -> Semantics:
        return Semantics.of(self)


@dataclass(frozen=True)
class TaskRow:
    """A task as compared: its metrics in result order (the first is the primary one)."""

    name: str
    versions: tuple[str, ...]
    output_type: str
    groups: tuple[str, ...]
    metrics: tuple[str, ...]

    @property
    def primary(self) -> str:
        return self.metrics[0]

    @property
    def is_bias(self) -> bool:
        return "bias" in self.groups or any(m in BIAS_METRICS for m in self.metrics)


MIN_TREND_SIZES = 3
"""A line through two points fits them exactly and says nothing of the trend; three sizes are the least."""


@dataclass(frozen=True)
class Trend:
    """Least-squares line score = intercept + slope * log10(parameters) over the models with a size, with
    the 95% confidence band of the fitted line (t with points - 2 degrees of freedom). `low`/`high` is the
    metric's range: what is drawn (`fitted`, `band`) is clipped to it, since no score lies outside it."""

    slope: float
    intercept: float
    r2: float | None
    points: int
    mean_x: float = 0.0
    sxx: float = 1.0
    residual_sd: float = 0.0
    low: float | None = None
    high: float | None = None

    def at(self, parameters: float) -> float:
        """The line itself at `parameters` (unclipped)."""
        return self.intercept + self.slope * math.log10(parameters)

    def clip(self, value: float) -> float:
        value = value if self.low is None else max(self.low, value)
        return value if self.high is None else min(self.high, value)

    def fitted(self, parameters: float) -> float:
        """The line at `parameters`, inside the metric's range."""
        return self.clip(self.at(parameters))

    def band(self, parameters: float, alpha: float = 0.05) -> tuple[float, float]:
        """The confidence band of the fitted line at `parameters`, inside the metric's range."""
        from scipy import stats

        x = math.log10(parameters)
        half = float(stats.t.ppf(1 - alpha / 2, self.points - 2)) * self.residual_sd * math.sqrt(
            1 / self.points + (x - self.mean_x) ** 2 / self.sxx)
        centre = self.at(parameters)
        return self.clip(centre - half), self.clip(centre + half)


@dataclass(frozen=True)
class Comparison:
    """Models x tasks x metrics. `cells[(task, metric, model_key)]`; `trends[(task, metric)]`;
    `standing[(task, metric)]`: model key -> 'best' or 'tied' (see ties.py), for each task's primary metric."""

    models: tuple[ModelColumn, ...]
    tasks: tuple[TaskRow, ...]
    cells: dict[tuple[str, str, str], Cell]
    trends: dict[tuple[str, str], Trend]
    standing: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)

    def cell(self, task: str, metric: str, key: str) -> Cell | None:
        return self.cells.get((task, metric, key))

    def points(self, task: str, metric: str) -> list[tuple[ModelColumn, float]]:
        """(model, score) for the models with a parameter count and a score on this metric."""
        out = []
        for model in self.models:
            cell = self.cell(task, metric, model.key)
            if model.parameters and cell is not None and cell.value is not None:
                out.append((model, cell.value))
        return out


def model_size(run: LoadedRun) -> float | None:
    """Parameter count: the exact count when recorded, else the nominal size label."""
    info = run.result.model
    return float(info.parameters) if info.parameters else parse_size_label(info.size_label)


def order_by_size(runs: Sequence[LoadedRun]) -> list[LoadedRun]:
    """Smallest first; models without a known size last, by name (stable otherwise)."""
    return sorted(runs, key=lambda r: (model_size(r) is None, model_size(r) or 0.0, r.label))


def fit_trend(points: Sequence[tuple[float, float]], low: float | None = None,
              high: float | None = None) -> Trend | None:
    """Fit score against log10(parameters), for a metric whose range is [low, high]; None with fewer than
    MIN_TREND_SIZES distinct sizes."""
    xs = [math.log10(p) for p, _ in points]
    ys = [s for _, s in points]
    if len(set(xs)) < MIN_TREND_SIZES:
        return None
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / sxx
    intercept = mean_y - slope * mean_x
    total = sum((y - mean_y) ** 2 for y in ys)
    residual = sum((y - intercept - slope * x) ** 2 for x, y in zip(xs, ys))
    return Trend(slope, intercept, 1.0 - residual / total if total > 0 else None, len(xs), mean_x, sxx,
                 math.sqrt(residual / (len(xs) - 2)), low, high)


def _labels(runs: Sequence[LoadedRun]) -> list[str]:
    """Model names; the run id where two runs share one; ' [incomplete]' where a run stopped before its end."""
    names = [r.label for r in runs]
    labels = [f"{r.label} ({r.result.run_id})" if names.count(r.label) > 1 else r.label for r in runs]
    return [label + (" [incomplete]" if r.result.status == "incomplete" else "") for label, r in zip(labels, runs)]


def _tasks(runs: Sequence[LoadedRun]) -> tuple[TaskRow, ...]:
    rows: dict[str, TaskRow] = {}
    for run in runs:
        for name, task in run.result.tasks.items():
            old = rows.get(name)
            metrics = tuple(dict.fromkeys([*(old.metrics if old else ()), *task.metrics]))
            versions = tuple(dict.fromkeys([*(old.versions if old else ()), task.version]))
            groups = tuple(dict.fromkeys([*(old.groups if old else ()), *task.groups]))
            rows[name] = TaskRow(name, versions, task.output_type, groups, metrics)
    return tuple(rows.values())


def build_comparison(runs: Sequence[LoadedRun]) -> Comparison:
    """The comparison of `runs` (one column per run), models ordered by parameter count."""
    ordered = order_by_size(runs)
    models = tuple(ModelColumn(f"m{i}", label, model_size(run), run.result.model.size_label, run)
                   for i, (run, label) in enumerate(zip(ordered, _labels(ordered))))
    cells: dict[tuple[str, str, str], Cell] = {}
    for model in models:
        for name, task in model.run.result.tasks.items():
            for metric, v in task.metrics.items():
                cells[(name, metric, model.key)] = Cell(v.value, v.ci_low, v.ci_high, v.stderr, v.n, v.method,
                                                        v.higher_is_better, v.range_low, v.range_high, v.ideal)
    tasks = _tasks(ordered)
    comparison = Comparison(models, tasks, cells, {})
    by_key = {model.key: model.run for model in models}
    for task in tasks:
        for metric in task.metrics:
            points = comparison.points(task.name, metric)
            semantics = comparison.cell(task.name, metric, points[0][0].key).semantics if points else None
            trend = fit_trend([(m.parameters, score) for m, score in points],
                              *((semantics.low, semantics.high) if semantics else (None, None)))
            if trend is not None:
                comparison.trends[(task.name, metric)] = trend
        comparison.standing[(task.name, task.primary)] = column_standing(by_key, task.name, task.primary)
    return comparison
