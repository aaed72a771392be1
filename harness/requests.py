"""The three kinds of work a model adapter does. Small frozen values, so identical requests dedupe."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Loglikelihood:
    """log P(continuation | context). An empty context means "score from the start of text"."""

    context: str
    continuation: str


@dataclass(frozen=True)
class Generate:
    """Greedy continuation of `prompt`, cut at the first of `until`, at most `max_tokens` new tokens."""

    prompt: str
    until: tuple[str, ...] = ()
    max_tokens: int = 256


@dataclass(frozen=True)
class Rolling:
    """Total log-likelihood of `text` from the start of text, over as many windows as it needs."""

    text: str


Request = Loglikelihood | Generate | Rolling
