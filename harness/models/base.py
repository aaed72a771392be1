"""The ModelAdapter protocol every backend implements, and the ModelInfo it reports."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from harness.requests import Generate, Loglikelihood, Rolling

Progress = Callable[[int], None] | None
"""Called with the number of requests just finished, so a caller can draw a progress bar."""


class ModelInfo(BaseModel):
    """What a results file records about a model."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="the name the user gave (alias, path or hub id)")
    adapter: str
    source: str = Field(description="what was loaded: a folder, a .gguf file, a hub id")
    parameters: int | None = None
    size_label: str | None = Field(default=None, description="nominal size, e.g. 135M, from GGUF metadata")
    fingerprint: str = Field(description="changes whenever weights, tokenizer, revision or dtype change")
    dtype: str | None = None
    device: str | None = None
    context_length: int | None = None
    revision: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


@runtime_checkable
class ModelAdapter(Protocol):
    """What the runner needs from a model.

    Example, for a model that knows its capitals::

        adapter.loglikelihood([Loglikelihood("The capital of France is", " Paris")])
        -> [(-0.26, True)]        # log P(" Paris" | context), and whether greedy decoding gives it
        adapter.generate([Generate("The capital of France is", until=("\\n",), max_tokens=8)])
        -> [" Paris."]
    """

    def info(self) -> ModelInfo: ...

    def loglikelihood(self, requests: Sequence[Loglikelihood], progress: Progress = None) -> list[tuple[float, bool]]: ...

    def generate(self, requests: Sequence[Generate], progress: Progress = None) -> list[str]: ...

    def loglikelihood_rolling(self, requests: Sequence[Rolling], progress: Progress = None) -> list[float]: ...


def cut_at_stop(text: str, until: Sequence[str]) -> str:
    """Cut generated text at the first occurrence of any stop string (as lm-eval does)."""
    for stop in until:
        if stop:
            text = text.split(stop, 1)[0]
    return text
