"""Greedy generation for causal LMs: continuous batching over one key/value cache.

`greedy` keeps up to `batch_size` rows decoding at once. A row leaves the batch the step it is done
(end-of-sequence token, a stop string in its text, or its token budget), and waiting prompts take the free
places at the next step: their prompts are run together, their caches left-padded to the batch's length
(or the batch's to theirs) and joined to it. No step computes a row that has finished, and the batch stays
full while prompts wait. Leading cache columns that are padding in every row are dropped as rows leave.

Each row sees exactly what it would see alone: its own tokens at positions 0, 1, ... (left padding is
masked and does not shift positions, as in transformers' `generate`), and the next token is the argmax of
its logits. In float32 that gives transformers' outputs (100/100 wmt22 lines equal lm-eval's). In bf16 the
rounding of attention depends on a row's padding and cache length, so refilled rows drift (39 of 100
wmt22 lines differed from lm-eval's); `refill=False` keeps lm-eval's batches (`batches`) and each row's
layout and only drops finished rows (rows do not affect each other's numbers): its outputs equal
`generate()`'s on the same batches bit for bit, and 92 of 100 wmt22 lines equal lm-eval's. Models whose cache is not one plain key/value tensor per layer (sliding-window or hybrid
layers), or whose generation config asks for logits processors, go through transformers' `generate`
(`batched`), which keeps a finished row in its batch until the whole batch is done.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from harness.models.base import cut_at_stop
from harness.models.hf_scoring import _cache_keyword as _CACHE_ARG

Progress = Callable[[int], None] | None

# generation-config fields that change greedy decoding; a model that sets any of them goes through generate()
_PROCESSORS = {"repetition_penalty": 1.0, "no_repeat_ngram_size": 0, "encoder_no_repeat_ngram_size": 0,
               "bad_words_ids": None, "min_length": 0, "min_new_tokens": None, "forced_bos_token_id": None,
               "forced_eos_token_id": None, "suppress_tokens": None, "begin_suppress_tokens": None,
               "sequence_bias": None, "exponential_decay_length_penalty": None}


@dataclass
class Job:
    """One prompt to continue: its tokens, budget and stop strings; `tokens` collects the output."""

    prompt: list[int]
    max_tokens: int
    stops: tuple[str, ...]
    text: str = ""  # the prompt's text: breaks ties between prompts of equal length, as lm-eval does
    tokens: list[int] = field(default_factory=list)


def batches(jobs: Sequence[Job], batch_size: int) -> list[list[int]]:
    """lm-eval's generation batches: jobs grouped by (stops, budget) in order of first appearance, each
    group sorted by prompt length (longest first) then prompt text, cut into runs of `batch_size`.
    Jobs with no token budget are left out."""
    groups: dict[tuple, list[int]] = {}
    for i, job in enumerate(jobs):
        if job.max_tokens > 0:
            groups.setdefault((job.stops, job.max_tokens), []).append(i)
    out = []
    for members in groups.values():
        members.sort(key=lambda i: (-len(jobs[i].prompt), jobs[i].text))
        out += [members[k:k + batch_size] for k in range(0, len(members), batch_size)]
    return out


def eos_ids(model, tokenizer) -> set[int]:
    """End-of-sequence ids: the generation config's (one or a list) and the tokenizer's."""
    ids = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    found = set(ids if isinstance(ids, (list, tuple)) else [ids] if ids is not None else [])
    if tokenizer.eos_token_id is not None:
        found.add(tokenizer.eos_token_id)
    return found


def supports_continuous(model) -> bool:
    """Whether `greedy` may drive this model: plain per-layer caches and no logits processors configured."""
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    config = getattr(model, "generation_config", None)
    for name, neutral in _PROCESSORS.items():
        if config is not None and getattr(config, name, neutral) not in (neutral, None, [], 0, 1.0):
            return False
    try:
        cache = DynamicCache(config=model.config)
    except (AttributeError, KeyError, TypeError, ValueError):  # a config the cache cannot read: use generate()
        return False
    return bool(cache.layers) and all(type(layer) is DynamicLayer for layer in cache.layers)


class _Batch:
    """The rows decoding now: their cache, attention mask, next positions and last tokens."""

    def __init__(self) -> None:
        self.jobs: list[int] = []
        self.cache = None
        self.mask = torch.zeros((0, 0), dtype=torch.long)
        self.positions = torch.zeros(0, dtype=torch.long)
        self.last = torch.zeros(0, dtype=torch.long)

    def __len__(self) -> int:
        return len(self.jobs)

    def join(self, jobs: list[int], cache, mask: torch.Tensor, positions: torch.Tensor, last: torch.Tensor) -> None:
        if self.cache is None or not self.jobs:
            self.jobs, self.cache, self.mask, self.positions, self.last = jobs, cache, mask, positions, last
            return
        width, new_width = self.mask.shape[1], mask.shape[1]
        if new_width < width:
            cache, mask = _left_pad(cache, mask, width - new_width)
        elif new_width > width:
            self.cache, self.mask = _left_pad(self.cache, self.mask, new_width - width)
        for layer, new in zip(self.cache.layers, cache.layers):
            layer.keys = torch.cat([layer.keys, new.keys])
            layer.values = torch.cat([layer.values, new.values])
        self.jobs = self.jobs + jobs
        self.mask = torch.cat([self.mask, mask])
        self.positions = torch.cat([self.positions, positions])
        self.last = torch.cat([self.last, last])

    def keep(self, rows: list[int], trim: bool = True) -> None:
        """Keep only `rows` (indices into the batch), then (`trim`) drop columns that are padding in every row."""
        if len(rows) == len(self.jobs):
            return
        self.jobs = [self.jobs[r] for r in rows]
        if not rows:
            self.cache = None
            return
        index = torch.tensor(rows, device=self.mask.device)
        self.mask, self.positions, self.last = self.mask[index], self.positions[index], self.last[index]
        present = self.mask.any(dim=0).nonzero()
        start = int(present[0]) if len(present) and trim else 0
        self.mask = self.mask[:, start:]
        for layer in self.cache.layers:
            layer.keys = layer.keys[index, :, start:]
            layer.values = layer.values[index, :, start:]


def _left_pad(cache, mask: torch.Tensor, count: int):
    for layer in cache.layers:
        layer.keys = torch.nn.functional.pad(layer.keys, (0, 0, count, 0))
        layer.values = torch.nn.functional.pad(layer.values, (0, 0, count, 0))
    return cache, torch.nn.functional.pad(mask, (count, 0))


def greedy(model, tokenizer, jobs: Sequence[Job], batch_size: int, device: str, progress: Progress = None,
           refill: bool = True) -> list[str]:
    """Greedy continuations of every job, continuous batching (module docstring); texts cut at stop strings.

    With `refill=False` a new batch starts only when the last one is done, and its cache keeps its columns:
    every row sees the padding and cache length transformers' `generate` (and lm-eval) would give it.
    """
    from transformers import DynamicCache

    stop_ids = eos_ids(model, tokenizer)
    cohorts = batches(jobs, batch_size)  # without refill, each is admitted whole into an empty batch
    pending = [i for cohort in cohorts for i in cohort][::-1] if refill else []  # pop() takes the next
    texts: list[str] = [""] * len(jobs)
    batch = _Batch()

    def finished(i: int) -> bool:
        job = jobs[i]
        if job.tokens and job.tokens[-1] in stop_ids:
            job.tokens.pop()
            return True
        if job.stops and any(s in tokenizer.decode(job.tokens, skip_special_tokens=False) for s in job.stops):
            return True
        return len(job.tokens) >= job.max_tokens

    def settle(rows: list[int]) -> None:
        """Drop the rows whose job is done."""
        done = [r for r in rows if finished(batch.jobs[r])]
        for r in done:
            job = jobs[batch.jobs[r]]
            texts[batch.jobs[r]] = cut_at_stop(tokenizer.decode(job.tokens, skip_special_tokens=True), job.stops)
        if done:
            batch.keep([r for r in range(len(batch)) if r not in set(done)], trim=refill)
            if progress:
                progress(len(done))

    cohorts.reverse()
    while pending or (cohorts and not refill) or len(batch):
        if (pending and len(batch) < batch_size) or (not refill and cohorts and not len(batch)):
            admitted = [pending.pop() for _ in range(min(batch_size - len(batch), len(pending)))] if refill \
                else cohorts.pop()
            before = len(batch)
            batch.join(admitted, *_prefill(model, [jobs[i].prompt for i in admitted], device, DynamicCache))
            for r, i in enumerate(admitted):
                jobs[i].tokens.append(int(batch.last[before + r]))
            settle(list(range(before, len(batch))))
            continue
        batch.mask = torch.nn.functional.pad(batch.mask, (0, 1), value=1)
        out = model(batch.last[:, None].to(device), attention_mask=batch.mask.to(device),
                    position_ids=batch.positions[:, None].to(device), **{_CACHE_ARG(model): batch.cache}, use_cache=True)
        batch.positions = batch.positions + 1
        batch.last = out.logits[:, -1].argmax(dim=-1).cpu()
        for r, i in enumerate(batch.jobs):
            jobs[i].tokens.append(int(batch.last[r]))
        settle(list(range(len(batch))))
    return texts


def _prefill(model, prompts: list[list[int]], device: str, cache_class):
    """Run left-padded prompts; their cache, mask, next positions and first generated tokens."""
    width = max(len(p) for p in prompts)
    ids = torch.zeros((len(prompts), width), dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for j, tokens in enumerate(prompts):
        ids[j, width - len(tokens):] = torch.tensor(tokens)
        mask[j, width - len(tokens):] = 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    cache = cache_class(config=model.config)
    out = model(ids.to(device), attention_mask=mask.to(device), position_ids=positions.to(device),
                **{_CACHE_ARG(model): cache}, use_cache=True, logits_to_keep=1)
    first = out.logits[:, -1].argmax(dim=-1).cpu()
    return cache, mask, positions[:, -1] + 1, first


def batched(model, tokenizer, jobs: Sequence[Job], batch_size: int, device: str, progress: Progress = None) -> list[str]:
    """transformers' `generate`, greedy, on left-padded batches of similar prompt lengths, stop strings per row.

    A row that is done keeps being computed (its output ignored) until every row of its batch is done.
    """
    tokenizer.padding_side = "left"
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    eos_text = tokenizer.decode([tokenizer.eos_token_id], skip_special_tokens=False) if tokenizer.eos_token_id is not None else ""
    out: list[str] = [""] * len(jobs)
    for batch in batches(jobs, batch_size):
        max_new = max(jobs[i].max_tokens for i in batch)
        width = max(len(jobs[i].prompt) for i in batch)
        ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for j, i in enumerate(batch):
            tokens = jobs[i].prompt
            ids[j, width - len(tokens):] = torch.tensor(tokens)
            mask[j, width - len(tokens):] = 1
        generated = model.generate(
            input_ids=ids.to(device), attention_mask=mask.to(device), max_new_tokens=max_new,
            do_sample=False, pad_token_id=pad_id, temperature=None, top_p=None, top_k=None,
            stopping_criteria=[_StopStrings(tokenizer, [(*jobs[i].stops, eos_text) for i in batch], width)],
        )
        for j, i in enumerate(batch):
            jobs[i].tokens = generated[j, width:width + jobs[i].max_tokens].tolist()
            text = tokenizer.decode(jobs[i].tokens, skip_special_tokens=True)
            out[i] = cut_at_stop(text, (*jobs[i].stops, eos_text))
        if progress:
            progress(len(batch))
    return out


class _StopStrings:
    """Per-row stop for `generate`: row j is done once its decoded new text contains one of `stops[j]`.

    (transformers' own stop_strings builds a table over the whole vocabulary on every call, which costs
    seconds per batch on a CPU, and applies one list to every row.)
    """

    def __init__(self, tokenizer, stops: Sequence[Sequence[str]], prompt_width: int) -> None:
        self.tokenizer, self.start = tokenizer, prompt_width
        self.stops = [[s for s in row if s] for row in stops]

    def __call__(self, input_ids, scores, **kwargs):
        tails = self.tokenizer.batch_decode(input_ids[:, self.start:], skip_special_tokens=False)
        return torch.tensor([any(stop in tail for stop in row) for tail, row in zip(tails, self.stops)],
                            device=input_ids.device)
