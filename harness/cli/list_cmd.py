"""`evalh list tasks` and `evalh list models`: one line each."""
from __future__ import annotations

import click


@click.group("list")
def list_group() -> None:
    """List what evalh can run."""


@list_group.command("tasks")
@click.option("--include-path", "include_paths", multiple=True, type=click.Path(), help="Also list tasks from this folder.")
@click.option("--data-dir", type=click.Path(), help="Count hub tasks' items in this local mirror (or EVALH_DATA_DIR).")
def list_tasks(include_paths: tuple[str, ...], data_dir: str | None) -> None:
    """Every task (groups, type, items where known, description), then the groups."""
    from pathlib import Path

    from harness.config import load_config
    from harness.errors import EvalhError
    from harness.tasks.loader import build_index
    from harness.tasks.catalog import item_count

    try:
        index = build_index(include_paths)
        data_dir = data_dir or load_config().data_dir
    except EvalhError as exc:
        raise click.UsageError(str(exc)) from None
    width = max((len(n) for n in index.tasks), default=10)
    for name, spec in sorted(index.tasks.items()):
        count = item_count(spec, Path(data_dir) if data_dir else None)
        items = f"{count} items" if count is not None else "? items"
        groups = ",".join(spec.groups) or "-"
        about = spec.description if len(spec.description) <= 110 else spec.description[:107].rstrip() + "..."
        click.echo(f"{name:<{width}}  {spec.output_type:<15}  {items:>11}  [{groups}]  {about}")
    for group, members in index.groups.items():
        click.echo(f"group {group}: {', '.join(members)}")
    for broken in index.broken:
        click.echo(f"unreadable: {broken.message}", err=True)


@list_group.command("models")
def list_models() -> None:
    """Installed model aliases, and the other ways to name a model."""
    from harness.models.packaged import PACKAGED, is_installed

    for alias, model in PACKAGED.items():
        state = "installed" if is_installed(model) else f"not installed ({model.install_hint})"
        click.echo(f"{alias:<20} {model.size_label:>5}  {state:<12}  {model.description}")
    click.echo(f"{'fake':<20} {'-':>5}  {'built-in':<12}  deterministic fake for tests (fake:seed=N)")
    click.echo("also: a hub id (gpt2, org/name), a local transformers folder, or a .gguf file")
