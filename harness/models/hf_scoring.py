"""Log-likelihood scoring for causal LMs, two ways that give the same numbers.

- `plain`: each (context, continuation) is its own row, as lm-eval computes it.
- `packed` (shared-prefix scoring): the continuations of one context are packed after a single copy of it,
  with a tree-shaped attention mask (each continuation sees the context and itself) and position ids that
  restart after the context; a prefix shared by every context in the call (a fixed few-shot block) is run
  once and its key/value cache reused by every row. The model computes len(ctx) + sum(len(cont)) tokens an
  item instead of n * (len(ctx) + len(cont)), and the few-shot block once a call instead of once an item.

Both take token ids already split the lm-eval way and return (sum of log-probabilities, is_greedy).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

Pair = tuple[list[int], list[int]]
Progress = Callable[[int], None] | None
_MIN_SHARED_PREFIX = 16


def _row_scores(logprobs: torch.Tensor, targets: list[int]) -> tuple[float, bool]:
    cont = torch.tensor(targets, device=logprobs.device)
    greedy = bool((logprobs.argmax(dim=-1) == cont).all())
    return float(logprobs.gather(1, cont[:, None]).sum()), greedy


def plain(model, pairs: Sequence[Pair], max_length: int, batch_size: int, device: str,
          progress: Progress = None) -> list[tuple[float, bool]]:
    """lm-eval's way: right-padded rows of context+continuation, longest first."""
    order = sorted(range(len(pairs)), key=lambda i: -len(pairs[i][0]) - len(pairs[i][1]))
    results: list = [None] * len(pairs)
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        rows, spans = [], []
        for i in batch:
            ctx, cont = pairs[i]
            tokens = (ctx + cont)[-(max_length + 1):][:-1]
            rows.append(tokens)
            spans.append((len(tokens) - len(cont), len(tokens)))
        width = max(len(r) for r in rows)
        ids = torch.zeros((len(rows), width), dtype=torch.long)
        for j, tokens in enumerate(rows):
            ids[j, :len(tokens)] = torch.tensor(tokens)
        keep = width - min(s for s, _ in spans)  # logits only where some continuation is scored
        logits = model(ids.to(device), logits_to_keep=keep).logits.float()
        offset = width - keep
        for j, i in enumerate(batch):
            s, e = spans[j]
            results[i] = _row_scores(torch.log_softmax(logits[j, s - offset:e - offset], dim=-1), pairs[i][1])
        if progress:
            progress(len(batch))
    return results


def shared_prefix_length(contexts: Sequence[Sequence[int]]) -> int:
    """Tokens every context starts with, leaving at least one token of each context after it."""
    if len(contexts) < 2:
        return 0
    first, shortest = contexts[0], min(len(c) for c in contexts)
    n = 0
    while n < shortest - 1 and all(c[n] == first[n] for c in contexts):
        n += 1
    return n if n >= _MIN_SHARED_PREFIX else 0


def _pack(ctx_rest: list[int], conts: list[list[int]]) -> tuple[list[int], list[int], list[int], list[int]]:
    """Tokens, segment ids (0 context, k for continuation k), positions (from 0) and continuation offsets."""
    tokens, segments, positions, offsets = list(ctx_rest), [0] * len(ctx_rest), list(range(len(ctx_rest))), []
    for k, cont in enumerate(conts, start=1):
        offsets.append(len(tokens))
        tokens += cont
        segments += [k] * len(cont)
        positions += range(len(ctx_rest), len(ctx_rest) + len(cont))
    return tokens, segments, positions, offsets


def _tree_mask(segments: torch.Tensor, prefix: int) -> torch.Tensor:
    """(B, 1, q, prefix + q) boolean mask: causal, context visible to all, continuations blind to each other."""
    q = segments.shape[1]
    idx = torch.arange(q)
    causal = idx[None, :] <= idx[:, None]
    seg_t, seg_s = segments[:, :, None], segments[:, None, :]
    mask = causal[None] & ((seg_s == 0) | (seg_s == seg_t)) & (seg_s >= 0)
    mask |= torch.eye(q, dtype=torch.bool)[None]  # padding rows attend to themselves (no empty rows)
    if prefix:
        mask = torch.cat([torch.ones((segments.shape[0], q, prefix), dtype=torch.bool), mask], dim=2)
    return mask[:, None]


def _prefix_cache(model, prefix: list[int], device: str):
    if not prefix:
        return None
    out = model(torch.tensor([prefix], device=device), use_cache=True)
    cache = getattr(out, "cache", None) or out.past_key_values
    return [(layer[0], layer[1]) for layer in cache]


def _cache_keyword(model) -> str:
    """transformers 5 names the argument `cache`; 4.x named it `past_key_values`."""
    import inspect

    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _expanded_cache(prefix_kv, batch: int):
    from transformers import DynamicCache

    if prefix_kv is None:
        return None
    return DynamicCache(ddp_cache_data=[(k.expand(batch, -1, -1, -1), v.expand(batch, -1, -1, -1)) for k, v in prefix_kv])


def packed(model, pairs: Sequence[Pair], batch_size: int, device: str, window: int | None,
           progress: Progress = None) -> list[tuple[float, bool]]:
    """Shared-prefix scoring (module docstring). Callers pass pairs that need no truncation."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, (ctx, _) in enumerate(pairs):
        groups.setdefault(tuple(ctx), []).append(i)
    contexts = list(groups)
    prefix_len = shared_prefix_length(contexts)
    widest = max(len(c) - prefix_len + sum(len(pairs[i][1]) for i in groups[c]) for c in contexts)
    if window is not None and prefix_len + widest > window:
        prefix_len = 0  # a sliding-window model must not see a custom mask past its window
    prefix_kv = _prefix_cache(model, list(contexts[0][:prefix_len]), device)
    order = sorted(contexts, key=lambda c: -(len(c) + sum(len(pairs[i][1]) for i in groups[c])))
    results: list = [None] * len(pairs)
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        packs = [_pack(list(c[prefix_len:]), [pairs[i][1] for i in groups[c]]) for c in batch]
        width = max(len(p[0]) for p in packs)
        ids = torch.zeros((len(batch), width), dtype=torch.long)
        segments = torch.full((len(batch), width), -1, dtype=torch.long)
        positions = torch.zeros((len(batch), width), dtype=torch.long)
        for j, (tokens, segs, pos, _) in enumerate(packs):
            ids[j, :len(tokens)] = torch.tensor(tokens)
            segments[j, :len(segs)] = torch.tensor(segs)
            positions[j, :len(pos)] = torch.tensor(pos)
        mask = _tree_mask(segments, prefix_len).to(device)
        cache = {_cache_keyword(model): _expanded_cache(prefix_kv, len(batch))} if prefix_kv else {}
        logits = model(ids.to(device), attention_mask=mask, position_ids=(positions + prefix_len).to(device),
                       use_cache=False, **cache).logits.float()
        for j, ctx in enumerate(batch):
            ctx_last = len(ctx) - prefix_len - 1
            for k, i in enumerate(groups[ctx]):
                cont, at = pairs[i][1], packs[j][3][k]
                rows = [ctx_last] + list(range(at, at + len(cont) - 1))
                results[i] = _row_scores(torch.log_softmax(logits[j, rows], dim=-1), cont)
            if progress:
                progress(len(groups[ctx]))
    return results
