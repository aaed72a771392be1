"""Score-against-parameter-count plots as PNG and SVG files (matplotlib, imported only here).

The HTML report draws its own inline charts; these files are for pasting elsewhere.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

from harness.report.comparison import Comparison


def plots_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "task"


def _params_label(value: float) -> str:
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if value >= scale:
            return f"{value / scale:g}{suffix}"
    return f"{value:g}"


def plot_task(comparison: Comparison, task: str, metric: str, out_dir: Path) -> list[Path]:
    """Write <task>.<metric>.png and .svg; nothing when no model has both a size and a score. The trend line
    and its band appear only from three model sizes on (comparison.MIN_TREND_SIZES)."""
    points = comparison.points(task, metric)
    if not points:
        return []
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    fig, ax = plt.subplots(figsize=(5.0, 3.4), dpi=120)
    xs = [model.parameters for model, _ in points]
    for model, score in points:
        cell = comparison.cell(task, metric, model.key)
        low = score - cell.ci_low if cell.ci_low is not None else 0.0
        high = cell.ci_high - score if cell.ci_high is not None else 0.0
        ax.errorbar([model.parameters], [score], yerr=[[low], [high]], fmt="o", color="#2f6fdb", capsize=3)
        ax.annotate(model.label, (model.parameters, score), textcoords="offset points", xytext=(5, 5), fontsize=8)
    trend = comparison.trends.get((task, metric))
    if trend is not None:
        lo, hi = min(xs), max(xs)
        grid = [10 ** (math.log10(lo) + (math.log10(hi) - math.log10(lo)) * k / 20) for k in range(21)]
        ax.plot(grid, [trend.fitted(x) for x in grid], "--", color="#c4320a",
                label=f"fit: {trend.slope:+.3g} per 10x" + (f", R² {trend.r2:.2f}" if trend.r2 is not None else ""))
        bands = [trend.band(x) for x in grid]
        ax.fill_between(grid, [b[0] for b in bands], [b[1] for b in bands], color="#c4320a", alpha=0.12,
                        linewidth=0, label="95% CI of the fit")
        ax.legend(fontsize=8, loc="best")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: _params_label(x)))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("parameters (log scale)")
    semantics = comparison.cell(task, metric, points[0][0].key).semantics
    ax.set_ylabel(f"{metric} ({semantics.describe()})")
    if semantics.ideal is not None:
        ax.axhline(semantics.ideal, color="#1b873f", linewidth=1, linestyle=":")
    ax.set_title(f"{task}: {metric} vs model size", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    stem = out_dir / f"{_safe_name(task)}.{_safe_name(metric)}"
    paths = [stem.with_suffix(stem.suffix + ".png"), stem.with_suffix(stem.suffix + ".svg")]
    matplotlib.rcParams["svg.hashsalt"] = "evalh"  # stable element ids: identical inputs, identical files
    fig.savefig(paths[0])
    fig.savefig(paths[1], metadata={"Date": None})
    plt.close(fig)
    return paths


def write_plots(comparison: Comparison, out_dir: Path) -> list[Path]:
    """One PNG and one SVG per task (its primary metric) into out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return [path for task in comparison.tasks for path in plot_task(comparison, task.name, task.primary, out_dir)]
