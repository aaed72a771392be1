"""`evalh compare BASELINE CANDIDATE`: paired per-sample tests per task; exit 1 on a regression, 2 on a mismatch."""
from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command()
@click.argument("baseline")
@click.argument("candidate")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05, show_default=True,
              help="Significance level, after Holm's correction across tasks.")
@click.option("--max-drop", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Largest tolerated drop, in the metric's own units (0.02 = 2 points of accuracy; BLEU is 0-100).")
@click.option("--min-effect", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Smallest change worth detecting, in the metric's units: a 'no detectable change' whose minimum "
                   "detectable effect is larger is flagged underpowered (default: --max-drop, else 5% of the range).")
@click.option("--metric", help="Metric to compare where a task has it (default: each task's first metric).")
@click.option("--tasks", "-t", multiple=True, help="Only these tasks (comma-separated; default: all of the baseline's).")
@click.option("--resamples", type=click.IntRange(min=100), default=1000, show_default=True,
              help="Paired bootstrap resamples (corpus and mean metrics).")
@click.option("--seed", type=int, default=1234, show_default=True, help="Seed of the paired bootstrap.")
@click.option("--markdown", "markdown_file", type=click.Path(dir_okay=False), help="Also write Markdown here.")
@click.option("--junit", "junit_file", type=click.Path(dir_okay=False), help="Also write JUnit XML here.")
@click.option("--show-flips", type=click.IntRange(min=0), default=20, show_default=True,
              help="Changed items listed per task.")
def compare(baseline, candidate, tasks, markdown_file, junit_file, show_flips, **options) -> None:
    """Compare CANDIDATE with BASELINE sample by sample (run folders, results.json files, globs or folders of runs).

    Exit status: 0 no regression, 1 a regression, 2 the runs cannot be compared (different task version,
    data or prompts) or an input is unreadable.
    """
    from harness.errors import EvalhError
    from harness.report.compare import compare_runs
    from harness.report.loading import load_runs
    from harness.report.textfmt import format_compare_text

    names = [part.strip() for value in tasks for part in value.split(",") if part.strip()]
    try:
        result = compare_runs(load_runs([baseline]), load_runs([candidate]), tasks=names, **options)
    except EvalhError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(format_compare_text(result, show_flips))
    if markdown_file:
        from harness.report.markdown import compare_markdown

        _write(markdown_file, compare_markdown(result, show_flips))
    if junit_file:
        from harness.report.junit import compare_junit

        _write(junit_file, compare_junit(result, show_flips))
    sys.exit(result.exit_code)


def _write(path: str, text: str) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    click.echo(f"wrote {target}", err=True)
