"""`evalh import`: convert another harness's results into an evalh run folder."""
from __future__ import annotations

import click


@click.command("import")
@click.argument("source", type=click.Path(exists=True))
@click.option("--output-dir", type=click.Path(), default="runs", show_default=True, help="Where the run folder goes.")
@click.option("--name", help="Model name to record (default: lm-eval's model name).")
def import_cmd(source: str, output_dir: str, name: str | None) -> None:
    """Import an lm-eval output (results_*.json, or the folder holding it, with its samples_*.jsonl)."""
    from pathlib import Path

    from harness.bridge.lm_eval_import import import_lm_eval
    from harness.errors import EvalhError

    try:
        run_dir, result = import_lm_eval(Path(source), Path(output_dir), name)
    except EvalhError as exc:
        raise click.ClickException(str(exc)) from None
    n = sum(1 for _ in (run_dir / "samples.jsonl").open())
    click.echo(f"imported {len(result.tasks)} task(s), {n} samples: {run_dir / 'results.json'}")
