"""Reduced-precision (bf16/fp16) scoring that gives lm-eval's numbers bit for bit, contexts computed once.

Why a third scoring path. In bf16 a token's log-probability depends on more than the tokens before it:
torch's CPU attention kernel (flash attention behind `sdpa`) splits the queries into blocks (32 rows, 64
from 192 queries, 256 from 768) and each score row into 16-wide vectors plus a scalar tail, and a block
of 1-3 rows takes another matrix kernel. So lm-eval's number for a row depends on the padded width W of
its batch (the longest row of its chunk), not on the batch size: a position in the last, partial 16 keys
of W, or in a last query block of 1-3 rows, rounds differently. Other positions are "canonical": the same
for any W (measured; from 192 queries only for the same W, see `LONG_ROWS`). Linear layers give the same
results for any number of rows.

How this path reproduces lm-eval while computing each context once:
1. `plan_widths` replays lm-eval's batching (`HFLM._loglikelihood_tokens`: requests grouped by
   context + continuation[:-1], sorted by (-length, tokens), chunks of `batch_size`) to learn each row's
   W. The runner plans over a whole task, and `Scorer` cuts the forward passes (and prefix passes) from
   all of its rows once, so no number depends on how the requests are later split into calls (response
   cache, resume), whatever the kernels' thread partition.
2. A row's first `start` tokens (`cache_start`) are canonical in lm-eval's row; their keys and values
   come from a cache: a prefix shared by every row once, then each context's own piece.
3. The rest of each row runs against exactly W keys: `_padded_sdpa` (the attention of each forward
   pass, through `hf_attention`) adds masked zero keys, so padding positions are never computed, and our
   query blocks are small exactly where lm-eval's are. Rows of any widths share a forward pass.
4. Head, log-softmax and sum run in the model's dtype on the rows that predict continuation tokens, as
   lm-eval does (its bf16 log-softmax makes exact ties, which go to the first choice).

Verified against lm-eval's own `_loglikelihood_tokens` (tests/integration/test_aligned.py): every
log-probability and greedy flag equal, with rows under and over 192 tokens. The reasoning is about torch's
CPU kernels with one thread per process as lm-eval ran them; elsewhere (other devices, other thread
counts) the numbers are still exact-model log-probabilities, but bit-equality with lm-eval is not promised.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial

import torch

from harness.models.hf import attention as hf_attention
from harness.models.hf.scoring import Batched, split_head

KV = list[tuple[torch.Tensor, torch.Tensor]]
"""Keys and values per layer, each (1, kv heads, positions, head dim)."""

Pair = tuple[list[int], list[int]]
Progress = Callable[[int], None] | None
VECTOR = 16  # float lanes of one score vector (the kernel's vector part / scalar tail boundary)
SMALL_BLOCK = 3  # query blocks of this many rows or fewer take a different matrix kernel


@dataclass(frozen=True)
class _Group:
    """Rows first:last of a forward pass that attend alike: `start` cached keys, `queries` new ones,
    `width` keys in all (the rest masked zeros); `mask` says which of the `width` keys each query sees."""

    first: int
    last: int
    start: int
    queries: int
    width: int
    mask: torch.Tensor


@dataclass
class _Layout:
    """What `_padded_sdpa` needs during one forward pass of `_run`: the rows (jobs, grouped in contiguous
    slices) and, when asked, a list that receives each layer's new keys/values."""

    jobs: list
    groups: list[_Group]
    kept: list | None


