"""Reduced-precision (bf16/fp16) scoring that gives lm-eval's numbers bit for bit, context computed once.

Why a third scoring path. In bf16 a token's log-probability depends on more than the tokens before it:
torch's CPU attention kernel (flash attention for `sdpa`) splits the queries into blocks of Q rows
(Q = 32, 64 or 256 by query length) and each score row into 16-wide vectors plus a scalar tail, and a
block of 1-3 rows takes another matrix kernel. So lm-eval's number for a row depends on the padded
width W of its batch (the longest row of its chunk): a position in the last, partial 16 keys of W
(the "tail"), or in a last query block of 1-3 rows, is rounded differently. Everything else is
"canonical": the same for any W, batch size or surrounding rows (the linear layers do not depend on
the number of rows either).

How this path reproduces it while computing each context once:
1. `plan_widths` replays lm-eval's batching (`HFLM._loglikelihood_tokens`: requests grouped by
   context + continuation[:-1], sorted by (-length, tokens), chunks of `batch_size`) to learn each
   request's W. The runner plans over a whole task, so the numbers do not depend on how the requests
   are later split into calls (response cache, resume).
2. Each row's first `start` tokens (a multiple of 16, chosen by `cache_start`) are canonical in lm-eval's
   row, so their keys and values are computed once per distinct prefix, in 16-aligned pieces that are
   canonical too: a prefix shared by every row once, then each context's own piece.
3. The rest of each row runs against that cache with exactly W keys (padding after the row), and with
   query blocks that end where lm-eval's do whenever its last block is 1-3 rows. The head and the
   log-softmax run in the model's dtype on the rows that predict continuation tokens, and the sum is
   taken in that dtype, as lm-eval does.

Verified against lm-eval's own `_loglikelihood_tokens` (tests/integration/test_aligned.py): every
log-probability equal. The reasoning is about torch's CPU kernels; on other devices the numbers are
still correct log-probabilities, but bit-equality with lm-eval is not promised.
"""
from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch

Pair = tuple[list[int], list[int]]
Progress = Callable[[int], None] | None
VECTOR = 16  # float lanes of one score vector (the kernel's vector part / scalar tail boundary)
SMALL_BLOCK = 3  # query blocks of this many rows or fewer take a different matrix kernel


ATTENTION = "evalh_padded_sdpa"
_KEYS: contextvars.ContextVar[int | None] = contextvars.ContextVar("evalh_padded_keys", default=None)


def _padded_sdpa(module, query, key, value, attention_mask, **kwargs):
    """transformers' sdpa attention over keys padded (masked) to `_KEYS` keys: the kernel then splits
    each score row as it would for a row of that width, without computing the padding positions."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    width, keys = _KEYS.get(), key.shape[2]
    if width is not None and keys < width:
        queries = query.shape[2]
        if attention_mask is None:  # causal over the real keys, queries being the last `queries` positions
            attention_mask = (torch.arange(keys, device=key.device)[None, :]
                              <= torch.arange(keys - queries, keys, device=key.device)[:, None])[None, None]
        fill = False if attention_mask.dtype == torch.bool else torch.finfo(attention_mask.dtype).min
        attention_mask = torch.nn.functional.pad(attention_mask, (0, width - keys), value=fill)
        key = torch.nn.functional.pad(key, (0, 0, 0, width - keys))
        value = torch.nn.functional.pad(value, (0, 0, 0, width - keys))
        kwargs["is_causal"] = False
    return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)


def applies(model) -> bool:
    """Whether this path can reproduce lm-eval's numbers for the model: sdpa attention, reduced precision."""
    dtype = next(model.parameters()).dtype
    return dtype in (torch.bfloat16, torch.float16) and getattr(model.config, "_attn_implementation", None) == "sdpa"


