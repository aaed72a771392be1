"""Sampled generation for causal LMs: the repeats of one prompt drawn together, each from its own seed.

A request with `sampling` (harness.requests.Sampling) is drawn from the model's next-token distribution
at its temperature, cut to its top-k and nucleus (top-p, as transformers' TopPLogitsWarper: the smallest
set of likeliest tokens whose probability reaches top_p). Each request has its own random generator,
seeded from (seed, repeat index, prompt), so its draw does not depend on the process's global random
state, on the other requests of the call, or on their order: a rerun with the same seed gives the same
text, and another seed another.

The repeats of one prompt (same budget, stops and settings) share one prefill: the prompt runs once, its
cache is copied for each row, and the rows decode together without padding. A finished row keeps being
computed (its output ignored) until its group is done, so a row's numbers depend only on its group.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import torch

from harness.models.base import cut_at_stop
from harness.models.hf.generate import eos_ids
from harness.models.hf.scoring import _cache_keyword
from harness.requests import Sampling

Progress = Callable[[int], None] | None


def generator_for(sampling: Sampling, prompt: str) -> torch.Generator:
    """The random generator of one draw: seeded from its seed, repeat index and prompt."""
    digest = hashlib.sha256(f"{sampling.seed}\x1f{sampling.index}\x1f{prompt}".encode()).digest()
    return torch.Generator(device="cpu").manual_seed(int.from_bytes(digest[:8], "big") >> 1)


def next_token(logits: torch.Tensor, sampling: Sampling, generator: torch.Generator) -> int:
    """One token drawn from `logits` (1-D) at the request's temperature, top-k and top-p."""
    scores = logits.float().cpu() / sampling.temperature
    if 0 < sampling.top_k < scores.shape[-1]:
        kth = torch.topk(scores, sampling.top_k).values[-1]
        scores = scores.masked_fill(scores < kth, float("-inf"))
    if sampling.top_p < 1.0:
        ordered, order = torch.sort(scores, descending=False)
        cumulative = ordered.softmax(dim=-1).cumsum(dim=-1)
        drop = cumulative <= 1 - sampling.top_p
        drop[-1] = False  # the likeliest token always stays
        scores = scores.masked_fill(drop.scatter(0, order, drop), float("-inf"))
    return int(torch.multinomial(scores.softmax(dim=-1), 1, generator=generator))


@torch.inference_mode()
def sample_group(model, tokenizer, prompt_tokens: list[int], prompt: str, max_tokens: int, stops: Sequence[str],
                 draws: Sequence[Sampling], device: str) -> list[str]:
    """The texts of `draws` (repeats of one prompt, same settings), cut at the first stop string."""
    from transformers import DynamicCache

    stop_ids = eos_ids(model, tokenizer)
    generators = [generator_for(s, prompt) for s in draws]
    cache = DynamicCache(config=model.config)
    ids = torch.tensor([prompt_tokens], dtype=torch.long, device=device)
    out = model(ids, **{_cache_keyword(model): cache}, use_cache=True, logits_to_keep=1)
    cache.batch_repeat_interleave(len(draws))
    logits = out.logits[:, -1].expand(len(draws), -1)
    tokens: list[list[int]] = [[] for _ in draws]
    done = [max_tokens <= 0] * len(draws)
    for _ in range(max_tokens):
        chosen = []
        for row, (sampling, generator) in enumerate(zip(draws, generators)):
            if done[row]:
                chosen.append(tokens[row][-1] if tokens[row] else prompt_tokens[-1])
                continue
            token = next_token(logits[row], sampling, generator)
            chosen.append(token)
            done[row] = _finished(tokenizer, tokens[row], token, stop_ids, stops, max_tokens)
        if all(done):
            break
        step = torch.tensor(chosen, dtype=torch.long, device=device)[:, None]
        logits = model(step, **{_cache_keyword(model): cache}, use_cache=True).logits[:, -1]
    return [cut_at_stop(tokenizer.decode(t, skip_special_tokens=True), stops) for t in tokens]


def _finished(tokenizer, tokens: list[int], token: int, stop_ids: set[int], stops: Sequence[str],
              max_tokens: int) -> bool:
    """Append `token` (unless it ends the sequence) and say whether the row is done."""
    if token in stop_ids:
        return True
    tokens.append(token)
    if stops and any(s in tokenizer.decode(tokens, skip_special_tokens=False) for s in stops):
        return True
    return len(tokens) >= max_tokens
