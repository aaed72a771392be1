"""What the leaderboard adds to a Comparison: an average column where metric semantics allow one, and
warnings when the runs side by side were not over the same data.

The average is the mean, per model, of each task's primary metric placed on its declared range (0 the
worst end, 1 the best), over the tasks where that placing means something: a bounded range and a direction.
Metrics best at an ideal value (pct_stereotype: 0.5) and unbounded ones (likelihood_diff) are left out, and
so are bias probes, which measure something else than capability. A model missing any averaged score gets
no average: a mean over a different set of tasks is not comparable.

The data check is `evalh compare`'s own (`check_same_data`: task version and dataset fingerprint, which a
different --limit changes), so the leaderboard warns exactly where compare would refuse the pair.
"""
from __future__ import annotations

from dataclasses import dataclass

from harness.report.compare import MismatchError, check_same_data
from harness.report.comparison import Comparison


@dataclass(frozen=True)
class Average:
    """columns: the (task, metric) pairs averaged; skipped: (task, metric, why not); values: model key -> the
    average (None where the model lacks one of the columns)."""

    columns: tuple[tuple[str, str], ...]
    skipped: tuple[tuple[str, str, str], ...]
    values: dict[str, float | None]


def _why_not_averaged(comparison: Comparison, task: str, metric: str) -> str | None:
    cells = [c for m in comparison.models if (c := comparison.cell(task, metric, m.key)) is not None]
    if not cells:
        return "no scores"
    semantics = cells[0].semantics
    if semantics.ideal is not None:
        return f"best at {semantics.ideal:g}, not at an end of its range"
    if semantics.width is None:
        return "unbounded range"
    if any(c.semantics != semantics for c in cells):
        return "runs declare different ranges"
    return None


def average(comparison: Comparison) -> Average:
    """The average column (module docstring)."""
    columns, skipped = [], []
    for task in comparison.tasks:
        why = "bias probe" if task.is_bias else _why_not_averaged(comparison, task.name, task.primary)
        if why:
            skipped.append((task.name, task.primary, why))
        else:
            columns.append((task.name, task.primary))
    values: dict[str, float | None] = {}
    for model in comparison.models:
        placed = []
        for task, metric in columns:
            cell = comparison.cell(task, metric, model.key)
            if cell is None or cell.value is None:
                break
            s = cell.semantics
            position = (cell.value - s.low) / s.width
            placed.append(position if s.higher_is_better else 1.0 - position)
        values[model.key] = sum(placed) / len(placed) if columns and len(placed) == len(columns) else None
    return Average(tuple(columns), tuple(skipped), values)


def data_warnings(comparison: Comparison) -> list[str]:
    """One line per difference that makes scores side by side incomparable: the runs' --limit, and per task
    each run whose task version or data fingerprint differs from the first run with that task."""
    warnings = []
    limits = {m.label: m.run.result.config.get("limit") for m in comparison.models}
    if len({repr(v) for v in limits.values()}) > 1:
        warnings.append("--limit differs between runs: " + ", ".join(
            f"{label}: {'none' if v is None else v}" for label, v in limits.items()))
    for task in comparison.tasks:
        having = [m for m in comparison.models if task.name in m.run.result.tasks]
        for other in having[1:]:
            try:
                check_same_data(task.name, having[0].run, other.run,
                                where=f"task {task.name}: {having[0].label} vs {other.label}")
            except MismatchError as exc:
                warnings.append(str(exc))
    return warnings