@contextlib.contextmanager
def _padded_attention(model) -> Iterator[None]:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(ATTENTION, _padded_sdpa)
    AttentionMaskInterface.register(ATTENTION, sdpa_mask)
    configs = {id(m.config): m.config for m in model.modules() if getattr(m, "config", None) is not None}
    saved = {key: config._attn_implementation for key, config in configs.items()}
    try:
        for config in configs.values():
            config._attn_implementation = ATTENTION
        yield
    finally:
        for key, config in configs.items():
            config._attn_implementation = saved[key]


@contextlib.contextmanager
def _keys(width: int | None) -> Iterator[None]:
    token = _KEYS.set(width)
    try:
        yield
    finally:
        _KEYS.reset(token)


def query_block(queries: int) -> int:
    """Rows per query block in torch's CPU flash attention, by the call's query length."""
    return 256 if queries >= 768 else 64 if queries >= 192 else 32


def lm_eval_row(pair: Pair, max_length: int) -> list[int]:
    """The tokens lm-eval feeds the model for a (context, continuation) pair (left-truncated)."""
    ctx, cont = pair
    return (ctx + cont)[-(max_length + 1):][:-1]


def plan_widths(pairs: Sequence[Pair], batch_size: int, max_length: int) -> list[int]:
    """The padded width of the batch lm-eval computes each pair in (`HFLM._loglikelihood_tokens`)."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, (ctx, cont) in enumerate(pairs):
        groups.setdefault(tuple(ctx + cont[:-1]), []).append(i)
    reps = [max(members, key=lambda i: len(pairs[i][1])) for members in groups.values()]
    reps.sort(key=lambda i: (-len(pairs[i][0]) - len(pairs[i][1]), tuple(pairs[i][0] + pairs[i][1])))
    widths = [0] * len(pairs)
    for at in range(0, len(reps), batch_size):
        chunk = reps[at:at + batch_size]
        width = max(len(lm_eval_row(pairs[i], max_length)) for i in chunk)
        for rep in chunk:
            for i in groups[tuple(pairs[rep][0] + pairs[rep][1][:-1])]:
                widths[i] = width
    return widths


def _blocks_match(start: int, queries: int, width: int, length: int) -> bool:
    """Our query blocks over positions [start, start + queries) put each real position (< length) in a block
    of 1-3 rows exactly where lm-eval's blocks over [0, width) do, and of the same size."""
    block = query_block(width)
    last_start = (width - 1) // block * block
    theirs = width - last_start if width - last_start <= SMALL_BLOCK else 0
    rest = queries % query_block(queries) or query_block(queries)
    ours, our_last = (rest if rest <= SMALL_BLOCK else 0), start + queries - rest
    for position in range(max(start, min(our_last, last_start)), length):
        if (theirs if position >= last_start else 0) != (ours if position >= our_last else 0):
            return False
    return True


def query_count(start: int, width: int, length: int) -> int | None:
    """Queries (>= the real ones, keys at most `width`) whose blocks match lm-eval's, or None."""
    for queries in range(length - start, width - start + 1):
        if _blocks_match(start, queries, width, length):
            return queries
    return None


def valid_start(start: int, width: int, length: int) -> bool:
    """Whether a row of `length` tokens in an lm-eval batch of `width` may take its first `start` tokens
    from the canonical cache: they must be canonical in lm-eval's row (not in the last, partial 16 keys
    of `width`, not in a last query block of 1-3 rows), and the rest must have matching query blocks."""
    block = query_block(width)
    last_start = (width - 1) // block * block
    if start > width // VECTOR * VECTOR or (width - last_start <= SMALL_BLOCK and start > last_start):
        return False
    return query_count(start, width, length) is not None


def cache_start(first_scored: int, rows: Sequence[tuple[int, int]]) -> int:
    """The most leading tokens (at most `first_scored`) that rows of these (width, length) can take from
    the cache; 0 (no cache) always works: that is lm-eval's own computation."""
    for start in range(first_scored, 0, -1):
        if all(valid_start(start, width, length) for width, length in rows):
            return start
    return 0