def _padded_sdpa(layout: _Layout, module, query, key, value, attention_mask, **kwargs):
    """transformers' sdpa attention, run per row group of `layout`: each row's cached keys (its `start`
    positions, from `_Prefixes`), its new keys, and masked zero keys up to `width`, so the kernel splits
    score rows and query blocks as it does for lm-eval's row of that width. No transformers cache is used:
    the cached keys are copied once, straight into the buffer the kernel reads."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if layout.kept is not None:
        layout.kept.append((key, value))
    depth = module.layer_idx
    kwargs["is_causal"] = False
    out = query.new_zeros((query.shape[0], query.shape[2], query.shape[1], query.shape[3]))
    for group in layout.groups:
        rows, s, q, w = slice(group.first, group.last), group.start, group.queries, group.width
        keys = key.new_zeros((group.last - group.first, key.shape[1], w, key.shape[3]))
        values = torch.zeros_like(keys)
        at = 0
        for part in range(len(layout.jobs[group.first].cached)):
            segments = [job.cached[part][depth] for job in layout.jobs[rows]]
            length = segments[0][0].shape[2]
            if all(seg is segments[0] for seg in segments):  # one shared prefix: a broadcast copy
                keys[:, :, at:at + length], values[:, :, at:at + length] = segments[0]
            else:
                keys[:, :, at:at + length] = torch.cat([k for k, _ in segments])
                values[:, :, at:at + length] = torch.cat([v for _, v in segments])
            at += length
        keys[:, :, s:s + q], values[:, :, s:s + q] = key[rows, :, :q], value[rows, :, :q]
        # a single query that sees every key needs no mask, and without one transformers keeps its heads as
        # rows (with a mask it packs the grouped heads into 3 query rows, another kernel than lm-eval's)
        mask = None if q == 1 and w == s + 1 else group.mask
        result, _ = sdpa_attention_forward(module, query[rows, :, :q], keys, values, mask, **kwargs)
        out[rows, :q] = result
    return out, None


def applies(model) -> bool:
    """Whether this path applies to the model: reduced precision, sdpa attention without a sliding window,
    and an output head that alone gives the logits (`split_head`)."""
    text = model.config.get_text_config()
    window = getattr(text, "sliding_window", None) if getattr(text, "use_sliding_window", True) else None
    return (next(model.parameters()).dtype in (torch.bfloat16, torch.float16) and not window
            and getattr(model.config, "_attn_implementation", None) == "sdpa" and split_head(model) is not None)


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
    from the cache: they must be canonical in lm-eval's row (not in the last, partial 16 keys of `width`,
    not in a last query block of 1-3 rows), and the rest must have query blocks that match lm-eval's."""
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
    queries: int = 0

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




@dataclass
class _Job:
    """One row of a forward pass: `tokens` to run after the `cached` keys/values (segments, one after another,
    `start` positions in all), in an lm-eval row of `width`."""

    tokens: list[int]
    cached: list[KV]
    start: int
    width: int


def _attends(job: _Job) -> tuple[int, int, int]:
    """Rows that attend alike share a kernel call: cached positions, new positions, keys in all."""
    return job.start, len(job.tokens), job.width


def _run(decoder, jobs: list[_Job], device: str, keep: bool):
    """One forward pass over rows with their own cache lengths, query counts and widths (see `_padded_sdpa`).

    Returns the last hidden states (batch, longest, hidden) and, with `keep`, each row's new keys/values,
    both in the order of `jobs`.
    """
    order = sorted(range(len(jobs)), key=lambda i: _attends(jobs[i]))
    jobs = [jobs[i] for i in order]
    longest = max(len(j.tokens) for j in jobs)
    ids = torch.zeros((len(jobs), longest), dtype=torch.long)
    for i, job in enumerate(jobs):
        ids[i, :len(job.tokens)] = torch.tensor(job.tokens)
    positions = torch.tensor([j.start for j in jobs])[:, None] + torch.arange(longest)[None, :]
    groups, first = [], 0
    for i in range(1, len(jobs) + 1):
        if i == len(jobs) or _attends(jobs[i]) != _attends(jobs[first]):
            s, q, w = _attends(jobs[first])
            mask = torch.arange(w, device=device)[None, :] <= torch.arange(s, s + q, device=device)[:, None]
            groups.append(_Group(first, i, s, q, w, mask[None, None]))
            first = i
    layout = _Layout(jobs, groups, [] if keep else None)
    with hf_attention.attending(partial(_padded_sdpa, layout)):
        out = decoder(ids.to(device), position_ids=positions.to(device), use_cache=False)
    inverse = torch.empty(len(order), dtype=torch.long)
    inverse[torch.tensor(order)] = torch.arange(len(order))
    hidden = out.last_hidden_state[inverse.to(device)]
    if not keep:
        return hidden, None
    new = [[(k[i:i + 1, :, :len(j.tokens)], v[i:i + 1, :, :len(j.tokens)]) for k, v in layout.kept]
           for i, j in enumerate(jobs)]
    return hidden, [new[i] for i in inverse.tolist()]


