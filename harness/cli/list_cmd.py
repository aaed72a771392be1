"""`evalh list tasks` and `evalh list models`: one line each."""
from __future__ import annotations

import click


@click.group("list")
def list_group() -> None:
    """List what evalh can run."""


@list_group.command("tasks")
@click.argument("pattern", metavar="[FILTER]", required=False)
@click.option("--include-path", "include_paths", multiple=True, type=click.Path(), help="Also list tasks from this folder.")
@click.option("--data-dir", type=click.Path(), help="Count hub tasks' items in this local mirror (or EVALH_DATA_DIR).")
def list_tasks(pattern: str | None, include_paths: tuple[str, ...], data_dir: str | None) -> None:
    """Every task (groups, type, items where known, description), then the groups.

    FILTER keeps the tasks whose name or one of whose groups contains it (or matches it, as a glob
    such as 'mmlu_*'). Hub tasks are counted from the mirror given with --data-dir; without one, or
    without their mirror file there, they show '? items'.
    """
    from fnmatch import fnmatchcase
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
    def matches(name: str) -> bool:
        if pattern is None:
            return True
        glob = any(c in pattern for c in "*?[")
        return fnmatchcase(name, pattern) if glob else pattern.lower() in name.lower()

    tasks = {n: s for n, s in index.tasks.items() if matches(n) or any(matches(g) for g in s.groups)}
    if not tasks:
        raise click.ClickException(f"no task or group matches {pattern!r} (`evalh list tasks` lists them all)")
    width = max((len(n) for n in tasks), default=10)
    unknown = 0
    for name, spec in sorted(tasks.items()):
        count = item_count(spec, Path(data_dir) if data_dir else None)
        items = f"{count} items" if count is not None else "? items"
        unknown += count is None
        groups = ",".join(spec.groups) or "-"
        about = spec.description if len(spec.description) <= 110 else spec.description[:107].rstrip() + "..."
        click.echo(f"{name:<{width}}  {spec.output_type:<15}  {items:>11}  [{groups}]  {about}")
    for group, members in index.groups.items():
        if matches(group) or any(m in tasks for m in members):
            click.echo(f"group {group}: {', '.join(members)}")
    if unknown and not data_dir:
        click.echo(f"{unknown} task(s) show '? items': pass --data-dir DIR (a local hub mirror) to count them",
                   err=True)
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
