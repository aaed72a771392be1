"""An lm-eval `LM` that forwards to an evalh ModelAdapter, so lm-eval tasks run on evalh's models."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from harness.models.base import ModelAdapter
from harness.requests import Generate, Loglikelihood, Request, Rolling
from harness.tasks.filters import strip_reasoning
from harness.tasks.sampling import lm_eval_sampling

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


def lm_eval_requests(args: Sequence[tuple[str, dict[str, Any]]], seed: int) -> list[Generate]:
    """lm-eval's generate_until arguments (context, generation_kwargs) as evalh requests. A task with
    `repeats: N` sends each request N times in a row; sampled copies become draws 0..N-1 of the prompt
    (seeded by `seed`, as evalh's own tasks), greedy ones stay one request."""
    seen: dict[tuple, int] = {}
    out = []
    for ctx, kw in args:
        key = (ctx, repr(sorted(kw.items())))
        index = seen[key] = seen.get(key, -1) + 1
        out.append(Generate(ctx, _until(kw), int(kw.get("max_gen_toks", DEFAULT_MAX_GEN_TOKS)),
                            lm_eval_sampling(kw, seed, index)))
    return out


def lm_for(adapter: ModelAdapter, ask: Callable[[Sequence[Request]], list] | None = None, seed: int = 1234,
           think_end_token: str | None = None):
    """Wrap `adapter` as an lm_eval.api.model.LM (lm_eval is imported only here). Its requests are
    answered by `ask` (the runner's, with memo and response cache), else by the adapter directly.
    Sampled generations are seeded by `seed`; with `think_end_token`, lm-eval sees each generation with
    the reasoning block before it stripped (as lm-eval's own HF model does)."""
    from lm_eval.api.model import LM

    answer = ask or _direct(adapter)
    strip = strip_reasoning(think_end_token) if think_end_token else None

    class EvalhLM(LM):
        def __init__(self) -> None:
            super().__init__()
            self.adapter = adapter

        def loglikelihood(self, requests, disable_tqdm: bool = False):
            return answer([Loglikelihood(*r.args) for r in requests])

        def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
            return answer([Rolling(r.args[0]) for r in requests])

        def generate_until(self, requests, disable_tqdm: bool = False):
            texts = answer(lm_eval_requests([r.args for r in requests], seed))
            return strip(texts) if strip else texts

        @property
        def tokenizer_name(self) -> str:
            return self.adapter.info().name

        def apply_chat_template(self, chat_history, add_generation_prompt: bool = True) -> str:
            # a conversation that ends in the assistant's turn (lm-eval's gen_prefix) is continued from it
            return self.adapter.chat_conversation(chat_history)

    return EvalhLM()
