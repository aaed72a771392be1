"""ShardedModel: a ModelAdapter that splits each call into shards and runs them on a backend."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from harness.models.base import ModelAdapter, ModelInfo, Progress, Session
from harness.requests import Generate, Loglikelihood, Rolling


def shard_ranges(n: int, shards: int) -> list[range]:
    """Contiguous, nearly equal slices of range(n); no empty shards."""
    shards = max(1, min(shards, n))
    size, extra = divmod(n, shards)
    out, start = [], 0
    for k in range(shards):
        stop = start + size + (1 if k < extra else 0)
        out.append(range(start, stop))
        start = stop
    return [r for r in out if len(r)]


class Backend(Protocol):
    """Runs one adapter method on several shards and returns their results in shard order; answers the
    model's other questions from one copy of it. Between `open_task` and `close_task`, every copy of the
    model answers through a session opened with the whole task (`ModelAdapter.open`), so a shard's
    numbers are those the task gets in one process."""

    def run(self, method: str, shards: list[list[Any]], progress: Progress) -> list[list[Any]]: ...

    def open_task(self, task: list[Any]) -> None: ...

    def order(self, requests: list[Any]) -> list[Any]: ...

    def close_task(self) -> None: ...

    def info(self) -> ModelInfo: ...

    def ask(self, method: str, *args: Any) -> Any: ...

    def load(self, before: Callable[[], None]) -> bool: ...

    def close(self) -> None: ...


class LocalBackend:
    """The shards run one after another on a model loaded in this process."""

    def __init__(self, model: ModelAdapter) -> None:
        self.model = model
        self.session: Session | None = None

    def run(self, method: str, shards: list[list[Any]], progress: Progress) -> list[list[Any]]:
        target = self.session or self.model
        return [getattr(target, method)(part, progress=progress) for part in shards]

    def open_task(self, task: list[Any]) -> None:
        self.close_task()
        self.session = self.model.open(task)

    def order(self, requests: list[Any]) -> list[Any]:
        return self.session.order(requests) if self.session else list(requests)

    def close_task(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None

    def info(self) -> ModelInfo:
        return self.model.info()

    def ask(self, method: str, *args: Any) -> Any:
        return getattr(self.model, method)(*args)

    def load(self, before: Callable[[], None]) -> bool:
        return self.model.load(before)

    def close(self) -> None:
        self.model.close()


class ShardedModel(ModelAdapter):
    """A ModelAdapter over a backend: each call is split into `shards` parts and merged in order.

    Every method of the contract is forwarded: the three kinds of work shard by shard, the rest (identity,
    chat formats) to one copy of the model. Its session (`open`) hands the whole task to every copy, which
    lays it out as one process would (a transformers model finds the few-shot block shared by the task's
    items, not by its shard's), and asks in the order that layout gives, so shards cut from it split few
    forward passes.
    """

    def __init__(self, backend: Backend, shards: int) -> None:
        self.backend, self.shards = backend, max(1, shards)
        self._info: ModelInfo | None = None

    def info(self) -> ModelInfo:
        if self._info is None:
            self._info = self.backend.info()
        return self._info

    def chat_conversation(self, messages: Sequence[Mapping[str, str]]) -> str:
        return self.backend.ask("chat_conversation", [dict(m) for m in messages])

    def chat_prompt(self, text: str) -> str:
        return self.backend.ask("chat_prompt", text)

    def load(self, before: Callable[[], None] = lambda: None) -> bool:
        return self.backend.load(before)

    def close(self) -> None:
        """Free the backend's workers (in process: the model's own `close`)."""
        self.backend.close()

    def open(self, requests: Sequence[Any]) -> Session:
        return _ShardedSession(self, list(requests))

    def _map(self, method: str, requests: Sequence[Any], progress: Progress) -> list[Any]:
        if not requests:
            return []
        parts = [[requests[i] for i in r] for r in shard_ranges(len(requests), self.shards)]
        merged = [response for part in self.backend.run(method, parts, progress) for response in part]
        if len(merged) != len(requests):
            raise RuntimeError(f"{method}: {len(merged)} responses for {len(requests)} requests")
        return merged

    def loglikelihood(self, requests: Sequence[Loglikelihood], progress: Progress = None) -> list[tuple[float, bool]]:
        return self._map("loglikelihood", requests, progress)

    def generate(self, requests: Sequence[Generate], progress: Progress = None) -> list[str]:
        return self._map("generate", requests, progress)

    def loglikelihood_rolling(self, requests: Sequence[Rolling], progress: Progress = None) -> list[float]:
        return self._map("loglikelihood_rolling", requests, progress)


class _ShardedSession(Session):
    """A task's session over the shards: the backend's copies answer through sessions of the whole task."""

    model: ShardedModel

    def __init__(self, model: ShardedModel, task: list[Any]) -> None:
        super().__init__(model)
        model.backend.open_task(task)

    def order(self, requests: Sequence[Any]) -> list[Any]:
        return self.model.backend.order(list(requests))

    def close(self) -> None:
        self.model.backend.close_task()
