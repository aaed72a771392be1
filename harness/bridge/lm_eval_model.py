"""An lm-eval `LM` that forwards to an evalh ModelAdapter, so lm-eval tasks run on evalh's models."""
from __future__ import annotations

from typing import Any

from harness.models.base import ModelAdapter
from harness.requests import Generate, Loglikelihood, Rolling

DEFAULT_MAX_GEN_TOKS = 256  # lm-eval's default max_gen_toks


def _until(kwargs: dict[str, Any]) -> tuple[str, ...]:
    until = kwargs.get("until") or ()
    return (until,) if isinstance(until, str) else tuple(until)


def lm_for(adapter: ModelAdapter):
    """Wrap `adapter` as an lm_eval.api.model.LM (lm_eval is imported only here)."""
    from lm_eval.api.model import LM

    class EvalhLM(LM):
        def __init__(self) -> None:
            super().__init__()
            self.adapter = adapter

        def loglikelihood(self, requests, disable_tqdm: bool = False):
            return self.adapter.loglikelihood([Loglikelihood(*r.args) for r in requests])

        def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
            return self.adapter.loglikelihood_rolling([Rolling(r.args[0]) for r in requests])

        def generate_until(self, requests, disable_tqdm: bool = False):
            batch = [Generate(ctx, _until(kw), int(kw.get("max_gen_toks", DEFAULT_MAX_GEN_TOKS)))
                     for ctx, kw in (r.args for r in requests)]
            return self.adapter.generate(batch)

        @property
        def tokenizer_name(self) -> str:
            return self.adapter.info().name

        def apply_chat_template(self, chat_history, add_generation_prompt: bool = True) -> str:
            text = "\n\n".join(turn["content"] for turn in chat_history)
            return self.adapter.chat_prompt(text)

    return EvalhLM()
