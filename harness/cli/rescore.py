"""`evalh rescore`: a run's metrics recomputed from its samples.jsonl, with no model."""
from __future__ import annotations

import sys

import click


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--metrics", "metrics", multiple=True,
              help="Only these of the tasks' metrics (and only tasks declaring one), comma-separated; default: all.")
@click.option("--task-file", "task_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A task YAML whose definition (metrics, metric_options, filters) replaces the task of its name.")
@click.option("--output-dir", "-o", type=click.Path(),
              help="Where the new run folder goes (default: beside RUN_DIR).")
def rescore(run_dir: str, metrics: tuple[str, ...], task_files: tuple[str, ...], output_dir: str | None) -> None:
    """Recompute RUN_DIR's metrics from its samples.jsonl with the current metric code into a new run folder
    that names RUN_DIR as its source. No model is loaded.

    \b
    Examples:
      evalh rescore runs/20250101-120000-smollm2
      evalh rescore runs/RUN --task-file my_squad.yaml -o rescored
      evalh rescore runs/RUN --metrics exact_match,f1
    """
    from pathlib import Path

    from harness.console import format_summary
    from harness.errors import EvalhError
    from harness.evaluation import Evaluation
    from harness.rescore import rescore as rescore_run

    names = [part.strip() for value in metrics for part in value.split(",") if part.strip()]
    try:
        out_dir, result = rescore_run(Path(run_dir), Path(output_dir) if output_dir else None, metrics=names,
                                      task_files=[Path(p) for p in task_files])
    except EvalhError as exc:
        raise click.ClickException(str(exc)) from None
    if result.tasks:
        click.echo(format_summary(Evaluation(runs=[(out_dir, result)])))
    for error in result.errors:
        click.echo(f"error: {error.message}", err=True)
    click.echo(f"results: {out_dir / 'results.json'}")
    if result.errors:
        sys.exit(2)
