"""Greedy generation whose numbers do not depend on a row's batch mates, with continuous batching.

A row's tokens (and the log-probability of each) are the same for any batch size, any sharding and any
resume point, on a given device, dtype and thread count, because nothing a row computes depends on which
other rows share its forward passes:

- Prefill: a prompt is right-padded to `score_width` of its own length (a multiple of 16 or 24 tokens), and
  a pass holds prompts of one width only, with empty rows added so that rows x width is a multiple of
  `ROW_STEP` (`padded_rows`): every matrix product fills whole kernel tiles and the causal attention of a
  prompt runs over the same lengths in any pass. Only the prompt's last position goes through the output
  head, in a block of `ROW_STEP` rows (copies of the last row fill it).
- Decode steps: the row count of every matrix product is padded to a multiple of `ROW_STEP` (CPU kernels
  round the rows of a partial last tile differently; benchmarks/batch_invariance.py), and the attention
  runs per row against that row's own keys (`_row_sdpa`), with no mask and no padding.

Since a row's numbers do not depend on its batch mates, a finished row's place is refilled from the queue
at once (continuous batching): rows are admitted while the running rows' caches hold at most
`max_positions` key/value positions, so steps run as many rows as memory allows, and the rows padded to fill
a tile are real ones whenever the queue has them.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from functools import partial

import torch

from harness.models.base import cut_at_stop
from harness.models.hf import attention as hf_attention
from harness.models.hf.generate import Job, eos_ids, job_done
from harness.models.hf.scoring import ROW_STEP, _cache_keyword, padded_rows, score_width, split_head


def order(jobs: Sequence[Job]) -> list[int]:
    """The order rows are admitted in: longest prompt first (neighbours share a prefill width), then by
    prompt text; jobs with no token budget are left out. It changes no number, only the schedule."""
    return sorted((i for i, job in enumerate(jobs) if job.max_tokens > 0),
                  key=lambda i: (-len(jobs[i].prompt), jobs[i].text, i))


class _Row:
    """One decoding row: its job, its own keys/values per layer (room for every token it may add), how many
    keys are filled, and the token to feed next."""

    def __init__(self, job: int, keys: list, values: list, length: int, last: int) -> None:
        self.job, self.keys, self.values, self.length, self.last = job, keys, values, length, last

    @property
    def capacity(self) -> int:
        return self.keys[0].shape[2]


def _pad_rows(count: int) -> int:
    return -(-count // ROW_STEP) * ROW_STEP


def _chosen(logits: torch.Tensor) -> tuple[list[int], list[float]]:
    """Greedy tokens of each row's logits, and their float32 log-probabilities."""
    tokens = logits.argmax(dim=-1)
    logprobs = torch.log_softmax(logits.float(), dim=-1).gather(1, tokens[:, None])[:, 0]
    return tokens.cpu().tolist(), logprobs.cpu().tolist()


def _prefill(model, jobs: Sequence[Job], members: list[int], device: str, counts: dict) -> list[_Row]:
    """Run prompts of one padded width in one pass; a row (with its first token) for each."""
    from transformers import DynamicCache

    prompts = [jobs[i].prompt for i in members]
    width = score_width(max(len(p) for p in prompts))
    ids = torch.zeros((padded_rows(len(prompts), width), width), dtype=torch.long)
    for j, tokens in enumerate(prompts):
        ids[j, :len(tokens)] = torch.tensor(tokens)
    ends = torch.tensor([len(p) - 1 for p in prompts])
    picked_at = (torch.arange(len(prompts)), ends)
    cache = DynamicCache(config=model.config)
    split = split_head(model)
    if split is None:  # the head is not separable: every position's logits (rows: a multiple of ROW_STEP)
        out = model(ids.to(device), **{_cache_keyword(model): cache}, use_cache=True)
        logits = out.logits[picked_at]
    else:
        decoder, head = split
        hidden = decoder(ids.to(device), **{_cache_keyword(decoder): cache}, use_cache=True).last_hidden_state
        picked = hidden[picked_at]
        picked = torch.cat([picked, picked[-1:].expand(_pad_rows(len(prompts)) - len(prompts), -1)])
        logits = head(picked)[:len(prompts)]
    tokens, logprobs = _chosen(logits)
    counts["prefill_tokens"] += sum(len(p) for p in prompts)
    counts["prefill_padded"] += ids.numel()
    rows = []
    for j, i in enumerate(members):
        length = len(prompts[j])
        keys, values = [], []
        for layer in cache.layers:
            for store, filled in ((keys, layer.keys), (values, layer.values)):
                room = filled.new_empty((1, filled.shape[1], length + jobs[i].max_tokens, filled.shape[3]))
                room[:, :, :length] = filled[j:j + 1, :, :length]
                store.append(room)
        jobs[i].tokens.append(tokens[j])
        jobs[i].logprobs.append(logprobs[j])
        rows.append(_Row(i, keys, values, length, tokens[j]))
    return rows


