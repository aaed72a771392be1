"""One task's requests, laid out once for the transformers adapter.

A model's rounding can depend on which rows share a forward pass (some CPU kernels split their work by the
pass's row count, differently at other thread counts). So the passes are cut from the whole task, once:
the scorers (`hf_scoring.Batched`) and the decoding schedule (`hf_generate.decode`) are built from every
request of the task, and a call only runs (or continues) what its own requests need, keeping the rest for
later calls. Any split of a task into calls, a run answered partly by the response cache, and a run resumed
after a kill then give every request the numbers of one uninterrupted call.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from harness.models.base import Progress
from harness.models.hf.scoring import Batched, Packed, Plain, routes_attention
from harness.requests import Generate, Loglikelihood, Request, Rolling

Pair = tuple[list[int], list[int]]


class TaskPlan:
    """A task's requests by kind (generation in item order with duplicates, as lm-eval cuts its batches
    from them), and what is built from them on first use; held by the task's session."""

    def __init__(self, requests: Sequence[Request]) -> None:
        self.scoring = list(dict.fromkeys(r for r in requests if isinstance(r, Loglikelihood)))
        self.rolling = list(dict.fromkeys(r for r in requests if isinstance(r, Rolling)))
        self.generation = [r for r in requests if isinstance(r, Generate) and r.sampling is None]  # greedy
        self.sampled = list(dict.fromkeys(r for r in requests if isinstance(r, Generate) and r.sampling is not None))
        self.scorer: Any = None  # a `Batched` over `scoring`
        self.roller: RollingScorer | None = None
        self.schedule: Iterator[list[tuple[int, str]]] | None = None  # hf_generate.decode over `generation`
        self.texts: dict[Generate, str] = {}  # generated so far
        self.prompt_tokens: dict[tuple[str, int], list[int]] = {}  # (prompt, budget) -> tokens, encoded once
        self.index: dict[type, dict[Request, int]] = {  # a request's position in its kind's list, built once
            Loglikelihood: {r: i for i, r in enumerate(self.scoring)},
            Rolling: {r: i for i, r in enumerate(self.rolling)},
            Generate: {r: i for i, r in enumerate([*self.generation, *self.sampled])}}

    def covers(self, kind: type, requests: Sequence[Request]) -> bool:
        """Whether the plan holds every one of `requests` (of `kind`)."""
        return all(r in self.index[kind] for r in requests)


class InvariantScorer(Batched):
    """Batch-invariant scoring in any dtype: pairs that fit the window share prefixes (`Packed`), the rest
    are left-truncated and scored plainly (`Plain`), and so is every pair of a model whose attention does
    not go through transformers' attention interface; a pair's numbers do not depend on the batch size."""

    def __init__(self, model, pairs: Sequence[Pair], max_length: int, batch_size: int, device: str,
                 window: int | None) -> None:
        fits = [i for i, (ctx, cont) in enumerate(pairs) if len(ctx) + len(cont) <= max_length]
        if fits and not routes_attention(model):
            fits = []
        chosen = set(fits)
        rest = [i for i in range(len(pairs)) if i not in chosen]
        self.parts: list[tuple[list[int], Batched]] = []
        if fits:
            self.parts.append((fits, Packed(model, [pairs[i] for i in fits], batch_size, device, window)))
        if rest:
            self.parts.append((rest, Plain(model, [pairs[i] for i in rest], max_length, batch_size, device)))
        batches = [[members[i] for i in batch] for members, part in self.parts for batch in part.batches]
        super().__init__(batches)
        self._part_of = {i: (p, local) for p, (members, _) in enumerate(self.parts) for local, i in enumerate(members)}

    def _run(self, batch: list[int]) -> list[tuple[float, bool]]:
        p, _ = self._part_of[batch[0]]
        return self.parts[p][1].answers([self._part_of[i][1] for i in batch])


class RollingScorer:
    """Total log-likelihood of whole texts from their windows (`hf.rolling_windows`), scored plainly in
    passes cut once from every window of the task."""

    def __init__(self, model, windows: list[Pair], owners: list[int], count: int, max_length: int, rows: int,
                 device: str) -> None:
        self.plain = Plain(model, windows, max_length, rows, device)
        self.windows_of: list[list[int]] = [[] for _ in range(count)]
        for w, owner in enumerate(owners):
            self.windows_of[owner].append(w)

    def order(self) -> list[int]:
        """Text indices in the order their first windows are scored."""
        first = {w: k for k, w in enumerate(self.plain.order())}
        return sorted(range(len(self.windows_of)), key=lambda i: min((first[w] for w in self.windows_of[i]), default=-1))

    def answers(self, indices: Sequence[int], progress: Progress = None) -> list[float]:
        windows = [w for i in indices for w in self.windows_of[i]]
        scored = dict(zip(windows, self.plain.answers(windows))) if windows else {}
        if progress:
            progress(len(indices))
        return [sum((scored[w][0] for w in self.windows_of[i]), 0.0) for i in indices]
