"""Errors a user can act on. Their message is shown as is, without a traceback."""
from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path


class EvalhError(Exception):
    """An error caused by the user's input or environment, with a message that says what to do."""


class ConfigError(EvalhError):
    """A bad option, config file or environment variable."""


class TaskError(EvalhError):
    """A task that cannot be found, read or built."""


class DataError(EvalhError):
    """A dataset that cannot be loaded, or a row that does not fit the task."""


class ModelError(EvalhError):
    """A model that cannot be found or loaded."""


def did_you_mean(word: str, candidates: Iterable[str], n: int = 3) -> str:
    """Return ' (did you mean: a, b?)' for close matches of `word`, or ''."""
    matches = difflib.get_close_matches(word, sorted(set(candidates)), n=n, cutoff=0.6)
    return f" (did you mean: {', '.join(matches)}?)" if matches else ""


def utf8_problem(path: Path) -> str:
    """Where `path` stops being UTF-8, as 'PATH:LINE: ...' (a decoder's byte offset means nothing to a user)."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return (f"{path}:{line}: not valid UTF-8 (byte 0x{data[exc.start]:02x} at column {column}); "
                "save the file as UTF-8")
    return f"{path}: not valid UTF-8"
