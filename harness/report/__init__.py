"""Reports: read results files (never a model) and compare models, sizes and runs.

- `build_comparison(load_runs([...]))`: models x tasks x metrics with CIs and size trends (pure data);
  `render_html`, `summary_markdown` and `write_plots` draw it.
- `compare_runs(baseline, candidate)`: paired per-sample tests per task with Holm's correction and a
  verdict; `format_compare_text`, `compare_markdown` and `compare_junit` draw it.
"""
from __future__ import annotations

from harness.report.compare import CompareResult, MismatchError, compare_runs
from harness.report.comparison import Comparison, build_comparison
from harness.report.loading import LoadedRun, load_runs
from harness.report.writer import write_report

__all__ = ["CompareResult", "Comparison", "LoadedRun", "MismatchError", "build_comparison", "compare_runs",
           "load_runs", "write_report"]
