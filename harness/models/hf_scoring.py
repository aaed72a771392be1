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

import math
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


def split_head(model):
    """(decoder, output head) of a causal LM when the head alone turns hidden states into its logits, else None.

    Checked once per model on a few tokens: the head applied to the decoder's output must give the model's
    own logits (models that scale or soft-cap logits after the head fail the check and are scored whole).
    """
    if hasattr(model, "_evalh_split_head"):
        return model._evalh_split_head
    split = None
    decoder, head = getattr(model, "get_decoder", lambda: None)(), model.get_output_embeddings()
    if decoder is not None and head is not None and decoder is not model:
        ids = torch.tensor([[1, 2, 3, 4, 5, 6, 7, 8]], device=next(model.parameters()).device) % model.config.get_text_config().vocab_size
        whole = model(ids, use_cache=False).logits
        parts = head(decoder(ids, use_cache=False).last_hidden_state)
        if whole.shape == parts.shape and torch.equal(whole, parts):
            split = (decoder, head)
    model._evalh_split_head = split
    return split


def _positions(model, ids, mask, positions, cache, rows_at):
    """log-softmax (float32) of the logits at `rows_at` = (batch index, position) tensors, one row each."""
    split = split_head(model)
    if split is None:
        logits = model(ids, attention_mask=mask, position_ids=positions, use_cache=False, **cache).logits
        return torch.log_softmax(logits[rows_at].float(), dim=-1)
    decoder, head = split
    keyword = {_cache_keyword(decoder): next(iter(cache.values()))} if cache else {}
    hidden = decoder(ids, attention_mask=mask, position_ids=positions, use_cache=False, **keyword).last_hidden_state
    return torch.log_softmax(head(hidden[rows_at]).float(), dim=-1)


def packed(model, pairs: Sequence[Pair], batch_size: int, device: str, window: int | None,
           progress: Progress = None) -> list[tuple[float, bool]]:
    """Shared-prefix scoring (module docstring). Callers pass pairs that need no truncation.

    Only the rows that predict a continuation token go through the output head (when the model allows
    `split_head`), and only those are turned into float32 log-probabilities.
    """
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
        rows_b, rows_p, targets, owners = [], [], [], []
        for j, (ctx, (tokens, segs, pos, offsets)) in enumerate(zip(batch, packs)):
            ids[j, :len(tokens)] = torch.tensor(tokens)
            segments[j, :len(segs)] = torch.tensor(segs)
            positions[j, :len(pos)] = torch.tensor(pos)
            ctx_last = len(ctx) - prefix_len - 1
            for i, at in zip(groups[ctx], offsets):
                cont = pairs[i][1]
                rows_p += [ctx_last, *range(at, at + len(cont) - 1)]
                rows_b += [j] * len(cont)
                targets += cont
                owners.append((i, len(cont)))
        mask = _tree_mask(segments, prefix_len).to(device)
        cache = {_cache_keyword(model): _expanded_cache(prefix_kv, len(batch))} if prefix_kv else {}
        rows_at = (torch.tensor(rows_b, device=device), torch.tensor(rows_p, device=device))
        logprobs = _positions(model, ids.to(device), mask, (positions + prefix_len).to(device), cache, rows_at)
        target = torch.tensor(targets, device=logprobs.device)
        token_lp = logprobs.gather(1, target[:, None])[:, 0].tolist()
        hits = (logprobs.argmax(dim=-1) == target).tolist()
        at = 0
        for i, n in owners:
            results[i] = (math.fsum(token_lp[at:at + n]), all(hits[at:at + n]))
            at += n
        if progress:
            progress(sum(len(groups[c]) for c in batch))
    return results
