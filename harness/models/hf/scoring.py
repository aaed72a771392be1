"""Log-likelihood scoring for causal LMs, two ways that give the same numbers.

- `plain`: each (context, continuation) is its own row, as lm-eval computes it.
- `packed` (shared-prefix scoring): the continuations of one context are packed after a single copy of it,
  with a tree-shaped attention mask (each continuation sees the context and itself) and position ids that
  restart after the context; the tokens every context of the task starts with (a fixed few-shot block, a
  template's first words) are run once and their key/value cache reused by every item. The model computes
  len(ctx) + sum(len(cont) - 1) tokens an item instead of n * (len(ctx) + len(cont) - 1), and the shared
  prefix once a task instead of once an item. A start that only some contexts share (items whose random
  few-shot examples begin alike) is run once too, as a branch (`shared_branches`). The prefix and the
  branches are the whole task's (`Packed` is built from every request of the task; shards get the whole
  task too), so an item's numbers do not depend on which items share its call.

Both take token ids already split the lm-eval way and return (sum of log-probabilities, is_greedy).
Each is a `Batched` scorer: a task's pairs are cut into forward passes once, and a call runs only the passes
that hold the pairs it asks for, so a pair's numbers never depend on how the task is split into calls (the
kernels' rounding can depend on a pass's row count, at some thread counts on some CPUs).

Numbers do not depend on the batch size either. CPU matrix kernels compute rows in tiles of a few rows
(4 for fp32 on an AVX2 CPU here, other counts elsewhere) and round a row in a partial last tile
differently. So every matrix product's row count is a multiple of `ROW_STEP` (48: a multiple of the tile
heights 4, 6, 8, 12, 16 and 24), and what else a row's numbers depend on is fixed by the row itself:

- `packed` lays a pass's items end to end in one token stream padded to a multiple of `ROW_STEP`, and runs
  the attention item by item over the item's own keys (`_ItemAttention`), so an item's attention has the
  same shapes in any pass.
- `plain` pads a row to a width that depends on the row alone (`score_width`, the next multiple of 16 or
  24 tokens); a pass holds rows of one width only (so the attention of a row runs over the same lengths in
  any pass) and a multiple of `pass_rows(width)` rows (1, 2 or 3), empty rows filling the last pass of a
  width, so that rows x width is a multiple of `ROW_STEP`.

The rows that go through the output head are padded to a multiple of `ROW_STEP` too.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

from harness.errors import ModelError

Pair = tuple[list[int], list[int]]
Progress = Callable[[int], None] | None
ROW_STEP = 48
BRANCH_MIN = 16  # tokens: the shortest start some contexts share that `Packed` computes once for them


def score_width(length: int, cap: int | None = None) -> int:
    """The padded width of a row of `length` tokens (scored, or a prompt to prefill): the next multiple of
    16 or of 24 (at most `cap`)."""
    width = -(-max(length, 1) // 8) * 8
    if width % 16 and width % 24:  # 16k + 8, not a multiple of 24: 16(k + 1) is
        width += 8
    return min(width, cap) if cap is not None else width


def pass_rows(width: int) -> int:
    """The row count a pass of rows `width` tokens wide is a multiple of (1, 2 or 3): rows x width (the row
    count of its matrix products) is then a multiple of ROW_STEP. A width cut to the model's window that is
    not a multiple of 16 or 24 gets no such guarantee (1), so a pass never grows past the batch size."""
    common = math.gcd(width, ROW_STEP)
    return ROW_STEP // common if common >= 16 else 1


def padded_rows(rows: int, width: int) -> int:
    """`rows` rounded up to a multiple of pass_rows(width): the rows a pass computes, empty ones included."""
    step = pass_rows(width)
    return -(-rows // step) * step


def _by_width(order: Sequence, width_of: Callable[[Any], int], batch_size: int) -> list[list]:
    """`order` cut into passes of members of one width each, widest first: as many as the batch size allows
    in a multiple of pass_rows(width), and at least pass_rows(width)."""
    groups: dict[int, list] = {}
    for member in order:
        groups.setdefault(width_of(member), []).append(member)
    passes = []
    for width, group in sorted(groups.items(), key=lambda kv: -kv[0]):
        step = pass_rows(width)
        size = max(step, batch_size // step * step)
        passes += [group[at:at + size] for at in range(0, len(group), size)]
    return passes


class Batched:
    """Results of a fixed set of requests, computed in forward passes cut once from all of them.

    Subclasses pass `batches` (request indices per pass) and define `_run(batch)` (a result per index).
    `answers` runs each pass that holds a wanted request once and keeps every result of it, so the numbers
    of a request are those of its pass whatever subset a call asks for, and in whatever order.
    """

    def __init__(self, batches: list[list[int]]) -> None:
        self.batches = batches
        self._batch_of = {i: b for b, batch in enumerate(batches) for i in batch}
        self._done: dict[int, Any] = {}

    def order(self) -> list[int]:
        """Request indices in the order their passes run (calls cut from it each run whole passes)."""
        return [i for batch in self.batches for i in batch]

    def _run(self, batch: list[int]) -> list[Any]:
        raise NotImplementedError

    def answers(self, indices: Sequence[int], progress: Progress = None) -> list[Any]:
        """The results of the requests at `indices` (positions in the list the scorer was built from)."""
        wanted = set(indices)
        known = sum(1 for i in wanted if i in self._done)
        if progress and known:
            progress(known)
        for b in sorted({self._batch_of[i] for i in wanted if i not in self._done}):
            self._done.update(zip(self.batches[b], self._run(self.batches[b])))
            if progress:
                progress(sum(1 for i in self.batches[b] if i in wanted))
        return [self._done[i] for i in indices]


class Plain(Batched):
    """lm-eval's rows: context+continuation, left-truncated to the window, right-padded to their own width
    (`score_width`), longest first, about `batch_size` rows of one width a pass (`_by_width`)."""

    def __init__(self, model, pairs: Sequence[Pair], max_length: int, batch_size: int, device: str) -> None:
        self.model, self.pairs, self.max_length, self.device = model, pairs, max_length, device
        order = sorted(range(len(pairs)), key=lambda i: -len(pairs[i][0]) - len(pairs[i][1]))
        super().__init__(_by_width(order, lambda i: score_width(len(self._tokens(i)), max_length), batch_size))

    def _tokens(self, i: int) -> list[int]:
        ctx, cont = self.pairs[i]
        return (ctx + cont)[-(self.max_length + 1):][:-1]

    def _run(self, batch: list[int]) -> list[tuple[float, bool]]:
        rows = [self._tokens(i) for i in batch]
        width = score_width(max(len(r) for r in rows), self.max_length)
        ids = torch.zeros((padded_rows(len(rows), width), width), dtype=torch.long)
        rows_b, rows_p, targets, owners = [], [], [], []
        for j, (i, tokens) in enumerate(zip(batch, rows)):
            ids[j, :len(tokens)] = torch.tensor(tokens)
            cont = self.pairs[i][1]
            rows_b += [j] * len(cont)
            rows_p += range(len(tokens) - len(cont), len(tokens))
            targets += cont
            owners.append((i, len(cont)))
        rows_at = (torch.tensor(rows_b, device=self.device), torch.tensor(rows_p, device=self.device))
        logprobs = _positions(self.model, ids.to(self.device), None, rows_at)
        return _sums(logprobs, targets, owners, batch)


def plain(model, pairs: Sequence[Pair], max_length: int, batch_size: int, device: str,
          progress: Progress = None) -> list[tuple[float, bool]]:
    """`Plain` scores of every pair."""
    return Plain(model, pairs, max_length, batch_size, device).answers(range(len(pairs)), progress)


def shared_prefix_length(contexts: Sequence[Sequence[int]]) -> int:
    """Tokens every context starts with, leaving at least one token of each context after it."""
    if len(contexts) < 2:
        return 0
    first, shortest = contexts[0], min(len(c) for c in contexts)
    n = 0
    while n < shortest - 1 and all(c[n] == first[n] for c in contexts):
        n += 1
    return n


def _common_length(a: Sequence[int], b: Sequence[int]) -> int:
    n, most = 0, min(len(a), len(b))
    while n < most and a[n] == b[n]:
        n += 1
    return n


def shared_branches(rests: Sequence[tuple[int, ...]], least: int) -> list[int]:
    """For each sequence, the length of a prefix it shares with some others (0: none), to be computed once
    for all of them. Sorted, sequences form runs whose neighbours have at least `least` tokens in common; a
    run shares its common prefix, leaving at least one token of each sequence after it (if `least` remain)."""
    order = sorted(range(len(rests)), key=lambda i: rests[i])
    common = [_common_length(rests[a], rests[b]) for a, b in zip(order, order[1:])]
    branch = [0] * len(rests)
    at = 0
    while at < len(order):
        end = at
        while end < len(common) and common[end] >= least:
            end += 1
        run = order[at:end + 1]
        length = min(common[at:end], default=0)
        length = min(length, min(len(rests[i]) for i in run) - 1)
        if len(run) > 1 and length >= least:
            for i in run:
                branch[i] = length
        at = end + 1
    return branch


def _pack(ctx_rest: list[int], conts: list[list[int]]) -> tuple[list[int], list[int], list[int], list[int]]:
    """Tokens, segment ids (0 context, k for continuation k), positions (from 0) and continuation offsets."""
    tokens, segments, positions, offsets = list(ctx_rest), [0] * len(ctx_rest), list(range(len(ctx_rest))), []
    for k, cont in enumerate(conts, start=1):
        offsets.append(len(tokens))
        tokens += cont
        segments += [k] * len(cont)
        positions += range(len(ctx_rest), len(ctx_rest) + len(cont))
    return tokens, segments, positions, offsets


def _tree_mask(segments: list[int], prefix: int) -> torch.Tensor:
    """(1, 1, q, prefix + q) boolean mask of one item: causal, the context (segment 0) visible to all,
    continuations blind to each other, the shared prefix visible to all."""
    seg = torch.tensor(segments)
    q = len(segments)
    causal = torch.arange(q)[None, :] <= torch.arange(q)[:, None]
    mask = causal & ((seg[None, :] == 0) | (seg[None, :] == seg[:, None]))
    if prefix:
        mask = torch.cat([torch.ones((q, prefix), dtype=torch.bool), mask], dim=1)
    return mask[None, None]


def _prefix_cache(model, prefix: list[int], device: str):
    """Keys and values of each layer for the shared prefix (the decoder alone runs when it can: the prefix
    predicts nothing)."""
    if not prefix:
        return None
    split = split_head(model)
    out = (split[0] if split else model)(torch.tensor([prefix], device=device), use_cache=True)
    cache = getattr(out, "cache", None) or out.past_key_values
    return [(layer[0], layer[1]) for layer in cache]


def _cache_keyword(model) -> str:
    """transformers 5 names the argument `cache`; 4.x named it `past_key_values`."""
    import inspect

    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


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


def routes_attention(model) -> bool:
    """Whether the model's attention runs through transformers' attention interface (so `Packed` can run
    it item by item); checked once per model on a few tokens."""
    if not hasattr(model, "_evalh_routes_attention"):
        from transformers.integrations.sdpa_attention import sdpa_attention_forward

        from harness.models.hf import attention as hf_attention

        calls = []

        def counted(*args, **kwargs):
            calls.append(1)
            return sdpa_attention_forward(*args, **kwargs)

        ids = torch.tensor([[1, 2, 3, 4]], device=next(model.parameters()).device)
        with torch.no_grad(), hf_attention.installed(model), hf_attention.attending(counted):
            model(ids, use_cache=False)
        model._evalh_routes_attention = bool(calls)
    return model._evalh_routes_attention


def _positions(model, ids, positions, rows_at):
    """log-softmax (float32) of the logits at `rows_at` = (batch index, position) tensors, one row each."""
    split = split_head(model)
    if split is None:
        logits = model(ids, position_ids=positions, use_cache=False).logits
        return torch.log_softmax(logits[rows_at].float(), dim=-1)
    decoder, head = split
    hidden = decoder(ids, position_ids=positions, use_cache=False).last_hidden_state
    return _head_logprobs(head, hidden[rows_at])


def _head_logprobs(head, picked: torch.Tensor) -> torch.Tensor:
    """log-softmax (float32) of the output head applied to the hidden rows `picked`. The product's row count
    is padded to a multiple of ROW_STEP with copies of the last row, so that no row sits in a partial tile."""
    wanted = picked.shape[0]
    padding = -wanted % ROW_STEP
    if padding:
        picked = torch.cat([picked, picked[-1:].expand(padding, -1)])
    return torch.log_softmax(head(picked)[:wanted].float(), dim=-1)


def _sums(logprobs: torch.Tensor, targets: list[int], owners: list[tuple[int, int]],
          batch: list[int], picks: list[int] | None = None) -> list[tuple[float, bool]]:
    """(sum of the target log-probabilities, all greedy) of each owner's run of targets, in `batch` order;
    target k is predicted by row `picks[k]` of `logprobs` (default: row k)."""
    target = torch.tensor(targets, device=logprobs.device)
    rows = torch.tensor(range(len(targets)) if picks is None else picks, device=logprobs.device)
    token_lp = logprobs[rows, target].tolist()
    hits = (logprobs.argmax(dim=-1)[rows] == target).tolist()
    found, at = {}, 0
    for i, n in owners:
        found[i] = (math.fsum(token_lp[at:at + n]), all(hits[at:at + n]))
        at += n
    return [found[i] for i in batch]


class Packed(Batched):
    """Shared-prefix scoring (module docstring) of pairs that need no truncation.

    An item (a context, after the shared prefix, and its continuations) is a span of one token stream: a
    pass concatenates whole items, with no padding between them, and pads the stream to a multiple of
    `ROW_STEP`. The linear layers see every token of the stream as a row; the attention runs item by item
    (`_ItemAttention`) over the item's own keys (and the shared prefix's) with its tree mask, so an item's
    numbers depend on the item alone, not on which items share its pass. A continuation's last token
    predicts nothing, so it is never computed. Passes are filled first-fit, longest items first, to about
    `batch_size` average items' worth of tokens.

    Only the rows that predict a continuation token go through the output head (when the model allows
    `split_head`), a context's last token once for all its continuations, and only those are turned into
    float32 log-probabilities.

    Contexts that share a start beyond the task's prefix (items whose random few-shot examples begin alike)
    share a branch (`shared_branches`, `BRANCH_MIN` tokens or more): a branch is computed once, in passes of
    branches cut once from the whole task, and its keys and values kept; its items attend over the prefix's,
    the branch's and their own. Which branch an item has is decided by the task, so its numbers still do not
    depend on its pass, its shard or the resume point.
    """

    def __init__(self, model, pairs: Sequence[Pair], batch_size: int, device: str, window: int | None) -> None:
        self.model, self.pairs, self.device = model, pairs, device
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, (ctx, _) in enumerate(pairs):
            groups.setdefault(tuple(ctx), []).append(i)
        self.groups = groups
        contexts = list(groups)
        prefix_len = shared_prefix_length(contexts)
        widest = max((len(c) - prefix_len + sum(len(pairs[i][1]) for i in groups[c]) for c in contexts), default=0)
        windowed = window is not None and prefix_len + widest > window
        if windowed:
            prefix_len = 0  # a sliding-window model must not see a custom mask past its window
        self.prefix_len = prefix_len
        self.prefix_tokens = list(contexts[0][:prefix_len]) if prefix_len else []
        self._prefix_kv: Any = None
        lengths = [0] * len(contexts) if windowed else shared_branches([c[prefix_len:] for c in contexts], BRANCH_MIN)
        self.branch_of = {c: c[prefix_len:prefix_len + n] for c, n in zip(contexts, lengths) if n}
        self.branch_passes = fill_passes(list(dict.fromkeys(self.branch_of.values())), len, batch_size)
        self._branch_kv: dict[tuple[int, ...], list[tuple[torch.Tensor, torch.Tensor]]] = {}
        passes = fill_passes(contexts, self._span_length, batch_size)
        super().__init__([[i for c in contexts_of_pass for i in groups[c]] for contexts_of_pass in passes])

    def _span_length(self, context: tuple[int, ...]) -> int:
        """Tokens an item computes: its context after the prefix and its branch, and each continuation but its
        last token."""
        skip = self.prefix_len + len(self.branch_of.get(context, ()))
        return len(context) - skip + sum(len(self.pairs[i][1]) - 1 for i in self.groups[context])

    def _run(self, batch: list[int]) -> list[tuple[float, bool]]:
        from harness.models.hf import attention as hf_attention

        if self.prefix_tokens and self._prefix_kv is None:
            self._prefix_kv = _prefix_cache(self.model, self.prefix_tokens, self.device)
        split = split_head(self.model)  # its one-off check runs outside the items' attention
        contexts = {tuple(self.pairs[i][0]) for i in batch}
        self._compute_branches({self.branch_of[c] for c in contexts if c in self.branch_of})
        ids, positions, spans, rows, picks, targets, owners = self._layout(batch)
        attend = _ItemAttention(spans, self._prefix_kv, self._branch_kv)
        with hf_attention.installed(self.model), hf_attention.attending(attend):
            if split is None:
                logits = self.model(ids, position_ids=positions, use_cache=False).logits
                logprobs = torch.log_softmax(logits[0, rows].float(), dim=-1)
            else:
                hidden = split[0](ids, position_ids=positions, use_cache=False).last_hidden_state
                logprobs = _head_logprobs(split[1], hidden[0, rows])
        if not attend.calls:  # callers check routes_attention first
            raise ModelError(f"{type(self.model).__name__} does not run its attention through transformers' "
                             "attention interface, which shared-prefix scoring needs")
        return _sums(logprobs, targets, owners, batch, picks)

    def _compute_branches(self, wanted: set[tuple[int, ...]]) -> None:
        """Run the branch passes that hold a branch of `wanted` not yet computed, keeping the keys and values
        of each of their branches (each pass is fixed by the task, and run once)."""
        from harness.models.hf import attention as hf_attention

        prefix_len, device = self.prefix_len, self.device
        for members in self.branch_passes:
            if all(b in self._branch_kv or b not in wanted for b in members):
                continue
            ids: list[int] = []
            positions: list[int] = []
            spans = []
            for branch in members:
                start = len(ids)
                ids += branch
                positions += range(prefix_len, prefix_len + len(branch))
                spans.append((start, len(ids), _tree_mask([0] * len(branch), prefix_len).to(device), branch))
            kept: dict[tuple[int, ...], list] = {}
            attend = _ItemAttention(spans, self._prefix_kv, {}, capture=kept)
            split = split_head(self.model)
            ids_t, positions_t = _stream(ids, positions, device)
            with hf_attention.installed(self.model), hf_attention.attending(attend):
                (split[0] if split else self.model)(ids_t, position_ids=positions_t, use_cache=False)
            self._branch_kv.update(kept)

    def _layout(self, batch: list[int]):
        """A pass's token stream (ids, positions; padded to a multiple of ROW_STEP), its items' spans and
        tree masks, the stream rows that go through the head, and for each target token its head row, the
        target, and (pair, target count) of each pair."""
        pairs, prefix_len, device = self.pairs, self.prefix_len, self.device
        contexts = list(dict.fromkeys(tuple(pairs[i][0]) for i in batch))
        ids: list[int] = []
        positions: list[int] = []
        spans: list[tuple[int, int, torch.Tensor]] = []
        rows, picks, targets, owners = [], [], [], []
        for ctx in contexts:
            members = self.groups[ctx]
            branch = self.branch_of.get(ctx)
            skip = prefix_len + len(branch or ())
            tokens, segs, pos, offsets = _pack(list(ctx[skip:]), [pairs[i][1][:-1] for i in members])
            start = len(ids)
            ctx_row = len(rows)
            rows.append(start + len(ctx) - skip - 1)
            for i, at in zip(members, offsets):
                cont = pairs[i][1]
                picks += [ctx_row, *range(len(rows), len(rows) + len(cont) - 1)]
                rows += range(start + at, start + at + len(cont) - 1)
                targets += cont
                owners.append((i, len(cont)))
            ids += tokens
            positions += [p + skip for p in pos]
            spans.append((start, len(ids), _tree_mask(segs, skip).to(device), branch))
        ids_t, positions_t = _stream(ids, positions, device)
        return ids_t, positions_t, spans, torch.tensor(rows, device=device), picks, targets, owners


def _stream(ids: list[int], positions: list[int], device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(1, n) token ids and positions of a pass's stream, padded so that its rows fill whole kernel tiles."""
    padding = -len(ids) % ROW_STEP
    return (torch.tensor([ids + [0] * padding], device=device),
            torch.tensor([positions + [0] * padding], device=device))


