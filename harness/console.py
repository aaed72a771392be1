"""The summary table printed at the end of `evalh run`."""
from __future__ import annotations

from harness.evaluation import Evaluation
from harness.metrics.semantics import Semantics
from harness.report.textfmt import plain_table
from harness.results import MetricValue
from harness.tasks.aggregate import group_metrics


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if abs(value) < 10 else f"{value:.2f}"


def _best(value: MetricValue) -> str:
    """'higher', 'lower' or 'at 0.5', plus the design effect when the errors are clustered."""
    text = Semantics.of(value).describe().replace(" is better", "").replace("best ", "")
    return text + (f" (deff {value.design_effect:.2f})" if value.design_effect is not None else "")


def format_summary(evaluation: Evaluation) -> str:
    """Plain-text table: model, task, metric, value, stderr, 95% CI, n, and what is best for the metric."""
    header = ("model", "task", "metric", "value", "stderr", "95% CI", "n", "best")
    rows = []
    for _, result in evaluation.runs:
        for task in result.tasks.values():
            for name, m in task.metrics.items():
                ci = f"[{_fmt(m.ci_low)}, {_fmt(m.ci_high)}]" if m.ci_low is not None else "-"
                rows.append((result.model.name, task.name, name, _fmt(m.value), _fmt(m.stderr), ci, str(m.n),
                             _best(m)))
        for group, metrics in group_metrics(result.tasks).items():  # lm-eval's size-weighted group scores
            for name, m in metrics.items():
                ci = f"[{_fmt(m.ci_low)}, {_fmt(m.ci_high)}]" if m.ci_low is not None else "-"
                rows.append((result.model.name, f"group {group}", name, _fmt(m.value), _fmt(m.stderr), ci, str(m.n),
                             _best(m)))
    return plain_table(header, rows)
