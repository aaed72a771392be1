"""`evalh report RUN...`: leaderboard.html, summary.md and plots from results files (never a model)."""
from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command()
@click.argument("runs", nargs=-1, required=True)
@click.option("--output-dir", "-o", type=click.Path(file_okay=False), default="report", show_default=True,
              help="Where leaderboard.html, summary.md and plots/ go.")
@click.option("--title", default="evalh leaderboard", show_default=True, help="Page and summary title.")
@click.option("--no-plots", is_flag=True, help="Skip the PNG/SVG plot files.")
@click.option("--max-samples", type=click.IntRange(min=0), help="Items per task in the drill-down (default: all).")
@click.option("--include-failed", is_flag=True, help="Show failed runs (no task has results) instead of refusing them.")
@click.option("--history", multiple=True, help="Earlier runs of the same models (folders, globs): adds trend.html and a "
              "trend table to summary.md. Repeat for several.")
def report(runs, output_dir, title, no_plots, max_samples, include_failed, history) -> None:
    """Compare runs across models and sizes. RUNS are run folders, results.json files, globs or folders of runs."""
    from harness.errors import EvalhError
    from harness.report.writer import write_report

    try:
        files = write_report(runs, Path(output_dir), title=title, plots=not no_plots, max_samples=max_samples,
                             include_failed=include_failed, history=history)
    except EvalhError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    for note in files.notes:
        click.echo(f"note: {note}", err=True)
    comparison = files.comparison
    click.echo(f"{len(comparison.models)} model(s), {len(comparison.tasks)} task(s)")
    click.echo(f"html: {files.html}")
    click.echo(f"markdown: {files.markdown}")
    if files.trend:
        click.echo(f"trend: {files.trend}")
    if files.plots:
        click.echo(f"plots: {len(files.plots)} file(s) in {files.plots[0].parent}")
