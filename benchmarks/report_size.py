"""Report size and render time at scale: 4 models x 10 tasks x 200 samples (synthetic runs, no model).

Prints the leaderboard.html size (budget: under 5 MB) and its render time in headless Chromium (budget:
under 2 s, from navigation start until the page's script has drawn everything), and exits 1 when either
budget is exceeded.

    .venv/bin/python benchmarks/report_size.py [--models 4] [--tasks 10] [--samples 200] [--keep DIR]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # for tests.fixtures (synthetic runs, the headless browser) when run as a script
    sys.path.insert(0, str(REPO))

from tests.fixtures.browser import chromium, missing_reason, open_report
from tests.fixtures.synthetic_runs import SIZES, write_synthetic_runs
from harness.report.writer import write_report

SIZE_BUDGET_MB, RENDER_BUDGET_S = 5.0, 2.0


def measure(work: Path, models: int, tasks: int, samples: int, renders: int = 3) -> dict[str, float]:
    """Write the runs and the report under `work`; return size (MB), build and best render time (s)."""
    chosen = dict(list(SIZES.items())[:models])
    write_synthetic_runs(work / "runs", models=chosen, tasks=tasks, samples=samples)
    started = time.perf_counter()
    files = write_report([str(work / "runs")], work / "report", plots=False)
    figures = {"size_mb": files.html.stat().st_size / 1e6, "build_s": time.perf_counter() - started}
    reason = missing_reason()
    if reason:
        print(f"render time not measured: {reason}", file=sys.stderr)
        return figures
    with chromium() as driver:  # a fresh page per load; the first is cold, the best of a few is the page's own cost
        times = [open_report(driver, files.html) / 1000 for _ in range(renders)]
    figures["first_render_s"], figures["render_s"] = times[0], min(times)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=4)
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--keep", type=Path, help="Keep runs and report in this folder.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        figures = measure(work, args.models, args.tasks, args.samples)
    print(f"{args.models} models x {args.tasks} tasks x {args.samples} samples")
    print(f"leaderboard.html size: {figures['size_mb']:.2f} MB (budget {SIZE_BUDGET_MB:g} MB)")
    print(f"report build time: {figures['build_s']:.2f} s")
    ok = figures["size_mb"] < SIZE_BUDGET_MB
    if "render_s" in figures:
        print(f"headless Chromium render time: {figures['render_s']:.3f} s (budget {RENDER_BUDGET_S:g} s; "
              f"first, cold load {figures['first_render_s']:.3f} s)")
        ok = ok and figures["first_render_s"] < RENDER_BUDGET_S
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
