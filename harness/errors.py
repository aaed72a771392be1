"""Errors a user can act on. Their message is shown as is, without a traceback."""
from __future__ import annotations

import difflib
from collections.abc import Iterable


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
