"""An lm-eval `LM` that forwards to an evalh ModelAdapter, so lm-eval tasks run on evalh's models."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from harness.models.base import ModelAdapter
from harness.requests import Generate, Loglikelihood, Request, Rolling

DEFAULT_MAX_GEN_TOKS = 256  # lm-eval's default max_gen_toks


def _until(kwargs: dict[str, Any]) -> tuple[str, ...]:
    until = kwargs.get("until") or ()
    return (until,) if isinstance(until, str) else tuple(until)


def _direct(adapter: ModelAdapter) -> Callable[[Sequence[Request]], list]:
    """Answer requests of one kind straight from the adapter (no memo, no cache)."""
    def ask(requests: Sequence[Request]) -> list:
        if not requests:
            return []
        kind = type(requests[0])
        method = {Loglikelihood: adapter.loglikelihood, Generate: adapter.generate,
                  Rolling: adapter.loglikelihood_rolling}[kind]
        return method(list(requests))
    return ask


def lm_for(adapter: ModelAdapter, ask: Callable[[Sequence[Request]], list] | None = None):
    """Wrap `adapter` as an lm_eval.api.model.LM (lm_eval is imported only here). Its requests are
    answered by `ask` (the runner's, with memo and response cache), else by the adapter directly."""
    from lm_eval.api.model import LM

    answer = ask or _direct(adapter)

    class EvalhLM(LM):
        def __init__(self) -> None:
            super().__init__()
            self.adapter = adapter

        def loglikelihood(self, requests, disable_tqdm: bool = False):
            return answer([Loglikelihood(*r.args) for r in requests])

        def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
            return answer([Rolling(r.args[0]) for r in requests])

        def generate_until(self, requests, disable_tqdm: bool = False):
            return answer([Generate(ctx, _until(kw), int(kw.get("max_gen_toks", DEFAULT_MAX_GEN_TOKS)))
                           for ctx, kw in (r.args for r in requests)])

        @property
        def tokenizer_name(self) -> str:
            return self.adapter.info().name

        def apply_chat_template(self, chat_history, add_generation_prompt: bool = True) -> str:
            text = "\n\n".join(turn["content"] for turn in chat_history)
            return self.adapter.chat_prompt(text)

    return EvalhLM()
