"""`evalh cache`: show (`info`) and clear (`clear`) the response cache."""
from __future__ import annotations

import click

_DIR_HELP = "Folder of the response cache file (default: EVALH_CACHE_DIR, else evalh's cache dir)."


def _path(cache_dir: str | None):
    from harness.cache import default_cache_path
    from harness.config import load_config
    from harness.errors import EvalhError

    try:
        return default_cache_path(cache_dir or load_config().cache_dir)
    except EvalhError as exc:
        raise click.UsageError(str(exc)) from None


@click.group("cache")
def cache_group() -> None:
    """Show or clear the response cache (model responses keyed by model fingerprint and request)."""


@cache_group.command("info")
@click.option("--cache-dir", type=click.Path(), help=_DIR_HELP)
def info_cmd(cache_dir: str | None) -> None:
    """Print the cache file, its size and its entries per model (name and fingerprint)."""
    from harness.cache import CacheError, ResponseCache

    path = _path(cache_dir)
    click.echo(f"path: {path}")
    if not path.exists():
        click.echo("size: 0 bytes (no cache file yet)")
        return
    try:
        with ResponseCache.open(path) as cache:
            info = cache.info()
    except CacheError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"size: {_human(info.size_bytes)}")
    click.echo(f"entries: {info.total}")
    for fingerprint, kinds in sorted(info.entries.items(), key=lambda e: (info.names.get(e[0], "~"), e[0])):
        detail = ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items()))
        name = info.names.get(fingerprint, "(unnamed)")
        click.echo(f"  {name}  {fingerprint}: {sum(kinds.values())} ({detail})")


@cache_group.command("clear")
@click.option("--model-fingerprint", "--model", "fingerprint",
              help="Only one model's entries: its fingerprint (results.json's model.fingerprint) or the name it "
                   "was run under, as `evalh cache info` shows them. An unknown one is an error.")
@click.option("--cache-dir", type=click.Path(), help=_DIR_HELP)
def clear_cmd(fingerprint: str | None, cache_dir: str | None) -> None:
    """Delete cached responses: all of them, or one model's. A corrupt cache file is deleted."""
    from harness.cache import CacheError, ResponseCache, remove_cache_file

    path = _path(cache_dir)
    if not path.exists():
        click.echo(f"nothing to clear: {path} does not exist")
        return
    try:
        with ResponseCache.open(path) as cache:
            targets = [None] if fingerprint is None else cache.fingerprints_of(fingerprint)
            if not targets:
                raise click.ClickException(f"no cached responses for model or fingerprint {fingerprint!r} in "
                                           f"{path}; `evalh cache info` lists what is cached")
            deleted = sum(cache.clear(target) for target in targets)
    except CacheError as exc:
        if fingerprint is not None:
            raise click.ClickException(f"{exc} (`evalh cache clear` without --model-fingerprint deletes the file)") from None
        removed = remove_cache_file(path)
        click.echo(f"the cache file was unreadable; deleted {', '.join(str(p) for p in removed)}")
        return
    scope = f" of {fingerprint}" if fingerprint else ""
    if fingerprint and targets != [fingerprint]:
        scope += f" ({', '.join(targets)})"
    click.echo(f"deleted {deleted} cached response(s){scope} from {path}")


def _human(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"
