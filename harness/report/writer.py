"""`write_report`: the files `evalh report` produces, from run paths to a folder."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.report.comparison import Comparison, build_comparison
from harness.report.loading import load_runs


@dataclass
class ReportFiles:
    """What was written, and the comparison it was drawn from."""

    comparison: Comparison
    html: Path
    markdown: Path
    plots: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def write_report(runs: Sequence[str], out_dir: Path, *, title: str = "evalh leaderboard", plots: bool = True,
                 max_samples: int | None = None) -> ReportFiles:
    """Read the runs, write leaderboard.html, summary.md and plots/ into out_dir."""
    from harness.report.html import write_html
    from harness.report.markdown import summary_markdown
    from harness.report.plots import plots_available, write_plots

    comparison = build_comparison(load_runs(list(runs)))
    out_dir.mkdir(parents=True, exist_ok=True)
    html = write_html(comparison, out_dir / "leaderboard.html", title=title, max_samples=max_samples)
    markdown = out_dir / "summary.md"
    markdown.write_text(summary_markdown(comparison, title), encoding="utf-8")
    files = ReportFiles(comparison, html, markdown)
    if plots and plots_available():
        files.plots = write_plots(comparison, out_dir / "plots")
    elif plots:
        files.notes.append("plots skipped: matplotlib is not installed (pip install 'evalh[plots]')")
    without = [m.label for m in comparison.models if not m.run.has_samples]
    if without:
        files.notes.append(f"no samples.jsonl for {', '.join(without)}: no drill-down for them")
    return files
