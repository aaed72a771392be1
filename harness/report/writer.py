"""`write_report`: the files `evalh report` produces, from run paths to a folder."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import EvalhError
from harness.paths import writable_folder
from harness.report.board import data_warnings
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
    trend: Path | None = None


def write_report(runs: Sequence[str], out_dir: Path, *, title: str = "evalh leaderboard", plots: bool = True,
                 max_samples: int | None = None, include_failed: bool = False,
                 history: Sequence[str] = ()) -> ReportFiles:
    """Read the runs, write leaderboard.html, summary.md and plots/ into out_dir.

    A failed run (no task has results) is an error unless `include_failed`; an incomplete one (stopped
    before its end) is shown, labelled `[incomplete]`, with a note.
    """
    from harness.report.html import write_html
    from harness.report.markdown import summary_markdown
    from harness.report.plots import plots_available, write_plots

    loaded = load_runs(list(runs))
    failed = [run for run in loaded if run.result.status == "failed"]
    if failed and not include_failed:
        raise EvalhError(f"{', '.join(str(run.path) for run in failed)}: the run failed (no task has results; "
                         "see its errors); leave it out, or pass --include-failed to show it")
    comparison = build_comparison(loaded)
    writable_folder(out_dir, "--output-dir/-o")
    html = write_html(comparison, out_dir / "leaderboard.html", title=title, max_samples=max_samples)
    markdown = out_dir / "summary.md"
    markdown.write_text(summary_markdown(comparison, title), encoding="utf-8")
    files = ReportFiles(comparison, html, markdown)
    if plots and plots_available():
        files.plots = write_plots(comparison, out_dir / "plots")
    elif plots:
        files.notes.append("plots skipped: matplotlib is not installed (pip install 'evalh[plots]')")
    stopped = [str(m.run.path) for m in comparison.models if m.run.result.status == "incomplete"]
    if stopped:
        files.notes.append(f"incomplete run(s), stopped before their end: {', '.join(stopped)}")
    files.notes.extend(f"not the same data: {w}" for w in data_warnings(comparison))
    without = [m.label for m in comparison.models if not m.run.has_samples]
    if without:
        files.notes.append(f"no samples.jsonl for {', '.join(without)}: no drill-down for them")
    if history:
        _write_trend(files, loaded, history, out_dir, title)
    return files


def _write_trend(files: ReportFiles, loaded: list, history: Sequence[str], out_dir: Path, title: str) -> None:
    """trend.html and a trend section in summary.md, from `history` (earlier runs) and this report's runs.
    History that names no run yet (a first night) is a note, not an error."""
    from harness.report.loading import load_run, expand_run_paths
    from harness.report.trend import trend_html, trend_markdown, trend_series

    past = []
    for spec in history:
        try:
            past += [load_run(path, with_samples=False) for path in expand_run_paths([spec])]
        except EvalhError:
            files.notes.append(f"history {spec}: no runs yet")
    current = {run.path for run in loaded}
    series = trend_series([*loaded, *(run for run in past if run.path not in current)])
    if not series:
        files.notes.append("no trend: no model has two runs")
        return
    files.trend = out_dir / "trend.html"
    files.trend.write_text(trend_html(series, title), encoding="utf-8")
    with files.markdown.open("a", encoding="utf-8") as handle:
        handle.write("\n" + trend_markdown(series) + "\n")
