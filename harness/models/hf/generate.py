"""Greedy generation for causal LMs: lm-eval's batches, several decoding in one forward pass.

This is how `match_batching='lm-eval'` generates (outputs equal lm-eval's); by default the adapter decodes
with `hf_invariant`, whose numbers do not depend on the batch. The helpers here (`Job`, `eos_ids`,
`job_done`, `supports_greedy`) serve both.

Each row must see exactly what it sees in lm-eval's `generate_until`, which runs transformers' `generate`
on batches of up to `batch_size` prompts (`batches`: grouped by stop strings and budget, longest prompt
first), left-padded to the batch's longest prompt: in bf16 the rounding of attention depends on a row's
padding and cache length (its batch's key count, and whether that batch has a padding mask at all), so a
row moved to another batch drifts (39 of 100 wmt22 lines differed from lm-eval's when finished rows were
refilled from the queue).

`greedy` keeps each of those batches ("cohorts") as lm-eval lays it out, prompt width, key count and
mask, but runs several at once: one forward pass takes every decoding row of every running cohort (linear
layers give each row the same numbers in any batch), and the attention runs per cohort against that
cohort's own keys (`_cohort_sdpa`). A row leaves the step it is done (end-of-sequence token, a stop string
in its text, or its budget), where lm-eval keeps computing it until its whole batch is done. Outputs equal
`generate()`'s on the same batches bit for bit, in float32 and bf16, and so lm-eval's (100/100 wmt22
lines). Models whose cache is not one plain key/value tensor per layer (sliding-window or hybrid layers),
that do not use sdpa attention, or whose generation config asks for logits processors go through
transformers' `generate` (`batched`), one batch at a time.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial

import torch

from harness.models.hf import attention as hf_attention
from harness.models.base import cut_at_stop
from harness.models.hf.scoring import _cache_keyword as _CACHE_ARG

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
    report: bool = True  # counted in progress when done (not for a duplicate or a row run only for layout)
    tokens: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)  # of each chosen token, float32 (invariant decoding)


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


def job_done(job: Job, stop_ids: set[int], tokenizer) -> bool:
    """Whether `job` is done after its latest token: an end-of-sequence token (dropped from `tokens`), a
    stop string in its text, or its whole budget."""
    if job.tokens and job.tokens[-1] in stop_ids:
        job.tokens.pop()
        return True
    if job.stops and any(s in tokenizer.decode(job.tokens, skip_special_tokens=False) for s in job.stops):
        return True
    return len(job.tokens) >= job.max_tokens


def supports_greedy(model) -> bool:
    """Whether `greedy` may drive this model: sdpa attention, plain per-layer caches, no logits processors."""
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    if getattr(model.config, "_attn_implementation", None) != "sdpa":
        return False
    config = getattr(model, "generation_config", None)
    for name, neutral in _PROCESSORS.items():
        if config is not None and getattr(config, name, neutral) not in (neutral, None, [], 0, 1.0):
            return False
    try:
        cache = DynamicCache(config=model.config)
    except (AttributeError, KeyError, TypeError, ValueError):  # a config the cache cannot read: use generate()
        return False
    return bool(cache.layers) and all(type(layer) is DynamicLayer for layer in cache.layers)


class _Cohort:
    """One of lm-eval's batches, decoding: its rows' keys/values (room for every token they may add), how
    many keys are filled, the padding mask (None when lm-eval's batch had no padding, as transformers then
    passes none), next positions and last tokens. Finished rows are dropped; their places stay empty."""

    def __init__(self, model, members: list[int], prompts: list[list[int]], max_tokens: int, device: str) -> None:
        cache, mask, self.positions, self.last = _prefill(model, prompts, device)
        self.jobs, self.length = members, mask.shape[1]
        self.capacity = self.length + max_tokens
        self.keys, self.values = [], []
        for layer in cache.layers:
            for store, filled in ((self.keys, layer.keys), (self.values, layer.values)):
                room = filled.new_empty((*filled.shape[:2], self.capacity, filled.shape[3]))
                room[:, :, :self.length] = filled
                store.append(room)
        self.padding = None if bool(mask.all()) else torch.nn.functional.pad(
            mask.bool(), (0, max_tokens), value=True).to(device)

    def held(self) -> int:
        """Key/value positions this cohort holds."""
        return len(self.jobs) * self.capacity

    def keep(self, rows: list[int]) -> None:
        """Keep only `rows` (indices into the cohort's rows); the key count and mask stay lm-eval's."""
        if len(rows) == len(self.jobs):
            return
        self.jobs = [self.jobs[r] for r in rows]
        index = torch.tensor(rows, dtype=torch.long)
        self.positions, self.last = self.positions[index], self.last[index]
        index = index.to(self.keys[0].device)
        self.keys = [k[index] for k in self.keys]
        self.values = [v[index] for v in self.values]
        if self.padding is not None:
            self.padding = self.padding[index]


def _cohort_sdpa(cohorts: list[_Cohort], module, query, key, value, attention_mask, **kwargs):
    """One decode step's attention, per cohort (their rows in order): the new key/value goes into the
    cohort's store, and transformers' sdpa runs on the cohort's filled keys with its own mask."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    depth = module.layer_idx
    out = query.new_empty((query.shape[0], query.shape[2], query.shape[1], query.shape[3]))
    at = 0
    for cohort in cohorts:
        rows, end = slice(at, at + len(cohort.jobs)), cohort.length + 1
        keys, values = cohort.keys[depth], cohort.values[depth]
        keys[:, :, cohort.length] = key[rows, :, 0]
        values[:, :, cohort.length] = value[rows, :, 0]
        mask = None if cohort.padding is None else cohort.padding[:, None, None, :end]
        out[rows], _ = sdpa_attention_forward(module, query[rows], keys[:, :, :end], values[:, :, :end], mask, **kwargs)
        at += len(cohort.jobs)
    return out, None


def _step(model, cohorts: list[_Cohort], device: str) -> None:
    """One decode step of every running cohort, in one forward pass: each row's next token into `last`."""
    last = torch.cat([c.last for c in cohorts])[:, None]
    positions = torch.cat([c.positions for c in cohorts])[:, None]
    with hf_attention.attending(partial(_cohort_sdpa, cohorts)):
        out = model(last.to(device), position_ids=positions.to(device), use_cache=False, logits_to_keep=1)
    chosen = out.logits[:, -1].argmax(dim=-1).cpu()
    at = 0
    for cohort in cohorts:
        cohort.last = chosen[at:at + len(cohort.jobs)]
        cohort.positions = cohort.positions + 1
        cohort.length += 1
        at += len(cohort.jobs)


def greedy(model, tokenizer, jobs: Sequence[Job], batch_size: int, device: str, progress: Progress = None,
           max_positions: int | None = None) -> list[str]:
    """Greedy continuations of every job in lm-eval's batches (module docstring); texts cut at stop strings.
    `progress` counts finished jobs whose `report` is set."""
    texts: list[str] = [""] * len(jobs)
    with hf_attention.installed(model):
        for finished in decode(model, tokenizer, jobs, batch_size, device, max_positions):
            for i, text in finished:
                texts[i] = text
            if progress and any(jobs[i].report for i, _ in finished):
                progress(sum(jobs[i].report for i, _ in finished))
    return texts


def decode(model, tokenizer, jobs: Sequence[Job], batch_size: int, device: str,
           max_positions: int | None = None) -> Iterator[list[tuple[int, str]]]:
    """Greedy decoding of every job, one step at a time: yields the (job index, text) pairs each step finishes.

    Cohorts start in lm-eval's order while the running ones hold at most `max_positions` key/value positions
    (one cohort always runs). Which rows share a step depends only on `jobs`, so a caller that stops early
    and resumes later gets the same texts. Run it inside `hf_attention.installed(model)`.
    """
    stop_ids = eos_ids(model, tokenizer)
    waiting = batches(jobs, batch_size)[::-1]  # pop() takes the next
    running: list[_Cohort] = []

    def finished(i: int) -> bool:
        return job_done(jobs[i], stop_ids, tokenizer)

    def settle(cohort: _Cohort) -> list[tuple[int, str]]:
        """Take each row's new token; drop the rows whose job is done and return their texts."""
        for r, i in enumerate(cohort.jobs):
            jobs[i].tokens.append(int(cohort.last[r]))
        done = [r for r, i in enumerate(cohort.jobs) if finished(i)]
        texts = [(cohort.jobs[r], cut_at_stop(tokenizer.decode(jobs[cohort.jobs[r]].tokens, skip_special_tokens=True),
                                              jobs[cohort.jobs[r]].stops)) for r in done]
        cohort.keep([r for r in range(len(cohort.jobs)) if r not in set(done)])
        return texts

    def fits(members: list[int]) -> bool:
        if not running or max_positions is None:
            return True
        size = len(members) * (max(len(jobs[i].prompt) for i in members) + jobs[members[0]].max_tokens)
        return sum(c.held() for c in running) + size <= max_positions

    while waiting or running:
        step: list[tuple[int, str]] = []
        while waiting and fits(waiting[-1]):
            members = waiting.pop()
            cohort = _Cohort(model, members, [jobs[i].prompt for i in members], jobs[members[0]].max_tokens, device)
            step += settle(cohort)
            if cohort.jobs:
                running.append(cohort)
        if running:
            _step(model, running, device)
            for cohort in running:
                step += settle(cohort)
            running = [c for c in running if c.jobs]
        yield step


def _prefill(model, prompts: list[list[int]], device: str):
    """Run left-padded prompts, as `generate` does; their cache, mask, next positions and first tokens."""
    from transformers import DynamicCache

    width = max(len(p) for p in prompts)
    ids = torch.zeros((len(prompts), width), dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for j, tokens in enumerate(prompts):
        ids[j, width - len(tokens):] = torch.tensor(tokens)
        mask[j, width - len(tokens):] = 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    cache = DynamicCache(config=model.config)
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
            progress(sum(jobs[i].report for i in batch))
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