def _row_sdpa(rows: list[_Row], module, query, key, value, attention_mask, **kwargs):
    """One decode step's attention, row by row: the row's new key/value goes into its store, and
    transformers' sdpa runs its query against its own filled keys, unmasked. Rows past `rows` (padding
    that fills the tile) get zeros."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    depth = module.layer_idx
    out = query.new_zeros((query.shape[0], query.shape[2], query.shape[1], query.shape[3]))
    for r, row in enumerate(rows):
        keys, values, end = row.keys[depth], row.values[depth], row.length + 1
        keys[:, :, row.length] = key[r, :, 0]
        values[:, :, row.length] = value[r, :, 0]
        out[r:r + 1], _ = sdpa_attention_forward(module, query[r:r + 1], keys[:, :, :end], values[:, :, :end],
                                                 None, **kwargs)
    return out, None


def _step(model, jobs: Sequence[Job], rows: list[_Row], device: str, counts: dict) -> None:
    """One decode step of every running row, in one forward pass of a multiple of ROW_STEP rows."""
    padded = _pad_rows(len(rows))
    last = torch.zeros((padded, 1), dtype=torch.long)
    positions = torch.zeros((padded, 1), dtype=torch.long)
    last[:len(rows), 0] = torch.tensor([row.last for row in rows])
    positions[:len(rows), 0] = torch.tensor([row.length for row in rows])
    with hf_attention.attending(partial(_row_sdpa, rows)):
        out = model(last.to(device), position_ids=positions.to(device), use_cache=False, logits_to_keep=1)
    tokens, logprobs = _chosen(out.logits[:len(rows), -1])
    for row, token, logprob in zip(rows, tokens, logprobs):
        row.length += 1
        row.last = token
        jobs[row.job].tokens.append(token)
        jobs[row.job].logprobs.append(logprob)
    counts["steps"] += 1
    counts["row_steps"] += len(rows)
    counts["padded_row_steps"] += padded


def new_counts() -> dict[str, int]:
    """Work counters `decode` fills: decode steps, rows computed in them (real and padded), prompt tokens
    prefilled (real and padded)."""
    return {"steps": 0, "row_steps": 0, "padded_row_steps": 0, "prefill_tokens": 0, "prefill_padded": 0}


def decode(model, tokenizer, jobs: Sequence[Job], device: str, max_positions: int,
           counts: dict | None = None) -> Iterator[list[tuple[int, str]]]:
    """Greedy decoding of every job with a budget, one step at a time: yields the (job index, text) pairs
    each step finishes (texts cut at stop strings). Rows are admitted in `order` while the running rows
    hold at most `max_positions` key/value positions (one row always runs). Run it inside
    `hf_attention.installed(model)`."""
    counts = new_counts() if counts is None else counts
    stop_ids = eos_ids(model, tokenizer)
    queue = deque(order(jobs))
    running: list[_Row] = []

    def text(i: int) -> str:
        return cut_at_stop(tokenizer.decode(jobs[i].tokens, skip_special_tokens=True), jobs[i].stops)

    def room(i: int) -> int:
        return len(jobs[i].prompt) + jobs[i].max_tokens

    while queue or running:
        finished: list[tuple[int, str]] = []
        held = sum(row.capacity for row in running)
        while queue and (not running or held + room(queue[0]) <= max_positions):
            admitted = []
            while queue and (not running and not admitted or held + room(queue[0]) <= max_positions):
                held += room(queue[0])
                admitted.append(queue.popleft())
            widths: dict[int, list[int]] = {}
            for i in admitted:
                widths.setdefault(score_width(len(jobs[i].prompt)), []).append(i)
            for members in widths.values():
                for row in _prefill(model, jobs, members, device, counts):
                    if job_done(jobs[row.job], stop_ids, tokenizer):
                        finished.append((row.job, text(row.job)))
                        held -= row.capacity
                    else:
                        running.append(row)
        if running:
            _step(model, jobs, running, device, counts)
            still = []
            for row in running:
                if job_done(jobs[row.job], stop_ids, tokenizer):
                    finished.append((row.job, text(row.job)))
                else:
                    still.append(row)
            running = still
        yield finished
