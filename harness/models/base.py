"""The model contract: `ModelAdapter` (every backend subclasses it), its per-task `Session`, and `ModelInfo`."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from harness.requests import Generate, Loglikelihood, Request, Rolling

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


class ModelAdapter:
    """The whole contract between evalh and a model backend: every method evalh calls on a model.

    Subclass it. `info`, `loglikelihood` and `generate` are required; the others have defaults that say
    what a backend without the capability does. Nothing in evalh probes an adapter for other methods, and
    a wrapper (shards, Ray) overrides every method here by delegation, so no capability is dropped.

    A request is a frozen value (harness.requests); a method takes a list of them and answers each, in
    order. `progress`, when given, is called with the number of requests just answered.

    Worked example, for a model that knows its capitals::

        model.loglikelihood([Loglikelihood("The capital of France is", " Paris"),
                             Loglikelihood("The capital of France is", " London")])
        -> [(-0.26, True), (-4.4, False)]
        # log P(continuation | context), summed over the continuation's tokens, and whether greedy
        # decoding from the context gives exactly the continuation's tokens

        model.generate([Generate("Q: 2 + 2 =\nA:", until=("\n",), max_tokens=8)])
        -> [" 4"]          # greedy, at most 8 new tokens, cut before the first stop string

        model.generate([Generate("Q: 2 + 2 =\nA:", ("\n",), 8, Sampling(0.8, top_p=0.95, seed=1, index=k))
                        for k in range(3)])
        -> [" 4", " 4", " four"]   # three draws (harness.requests.Sampling); the same seed and index
                                   # give the same text again

        model.loglikelihood_rolling([Rolling("The cat sat on the mat.")])
        -> [-21.7]         # log P(text) from an empty context (the prefix token), over windows
                           # of the context length when the text is longer

    The runner opens a `Session` per task (`open`) with all of the task's requests, and asks through it:
    a backend that lays out its work per task (batch layouts, a decoding schedule, memos) keeps that
    state in its session, and it dies with the session.
    """

    def info(self) -> ModelInfo:
        """Identity for results files and the response cache: name, parameters, fingerprint (changes
        whenever a number could), dtype, device, context length. Must not load weights."""
        raise NotImplementedError

    def loglikelihood(self, requests: Sequence[Loglikelihood], progress: Progress = None) -> list[tuple[float, bool]]:
        """(sum of log-probabilities of `continuation` given `context`, is_greedy) per request."""
        raise NotImplementedError

    def generate(self, requests: Sequence[Generate], progress: Progress = None) -> list[str]:
        """Continuation of each `prompt`: at most `max_tokens` new tokens, cut before the first of `until`
        (see `cut_at_stop`); an empty budget gives "".

        Greedy when `sampling` is None. Otherwise drawn at `sampling.temperature`, within `top_k` (0: no
        cut) and `top_p` (1.0: no cut), and reproducible: the draw is fixed by `sampling.seed`,
        `sampling.index` (which repeat) and the prompt, never by global random state or by the other
        requests of the call, so a rerun gives the same text and the repeats of a prompt differ. A backend
        that cannot seed its draws (a server that ignores `seed`) says so in its docstring. Greedy
        requests and sampled ones may come in one call."""
        raise NotImplementedError

    def loglikelihood_rolling(self, requests: Sequence[Rolling], progress: Progress = None) -> list[float]:
        """Total log-likelihood of each `text` (perplexity tasks). Default: not supported."""
        from harness.errors import ModelError

        raise ModelError(f"model {self.info().name} cannot score whole texts (loglikelihood_rolling)")

    def load(self, before: Callable[[], None] = lambda: None) -> bool:
        """Load what computing needs (weights) if the model defers it to first use, calling `before()` just
        before the load starts; True when something was loaded now. The runner calls it before its first
        computation, so loading is its own step (timed as the run's `model_load_s`), and a run answered
        entirely by the response cache loads nothing. Default: nothing is deferred."""
        return False

    def open(self, requests: Sequence[Request]) -> Session:
        """A session for one task, given all of its requests in item order, duplicates included, before
        the runner dedupes them, asks the response cache and splits the rest into calls. Default: a
        session that passes every call straight to the model."""
        return Session(self)

    def chat_conversation(self, messages: Sequence[Mapping[str, str]]) -> str:
        """`messages` (`[{"role": "system" | "user" | "assistant", "content": ...}, ...]`) in the model's
        chat format, ready for the assistant's next turn; when the last message is the assistant's, ready for
        the model to continue that message (an answer prefix). Default: the model has no chat format."""
        from harness.errors import ModelError

        raise ModelError(f"model {self.info().name} has no chat template; run without --apply-chat-template")

    def chat_prompt(self, text: str) -> str:
        """`text` as one user turn in the chat format (`--apply-chat-template`)."""
        return self.chat_conversation([{"role": "user", "content": text}])

    def close(self) -> None:
        """Free what the model holds (workers, connections). Default: nothing to free."""


class Session:
    """One task's view of a model (`ModelAdapter.open`); the runner asks through it and closes it after.

    The default passes each call to the model and keeps the runner's order. A backend whose numbers
    depend on which requests share a batch subclasses it, lays the task out once, and answers any split of
    the task into calls with the numbers of one uninterrupted call.
    """

    def __init__(self, model: ModelAdapter) -> None:
        self.model = model

    def order(self, requests: Sequence[Request]) -> list[Request]:
        """The order to ask for `requests` (one kind), so that calls cut from it each do whole batches."""
        return list(requests)

    def loglikelihood(self, requests: Sequence[Loglikelihood], progress: Progress = None) -> list[tuple[float, bool]]:
        return self.model.loglikelihood(requests, progress)

    def generate(self, requests: Sequence[Generate], progress: Progress = None) -> list[str]:
        return self.model.generate(requests, progress)

    def loglikelihood_rolling(self, requests: Sequence[Rolling], progress: Progress = None) -> list[float]:
        return self.model.loglikelihood_rolling(requests, progress)

    def close(self) -> None:
        """Drop the task's state."""

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def cut_at_stop(text: str, until: Sequence[str]) -> str:
    """Cut generated text at the first occurrence of any stop string (as lm-eval does)."""
    for stop in until:
        if stop:
            text = text.split(stop, 1)[0]
    return text
