"""The three kinds of work a model adapter does. Small frozen values, so identical requests dedupe."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Loglikelihood:
    """log P(continuation | context). An empty context means "score from the start of text"."""

    context: str
    continuation: str


@dataclass(frozen=True)
class Sampling:
    """How to draw a sampled generation instead of the greedy one.

    `seed` is the run's seed and `index` which of an item's repeats this is: together with the prompt they
    fix the draw, so a rerun with the same seed gives the same text and the repeats of one prompt differ.
    `top_p` 1.0 and `top_k` 0 mean no nucleus or top-k cut.
    """

    temperature: float
    top_p: float = 1.0
    top_k: int = 0
    seed: int = 1234
    index: int = 0


@dataclass(frozen=True)
class Generate:
    """A continuation of `prompt`, cut at the first of `until`, at most `max_tokens` new tokens: greedy,
    or drawn as `sampling` says when it is given."""

    prompt: str
    until: tuple[str, ...] = ()
    max_tokens: int = 256
    sampling: Sampling | None = None


@dataclass(frozen=True)
class Rolling:
    """Total log-likelihood of `text` from the start of text, over as many windows as it needs."""

    text: str


Request = Loglikelihood | Generate | Rolling