class _ItemAttention:
    """The attention of a pass of `Packed` items (or branches): each span of the stream attends over the
    shared prefix's keys (when there is one), its branch's (when it has one) and its own, under its mask;
    positions past the last span (padding) get zeros. Each span's attention is one sdpa call of the span's
    own shape, whatever else is in the pass. With `capture`, each span is a branch whose keys and values
    are kept there, a layer after the other."""

    def __init__(self, spans: list[tuple[int, int, torch.Tensor, tuple[int, ...] | None]], prefix_kv,
                 branch_kv: dict, capture: dict | None = None) -> None:
        self.spans, self.prefix_kv, self.branch_kv, self.capture, self.calls = spans, prefix_kv, branch_kv, capture, 0

    def __call__(self, module, query, key, value, attention_mask, **kwargs):
        self.calls += 1
        layer = module.layer_idx
        out = query.new_zeros((query.shape[0], query.shape[2], query.shape[1], query.shape[3]))
        prefix = self.prefix_kv[layer] if self.prefix_kv else None
        for start, end, mask, branch in self.spans:
            keys, values = key[:, :, start:end], value[:, :, start:end]
            if self.capture is not None:
                self.capture.setdefault(branch, []).append((keys.clone(), values.clone()))
            before = [] if prefix is None else [prefix]
            if branch is not None and self.capture is None:
                before.append(self.branch_kv[branch][layer])
            if before:
                keys = torch.cat([*(k for k, _ in before), keys], dim=2)
                values = torch.cat([*(v for _, v in before), values], dim=2)
            out[:, start:end] = _sdpa(module, query[:, :, start:end], keys, values, mask, kwargs)
        return out, None


