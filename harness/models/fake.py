"""A deterministic fake model for tests: no weights, instant, and fully predictable.

- log-likelihood: a pseudo-random number from a hash of (seed, context, continuation), minus a
  length term; the continuation is "greedy" when its hash draw is small.
- generation ("parrot"): the last labelled line of the prompt before its final cue line, without the
  label: for "English: Good morning.\\nGerman:" it answers "Good morning.". That gives translation,
  QA and summarization metrics that are low but not zero, and that tests can compute independently.
- sampled generation (a request with `sampling`): the greedy output with each word swapped, with
  probability min(1, temperature / 2), for a word of the prompt, drawn from a Random seeded by the
  request's seed, prompt and repeat index: the same seed gives the same text, another seed another.
- a fake that knows answers (`fake:answers=PATH;wrong=0.2`, for planted regressions in report tests):
  PATH is a JSON object mapping a context to its correct continuation (e.g.
  {"Question: What is the capital of France?\nAnswer:": " Paris"}). For a known context the correct
  continuation gets log-likelihood -0.01 (greedy) and every other continuation its usual draw minus 1,
  so the correct choice wins; for a deterministic fraction `wrong` of the known contexts (those with
  unit_hash(seed, "wrong", context) < wrong) the correct continuation gets -50 instead, so another
  choice wins. Unknown contexts and generation behave as the plain fake.

Options follow `fake:` as key=value pairs separated by ';' (or ',' where the model name is not itself
inside a comma-separated list such as --model or EVALH_MODELS): seed=N, answers=PATH, wrong=FRACTION.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from harness.models.base import ModelAdapter, ModelInfo, Progress, cut_at_stop
from harness.requests import Generate, Loglikelihood, Rolling


def unit_hash(*parts: str) -> float:
    """A number in [0, 1) from the sha256 of the parts."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def fake_logprob(context: str, continuation: str, seed: int = 0) -> tuple[float, bool]:
    """The fake's log P(continuation | context) and is_greedy."""
    draw = unit_hash(str(seed), context, continuation)
    return -(3.0 * draw + 0.05 * len(continuation)), draw < 0.2


def fake_sample(request: Generate) -> str:
    """The fake's sampled output for a request with `sampling` (see the module docstring)."""
    import random

    greedy = fake_generation(request.prompt, request.until, request.max_tokens)
    sampling = request.sampling
    if sampling is None or not greedy:
        return greedy
    rnd = random.Random(f"{sampling.seed}\x1f{sampling.index}\x1f{request.prompt}")
    pool = request.prompt.split() or ["?"]
    swap = min(1.0, sampling.temperature / 2)
    words = [rnd.choice(pool) if rnd.random() < swap else word for word in greedy.split()]
    return cut_at_stop(" " + " ".join(words), request.until)


def fake_generation(prompt: str, until: Sequence[str] = (), max_tokens: int = 256) -> str:
    """The fake's greedy output for a prompt (see the module docstring)."""
    lines = [line for line in prompt.rstrip().split("\n") if line.strip()]
    if len(lines) < 2:
        return ""
    label, sep, rest = lines[-2].partition(": ")
    text = rest if sep and len(label) <= 30 else lines[-2]
    words = text.split()[:max_tokens]
    return cut_at_stop(" " + " ".join(words), until)


class FakeModel(ModelAdapter):
    """Deterministic stand-in for a language model. `seed` changes every log-likelihood draw."""

    def __init__(self, seed: int = 0, name: str = "fake", answers: Mapping[str, str] | None = None,
                 wrong: float = 0.0) -> None:
        self.seed = seed
        self.name = name
        self.calls: list[object] = []
        self.answers, self.wrong = dict(answers or {}), wrong

    def info(self) -> ModelInfo:
        return ModelInfo(
            name=self.name, adapter="fake", source="fake", parameters=None,
            fingerprint=self._fingerprint(), dtype=None, device=None, context_length=None,
        )

    def _fingerprint(self) -> str:
        if not self.answers:
            return f"fake:seed={self.seed}"
        digest = hashlib.sha256(json.dumps(self.answers, sort_keys=True).encode()).hexdigest()[:12]
        return f"fake:seed={self.seed},answers={digest},wrong={self.wrong}"

    def answers_wrong(self, context: str) -> bool:
        """Whether this (knowing) fake deliberately prefers a wrong choice for `context`."""
        return unit_hash(str(self.seed), "wrong", context) < self.wrong

    def _logprob(self, context: str, continuation: str) -> tuple[float, bool]:
        correct = self.answers.get(context)
        if correct is None:
            return fake_logprob(context, continuation, self.seed)
        if continuation == correct:
            return (-50.0, False) if self.answers_wrong(context) else (-0.01, True)
        return fake_logprob(context, continuation, self.seed)[0] - 1.0, False

    def chat_conversation(self, messages: Sequence[Mapping[str, str]]) -> str:
        """A fixed stand-in chat format: each message as `<|role|>` and its text, then `<|assistant|>`; a last
        message of the assistant is left open (no newline after it) for the model to continue."""
        if messages and messages[-1]["role"] == "assistant":
            *done, last = messages
            return self.chat_conversation(done)[: -len("<|assistant|>\n")] + f"<|assistant|>\n{last['content']}"
        return "".join(f"<|{m['role']}|>\n{m['content']}\n" for m in messages) + "<|assistant|>\n"

    def loglikelihood(self, requests: Sequence[Loglikelihood], progress: Progress = None) -> list[tuple[float, bool]]:
        self.calls.extend(requests)
        out = [self._logprob(r.context, r.continuation) for r in requests]
        if progress:
            progress(len(requests))
        return out

    def generate(self, requests: Sequence[Generate], progress: Progress = None) -> list[str]:
        self.calls.extend(requests)
        out = [fake_sample(r) if r.sampling else fake_generation(r.prompt, r.until, r.max_tokens) for r in requests]
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
    """Entry point: `fake`, `fake:seed=N`, `fake:answers=PATH;wrong=0.2` (see the module docstring)."""
    from harness.errors import ModelError

    seed, answers, wrong = 0, None, 0.0
    for option in filter(None, re.split(r"[;,]", rest)):
        key, _, value = option.partition("=")
        try:
            if key == "seed" and value.lstrip("-").isdigit():
                seed = int(value)
            elif key == "answers" and value:
                answers = _read_answers(value)
            elif key == "wrong" and 0.0 <= float(value) <= 1.0:
                wrong = float(value)
            else:
                raise ValueError(option)
        except ValueError:
            raise ModelError(f"model '{display}': bad fake option '{option}' (the fake takes seed=N, "
                             "answers=PATH and wrong=FRACTION in [0, 1], separated by ';')") from None
    return FakeModel(seed=seed, name=display, answers=answers, wrong=wrong)


def _read_answers(path: str) -> dict[str, str]:
    from harness.errors import ModelError

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"fake answers file {path}: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ModelError(f"fake answers file {path}: expected a JSON object of context -> continuation")
    return data