def _batches(jobs: list, size: Callable[[object], int], budget: int) -> Iterator[list]:
    """Jobs, longest first, in batches of at most `budget` query positions (padding included); a batch
    takes only jobs at least 90% as long as its first, so padding stays under a tenth of the work."""
    ordered = sorted(jobs, key=lambda j: -size(j))
    batch: list = []
    for job in ordered:
        if batch and ((len(batch) + 1) * size(batch[0]) > budget or size(job) * 10 < size(batch[0]) * 9):
            yield batch
            batch = []
        batch.append(job)
    if batch:
        yield batch


LONG_ROWS = 192
"""From this many queries lm-eval's kernel runs 64-row blocks, and there a position's values also depend
on the row's total key count: such rows get prefixes computed against exactly their own width."""


def _variant(row: _Row) -> int:
    """0 when the row's prefix keys/values are the same for any width, else the width they need."""
    return row.width if row.width >= LONG_ROWS else 0


class _Prefixes:
    """Canonical keys/values of row prefixes: one prefix shared by every row, then each distinct prefix's piece.

    A piece runs with its last query block of 4 rows or more and its keys padded to a multiple of 16 (to
    the row's own width for long rows, `_variant`), so that all of its positions are computed as in
    lm-eval's row; the row's next tokens (or zeros) fill any extra queries. The pieces are cut into
    batches once, from every row of the task, and a batch runs when a row first needs one of its pieces,
    so a piece's numbers never depend on which rows a call asks for. A piece is freed once every row that
    uses it is scored.
    """

    def __init__(self, decoder, rows: list[_Row], budget: int, device: str) -> None:
        self.decoder, self.device = decoder, device
        wanted = [r for r in rows if r.start]
        shared_len = _common_length([r.tokens[:r.start] for r in wanted]) // VECTOR * VECTOR if len(wanted) > 1 else 0
        self.shared_len = shared_len
        self.shared: dict[int, KV | None] = {}
        self._shared_tokens = wanted[0].tokens[:shared_len] if shared_len else []
        self.pieces: dict[tuple[tuple[int, ...], int], KV] = {}
        self._slices: dict[tuple[int, int], KV] = {}
        self._users: dict[tuple[tuple[int, ...], int], int] = {}
        todo: dict[tuple[tuple[int, ...], int], tuple[_Row, int]] = {}
        for row in wanted:
            key = self._key(row)
            if key is not None:
                self._users[key] = self._users.get(key, 0) + 1
                todo.setdefault(key, (row, _piece_queries(row.start - shared_len)))
        self._batches = list(_batches(list(todo.items()), lambda item: item[1][1], budget))
        self._batch_of = {key: b for b, batch in enumerate(self._batches) for key, _ in batch}

    def _key(self, row: _Row) -> tuple[tuple[int, ...], int] | None:
        """The row's own piece, or None when the shared prefix covers its cached tokens."""
        return (tuple(row.tokens[:row.start]), _variant(row)) if row.start > self.shared_len else None

    def _shared(self, variant: int) -> KV | None:
        if variant not in self.shared:
            self.shared[variant] = None
            if self.shared_len:
                job = _Job(self._shared_tokens, [], 0, max(variant, self.shared_len))
                self.shared[variant] = _run(self.decoder, [job], self.device, keep=True)[1][0]
        return self.shared[variant]

    def _run_pieces(self, batch: list) -> None:
        shared_len = self.shared_len
        jobs = [_Job((row.tokens[shared_len:] + [0] * queries)[:queries], [self._shared(variant)] if shared_len else [],
                     shared_len, max(variant, _round_up(shared_len + queries))) for (_, variant), (row, queries) in batch]
        _, kept = _run(self.decoder, jobs, self.device, keep=True)
        for (key, (row, _)), kv in zip(batch, kept):
            length = row.start - shared_len
            self.pieces[key] = [(k[:, :, :length], v[:, :, :length]) for k, v in kv]

    def of(self, row: _Row) -> list[KV]:
        """Keys/values of the row's first `start` tokens, as segments (none for none)."""
        if not row.start:
            return []
        shared = self._shared(_variant(row))
        if row.start < self.shared_len:  # one object per (variant, start), so that rows share it
            key = (_variant(row), row.start)
            if key not in self._slices:
                self._slices[key] = [(k[:, :, :row.start], v[:, :, :row.start]) for k, v in shared]
            return [self._slices[key]]
        if row.start == self.shared_len:
            return [shared]
        key = self._key(row)
        if key not in self.pieces:
            self._run_pieces(self._batches[self._batch_of[key]])
        piece = self.pieces[key]
        return [shared, piece] if self.shared_len else [piece]

    def done(self, row: _Row) -> None:
        """The row is scored: its piece is freed when no other row needs it."""
        key = self._key(row) if row.start else None
        if key is not None:
            self._users[key] -= 1
            if not self._users[key]:
                self.pieces.pop(key, None)


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


