"""A deterministic fake model for tests: no weights, instant, and fully predictable.

- log-likelihood: a pseudo-random number from a hash of (seed, context, continuation), minus a
  length term; the continuation is "greedy" when its hash draw is small.
- generation ("parrot"): the last labelled line of the prompt before its final cue line, without the
  label: for "English: Good morning.\\nGerman:" it answers "Good morning.". That gives translation,
  QA and summarization metrics that are low but not zero, and that tests can compute independently.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence

from harness.models.base import ModelInfo, Progress, cut_at_stop
from harness.requests import Generate, Loglikelihood, Rolling


def unit_hash(*parts: str) -> float:
    """A number in [0, 1) from the sha256 of the parts."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def fake_logprob(context: str, continuation: str, seed: int = 0) -> tuple[float, bool]:
    """The fake's log P(continuation | context) and is_greedy."""
    draw = unit_hash(str(seed), context, continuation)
    return -(3.0 * draw + 0.05 * len(continuation)), draw < 0.2


def fake_generation(prompt: str, until: Sequence[str] = (), max_tokens: int = 256) -> str:
    """The fake's greedy output for a prompt (see the module docstring)."""
    lines = [line for line in prompt.rstrip().split("\n") if line.strip()]
    if len(lines) < 2:
        return ""
    label, sep, rest = lines[-2].partition(": ")
    text = rest if sep and len(label) <= 30 else lines[-2]
    words = text.split()[:max_tokens]
    return cut_at_stop(" " + " ".join(words), until)


class FakeModel:
    """Deterministic stand-in for a language model. `seed` changes every log-likelihood draw."""

    def __init__(self, seed: int = 0, name: str = "fake") -> None:
        self.seed = seed
        self.name = name
        self.calls: list[object] = []

    def info(self) -> ModelInfo:
        return ModelInfo(
            name=self.name, adapter="fake", source="fake", parameters=None,
            fingerprint=f"fake:seed={self.seed}", dtype=None, device=None, context_length=None,
        )

    def chat_prompt(self, text: str) -> str:
        """A fixed stand-in chat format: `<|user|>`, the text, `<|assistant|>`."""
        return f"<|user|>\n{text}\n<|assistant|>\n"

    def loglikelihood(self, requests: Sequence[Loglikelihood], progress: Progress = None) -> list[tuple[float, bool]]:
        self.calls.extend(requests)
        out = [fake_logprob(r.context, r.continuation, self.seed) for r in requests]
        if progress:
            progress(len(requests))
        return out

    def generate(self, requests: Sequence[Generate], progress: Progress = None) -> list[str]:
        self.calls.extend(requests)
        out = [fake_generation(r.prompt, r.until, r.max_tokens) for r in requests]
        if progress:
            progress(len(requests))
        return out

    def loglikelihood_rolling(self, requests: Sequence[Rolling], progress: Progress = None) -> list[float]:
        self.calls.extend(requests)
        out = [sum(-3.0 * unit_hash(str(self.seed), w) for w in r.text.split()) for r in requests]
        if progress:
            progress(len(requests))
        return out


def create(rest: str, options: object = None, display: str = "fake") -> FakeModel:
    """Entry point: `fake` or `fake:seed=N`."""
    seed = 0
    spec = display
    for option in filter(None, rest.split(",")):
        key, _, value = option.partition("=")
        if key != "seed" or not value.lstrip("-").isdigit():
            from harness.errors import ModelError

            raise ModelError(f"model '{spec}': unknown fake option '{option}' (the fake takes seed=N)")
        seed = int(value)
    return FakeModel(seed=seed, name=display)
