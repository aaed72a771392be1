"""ShardedModel: a ModelAdapter that splits each call into shards and runs them on a backend."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from harness.models.base import ModelAdapter, ModelInfo, Progress
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
    model's other questions from one copy of it."""

    def run(self, method: str, shards: list[list[Any]], progress: Progress) -> list[list[Any]]: ...

    def info(self) -> ModelInfo: ...

    def ask(self, method: str, *args: Any) -> Any: ...

    def load(self, before: Callable[[], None]) -> bool: ...

    def close(self) -> None: ...


class LocalBackend:
    """The shards run one after another on a model loaded in this process."""

    def __init__(self, model: ModelAdapter) -> None:
        self.model = model

    def run(self, method: str, shards: list[list[Any]], progress: Progress) -> list[list[Any]]:
        return [getattr(self.model, method)(part, progress=progress) for part in shards]

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
    chat formats) to one copy of the model. Its session is the default one: each shard lays out its own
    requests, so a transformers model in bf16 equals a single-process run only up to rounding.
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