class Scorer(Batched):
    """A task's rows laid out once, so each row's numbers are fixed by the task, never by a call.

    Every row of the task gets its cache start and its place in a forward pass here, from all the task's
    pairs; `answers` runs only the passes that hold rows it is asked for (and the prefixes they need), so
    any split of the task into calls, and a run resumed after a kill, computes each row in the same pass
    with the same companions. A pass holds about `batch_size` x 256 query positions of any rows (the batch
    does not change the lm-eval numbers, only the planned widths do).
    """

    def __init__(self, model, pairs: Sequence[Pair], widths: Sequence[int], max_length: int, batch_size: int,
                 device: str) -> None:
        self.model, self.device = model, device
        self.decoder, self.head = split_head(model)  # `applies` checked that the head alone gives the logits
        budget = max(1, batch_size) * 256
        self.rows = [_Row(i, lm_eval_row(pair, max_length), pair[1], width)
                     for i, (pair, width) in enumerate(zip(pairs, widths))]
        by_context: dict[tuple[int, ...], list[_Row]] = {}
        for row in self.rows:
            by_context.setdefault(tuple(row.tokens[:row.first_scored]), []).append(row)
        for members in by_context.values():
            start = cache_start(members[0].first_scored, {(r.width, len(r.tokens)) for r in members})
            for row in members:
                row.start, row.queries = start, query_count(start, row.width, len(row.tokens))
        self.prefixes = _Prefixes(self.decoder, self.rows, budget, device)
        super().__init__([[r.index for r in batch] for batch in _batches(self.rows, lambda r: r.queries, budget)])

    def _run(self, batch: list[int]) -> list[tuple[float, bool]]:
        rows = [self.rows[i] for i in batch]
        with hf_attention.installed(self.model):
            jobs = [_Job(r.tokens[r.start:] + [0] * (r.queries + r.start - len(r.tokens)), self.prefixes.of(r),
                         r.start, r.width) for r in rows]
            hidden, _ = _run(self.decoder, jobs, self.device, keep=False)
        results = _scores(self.head, hidden, rows)
        for row in rows:
            self.prefixes.done(row)
        return results


def score(model, pairs: Sequence[Pair], widths: Sequence[int], max_length: int, batch_size: int, device: str,
          progress: Progress = None) -> list[tuple[float, bool]]:
    """(sum of log-probabilities, is_greedy) per pair, equal to lm-eval's when `widths` are its widths."""
    return Scorer(model, pairs, widths, max_length, batch_size, device).answers(range(len(pairs)), progress)


def _scores(head, hidden: torch.Tensor, batch: list[_Row]) -> list[tuple[float, bool]]:
    """lm-eval's (sum, greedy) per row: head, log-softmax and sum in the model's dtype."""
    rows_b, rows_p = [], []
    for j, row in enumerate(batch):
        rows_b += [j] * len(row.cont)
        rows_p += range(row.first_scored - row.start, len(row.tokens) - row.start)
    at = (torch.tensor(rows_b, device=hidden.device), torch.tensor(rows_p, device=hidden.device))
    logits = head(hidden[at])
    logprobs = torch.log_softmax(logits, dim=-1)
    greedy = logprobs.argmax(dim=-1)
    results, at = [], 0
    for row in batch:
        n = len(row.cont)
        cont = torch.tensor(row.cont, device=logprobs.device)
        picked = logprobs[at:at + n].gather(1, cont[:, None]).reshape(1, n)
        results.append((float(picked.sum()), bool((greedy[at:at + n] == cont).all())))
        at += n
    return results