_PLAIN_ATTENTION = {"dropout", "scaling", "sliding_window", "position_ids", "use_cache", "output_attentions"}


def _sdpa(module, query, keys, values, mask, kwargs) -> torch.Tensor:
    """(1, q, heads, head_dim) attention of one item. torch's sdpa is called directly, grouped-query heads
    shared inside the kernel rather than copied, when the layer asks for nothing more than a scale (the
    per-item calls are many and small, so the copies weigh); otherwise through transformers' sdpa."""
    if _PLAIN_ATTENTION.issuperset(kwargs) and not kwargs.get("dropout") and not kwargs.get("output_attentions"):
        grouped = getattr(module, "num_key_value_groups", 1) > 1
        return torch.nn.functional.scaled_dot_product_attention(
            query, keys, values, attn_mask=mask, scale=kwargs.get("scaling"), enable_gqa=grouped).transpose(1, 2)
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    return sdpa_attention_forward(module, query, keys, values, mask, **kwargs)[0]


def fill_passes(members: Sequence, length_of: Callable[[Any], int], batch_size: int) -> list[list]:
    """`members` cut into passes of at most `batch_size` average members' worth of tokens (rounded up to a
    multiple of ROW_STEP; a longer member has a pass of its own): first-fit, longest first. Each pass lists
    its members in their order in `members`."""
    if not members:
        return []
    lengths = [length_of(m) for m in members]
    budget = -(-math.ceil(batch_size * sum(lengths) / len(lengths)) // ROW_STEP) * ROW_STEP
    passes: list[list[int]] = []
    room: list[int] = []
    for at in sorted(range(len(members)), key=lambda k: -lengths[k]):
        target = next((p for p, free in enumerate(room) if free >= lengths[at]), None)
        if target is None:
            passes.append([])
            room.append(budget)
            target = len(passes) - 1
        passes[target].append(at)
        room[target] -= lengths[at]
    return [[members[k] for k in sorted(found)] for found in passes]


def packed(model, pairs: Sequence[Pair], batch_size: int, device: str, window: int | None,
           progress: Progress = None) -> list[tuple[float, bool]]:
    """`Packed` scores of every pair (callers pass pairs that need no truncation)."""
    return Packed(model, pairs, batch_size, device, window).answers(range(len(pairs)), progress)
