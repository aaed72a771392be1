"""Where evalh's own data folders and caches live."""
from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def builtin_tasks_dir() -> Path:
    """The shipped task definitions: inside the wheel (harness/_tasks) or, from a checkout, ../tasks."""
    installed = _PACKAGE / "_tasks"
    if installed.is_dir() and any(installed.iterdir()):
        return installed
    return _PACKAGE.parent / "tasks"


def builtin_reports_dir() -> Path:
    """The report templates and assets: inside the wheel (harness/_reports) or, from a checkout, ../reports."""
    installed = _PACKAGE / "_reports"
    if installed.is_dir() and any(installed.iterdir()):
        return installed
    return _PACKAGE.parent / "reports"


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """The folder evalh keeps every cache in (responses, assembled and converted GGUF models): `cache_dir`
    (the run's --cache-dir / EVALH_CACHE_DIR, read by harness.config), else $XDG_CACHE_HOME/evalh, else
    ~/.cache/evalh."""
    if cache_dir:
        return Path(cache_dir).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "evalh"


def writable_folder(folder: str | Path, option: str) -> Path:
    """`folder`, created if needed, after checking that a file can be written in it; else an EvalhError
    naming the folder and the option that chose it, raised before any slow work (loading a model) starts."""
    from harness.errors import EvalhError

    path = Path(folder).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".evalh-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise EvalhError(f"{option} {folder}: cannot write there ({exc.strerror or exc}); choose another folder") from None
    return path