@dataclass
class _Row:
    index: int
    tokens: list[int]
    cont: list[int]
    width: int
    start: int = 0

    @property
    def first_scored(self) -> int:
        """Position whose output predicts the first continuation token."""
        return len(self.tokens) - len(self.cont)


def _piece_queries(count: int) -> int:
    """Queries, at least `count`, whose last block is not 1-3 rows."""
    queries = count
    while (queries % query_block(queries) or query_block(queries)) <= SMALL_BLOCK:
        queries += 1
    return queries


class _Prefixes:
    """Canonical keys/values of row prefixes: one prefix shared by every row, then each distinct prefix's piece.

    A piece runs with query blocks of 4 rows or more and its keys padded to a multiple of 16, so that all
    of its positions are canonical; the row's next tokens (or zeros) fill any extra queries.
    """

    def __init__(self, decoder, rows: list[_Row], budget: int, device: str) -> None:
        self.decoder, self.device = decoder, device
        self.keyword = _cache_keyword(decoder)
        wanted = [r for r in rows if r.start]
        self.shared_len = _common_length([r.tokens[:r.start] for r in wanted]) // VECTOR * VECTOR if len(wanted) > 1 else 0
        shared_len = self.shared_len
        self.shared = self._forward([wanted[0].tokens[:shared_len]], None)[0] if shared_len else None
        self.pieces: dict[tuple[int, ...], list[tuple[torch.Tensor, torch.Tensor]]] = {}
        todo: dict[int, list[_Row]] = {}
        for row in wanted:
            key = tuple(row.tokens[:row.start])
            if row.start > shared_len and key not in self.pieces:
                self.pieces[key] = []
                todo.setdefault(_piece_queries(row.start - shared_len), []).append(row)
        for queries, members in todo.items():
            per_call = max(1, budget // queries)
            for at in range(0, len(members), per_call):
                chunk = members[at:at + per_call]
                tokens = [(r.tokens[shared_len:] + [0] * queries)[:queries] for r in chunk]
                for row, kv in zip(chunk, self._forward(tokens, self.shared)):
                    kept = row.start - shared_len
                    self.pieces[tuple(row.tokens[:row.start])] = [(k[:, :, :kept], v[:, :, :kept]) for k, v in kv]

    def _forward(self, token_rows: list[list[int]], past):
        """Keys/values per layer of each row, computed after the cache `past` (all rows one length)."""
        ids = torch.tensor(token_rows, device=self.device)
        offset = 0 if past is None else past[0][0].shape[2]
        kwargs = {}
        if past is not None:
            kwargs[self.keyword] = _cache([past] * len(token_rows))
            kwargs["position_ids"] = torch.arange(offset, offset + ids.shape[1], device=self.device)[None].expand(len(token_rows), -1)
        with _keys(_round_up(offset + ids.shape[1])):
            out = self.decoder(ids, use_cache=True, **kwargs)
        cache = getattr(out, "cache", None) or out.past_key_values
        layers = [(layer[0], layer[1]) for layer in cache]
        return [[(k[j:j + 1, :, offset:], v[j:j + 1, :, offset:]) for k, v in layers] for j in range(len(token_rows))]

    def of(self, row: _Row) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Keys/values of the row's first `start` tokens, per layer, batch dimension 1."""
        if row.start <= self.shared_len:
            return [(k[:, :, :row.start], v[:, :, :row.start]) for k, v in self.shared]
        piece = self.pieces[tuple(row.tokens[:row.start])]
        if not self.shared_len:
            return piece
        return [(torch.cat([sk, k], dim=2), torch.cat([sv, v], dim=2)) for (sk, sv), (k, v) in zip(self.shared, piece)]


def _round_up(n: int) -> int:
    return -(-n // VECTOR) * VECTOR


def _common_length(rows: list[list[int]]) -> int:
    """Tokens every row starts with."""
    if not rows:
        return 0
    first = rows[0]
    for i in range(min(len(r) for r in rows)):
        if any(r[i] != first[i] for r in rows):
            return i
    return min(len(r) for r in rows)


def _cache(per_row: list[list[tuple[torch.Tensor, torch.Tensor]]]):
    from transformers import DynamicCache

    layers = zip(*per_row)
    return DynamicCache(ddp_cache_data=[(torch.cat([k for k, _ in layer]), torch.cat([v for _, v in layer]))
                                        for layer in layers])


def _cache_keyword(module) -> str:
    import inspect

    return "cache" if "cache" in inspect.signature(module.forward).parameters else "past_key_values"


def score(model, pairs: Sequence[Pair], widths: Sequence[int], max_length: int, batch_size: int, device: str,
          progress: Progress = None) -> list[tuple[float, bool]]:
    """(sum of log-probabilities, is_greedy) per pair, equal to lm-eval's when `widths` are its widths.

    The rows of one context share one cache start; a forward pass holds about `batch_size` x 256 query
    tokens (the batch size does not change any number, only the planned widths do).
    """
    from harness.models.hf_scoring import split_head

    split = split_head(model)
    decoder, head = split if split else (model, None)
    budget = max(1, batch_size) * 256
    rows = [_Row(i, lm_eval_row(pair, max_length), pair[1], width) for i, (pair, width) in enumerate(zip(pairs, widths))]
    by_context: dict[tuple[int, ...], list[_Row]] = {}
    for row in rows:
        by_context.setdefault(tuple(row.tokens[:row.first_scored]), []).append(row)
    for members in by_context.values():
        start = cache_start(members[0].first_scored, {(r.width, len(r.tokens)) for r in members})
        for row in members:
            row.start = start
    groups: dict[tuple[int, int], list[_Row]] = {}
    for row in rows:
        groups.setdefault((row.width, row.start), []).append(row)
    results: list = [None] * len(pairs)
    with _padded_attention(model):
        prefixes = _Prefixes(decoder, rows, budget, device)
        for (width, start), members in groups.items():
            members.sort(key=lambda r: -len(r.tokens))
            at = 0
            while at < len(members):
                queries = query_count(start, width, len(members[at].tokens))
                batch = members[at:at + max(1, budget // queries)]
                at += len(batch)
                for row, result in zip(batch, _score_batch(decoder, head, prefixes, batch, width, start, queries, device)):
                    results[row.index] = result
                if progress:
                    progress(len(batch))
    return results


def _score_batch(decoder, head, prefixes: _Prefixes, batch: list[_Row], width: int, start: int, queries: int,
                 device: str):
    ids = torch.zeros((len(batch), queries), dtype=torch.long)
    for j, row in enumerate(batch):
        ids[j, :len(row.tokens) - start] = torch.tensor(row.tokens[start:])
    kwargs = {}
    if start:
        kwargs[prefixes.keyword] = _cache([prefixes.of(row) for row in batch])
        kwargs["position_ids"] = torch.arange(start, start + queries, device=device)[None].expand(len(batch), -1)
    with _keys(width):
        out = decoder(ids.to(device), use_cache=False, **kwargs)
    rows_b, rows_p = [], []
    for j, row in enumerate(batch):
        rows_b += [j] * len(row.cont)
        rows_p += range(row.first_scored - start, len(row.tokens) - start)
    at = (torch.tensor(rows_b, device=device), torch.tensor(rows_p, device=device))
    logits = head(out.last_hidden_state[at]) if head is not None else out.logits[at]
    logprobs = torch.log_softmax(logits, dim=-1)  # in the model's dtype, as lm-eval
    greedy = logprobs.argmax(dim=-1)
    results, at = [], 0
    for row in batch:
        n = len(row.cont)
        cont = torch.tensor(row.cont, device=logprobs.device)
        picked = logprobs[at:at + n].gather(1, cont[:, None]).reshape(1, n)
        results.append((float(picked.sum()), bool((greedy[at:at + n] == cont).all())))
        at += n
    return results
