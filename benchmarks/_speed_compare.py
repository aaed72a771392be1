"""Measuring and comparing for benchmarks/speed_vs_lm_eval.py: forward-pass meters and score agreement.

lm-eval's samples are the dicts `simple_evaluate(..., log_samples=True)` returns; evalh's are SampleRecords.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from compare_lm_eval import first_float

# -- measuring forward passes -------------------------------------------------------------------
class ForwardMeter:
    """Counts input positions and seconds spent inside a causal LM's forward passes (via hooks).

    Hooks the model and its decoder and output head: evalh's scoring may call the decoder and then the
    head on the rows it needs (harness.models.hf.scoring.split_head). Only outermost calls count, so a
    decoder call inside the model's own forward is not counted twice.
    """

    def __init__(self, model, device: str = "cpu") -> None:
        import torch

        # a CUDA forward returns before the device finishes: wait for it at each end of a call
        self._sync = torch.cuda.synchronize if str(device).startswith("cuda") else (lambda: None)
        self.calls, self.tokens, self.seconds = 0, 0, 0.0
        self.shapes: list[tuple[int, int]] = []  # (rows, positions) of each call
        self._started: list[float] = []
        parts = [model, getattr(model, "get_decoder", lambda: None)(), model.get_output_embeddings()]
        for module in {id(m): m for m in parts if m is not None}.values():
            module.register_forward_pre_hook(self._before, with_kwargs=True)
            module.register_forward_hook(self._after, with_kwargs=True)

    def _before(self, module, args, kwargs) -> None:
        if not self._started:
            self._sync()
        self._started.append(time.perf_counter())
        if len(self._started) > 1:
            return
        ids = kwargs.get("input_ids", args[0] if args else None)
        if ids is None:
            ids = kwargs.get("inputs_embeds")
        if ids is not None and (ids.dim() == 3 or (ids.dim() == 2 and not ids.is_floating_point())):
            self.tokens += ids.shape[0] * ids.shape[1]
            self.shapes.append((ids.shape[0], ids.shape[1]))
        self.calls += 1

    def _after(self, module, args, kwargs, output) -> None:
        started = self._started.pop()
        if not self._started:
            self._sync()
            self.seconds += time.perf_counter() - started

    def reset(self) -> None:
        self.calls, self.tokens, self.seconds, self._started, self.shapes = 0, 0, 0.0, [], []


@dataclass
class RunStats:
    """One timed run of one harness on one case."""

    seconds: float
    forward_s: float
    tokens: int
    calls: int
    metrics: dict[str, float]
    samples: list[Any] = field(repr=False)
    shapes: list[tuple[int, int]] = field(default_factory=list, repr=False)

    @property
    def outside_share(self) -> float:
        return max(0.0, self.seconds - self.forward_s) / self.seconds if self.seconds else float("nan")


# -- agreement ------------------------------------------------------------------------------------
def lm_context(sample: dict) -> str:
    """The context string of lm-eval's first request for a document (its log format varies by version)."""
    arguments = sample["arguments"]
    first = arguments[0] if isinstance(arguments, (list, tuple)) else next(iter(arguments.values()))
    if isinstance(first, dict):
        first = list(first.values())
    return str(first[0])


def lm_text(value) -> str:
    while isinstance(value, (list, tuple)):
        value = value[0]
    return str(value)


def compare_prompts(ours: RunStats, theirs: RunStats) -> str:
    """'300/300 identical' over every item both harnesses ran (matched by document index), or how many
    differ and the first mismatch."""
    theirs_by_index = {int(s["doc_id"]): s for s in theirs.samples}
    pairs = [(s, theirs_by_index[s.index]) for s in ours.samples if s.index in theirs_by_index]
    differing = [(s, lm_context(t)) for s, t in pairs if s.prompt != lm_context(t)]
    if differing:
        first, context = differing[0]
        return (f"{len(differing)}/{len(pairs)} DIFFER; item {first.index}:\n      evalh   {first.prompt[-200:]!r}\n"
                f"      lm-eval {context[-200:]!r}")
    return f"{len(pairs)}/{len(pairs)} identical"


def _pick(scores: list[float]) -> int:
    return max(range(len(scores)), key=scores.__getitem__)


def _choice_scores(logprobs: list[float], lengths: list[float], norm: bool) -> list[float]:
    """acc compares summed log-probabilities; acc_norm compares them per character of the choice."""
    return [x / n for x, n in zip(logprobs, lengths)] if norm else list(logprobs)


def compare_mc(ours: RunStats, theirs: RunStats, reference: RunStats | None = None) -> tuple[str, list[str]]:
    """Agreement summary and one line per item whose acc or acc_norm prediction differs.

    With a `reference` (evalh in float32), each line also gives the float32 margin, and the summary counts
    the predictions of each harness that differ from float32's.
    """
    theirs_by_index = {int(s["doc_id"]): s for s in theirs.samples}
    ref = {s.index: list(s.logprobs or []) for s in reference.samples} if reference else {}
    lines, differing, off_ref = [], set(), {"evalh": 0, "lm-eval": 0}
    max_delta, compared = 0.0, 0
    for sample in ours.samples:
        other = theirs_by_index.get(sample.index)
        if other is None:
            lines.append(f"item {sample.index}: missing from lm-eval")
            continue
        compared += 1
        a = list(sample.logprobs or [])
        b = [first_float(r) for r in (other.get("filtered_resps") or other["resps"])]
        lengths = [float(len(c)) for c in sample.choices or []]
        max_delta = max([max_delta, *(abs(x - y) for x, y in zip(a, b))])
        for metric, norm in (("acc", False), ("acc_norm", True)):
            sa, sb = _choice_scores(a, lengths, norm), _choice_scores(b, lengths, norm)
            pa, pb = _pick(sa), _pick(sb)
            sr = _choice_scores(ref[sample.index], lengths, norm) if sample.index in ref else None
            if sr is not None:
                off_ref["evalh"] += pa != _pick(sr)
                off_ref["lm-eval"] += pb != _pick(sr)
            if pa != pb or sample.scores.get(metric) != other.get(metric):
                differing.add(sample.index)
                fp32 = f"; float32 margin {pa} over {pb}: {sr[pa] - sr[pb]:.4g}" if sr is not None else ""
                lines.append(f"item {sample.index} {metric}: evalh picks {pa} (margin over {pb}: {sa[pa] - sa[pb]:.4g}), "
                             f"lm-eval picks {pb} (margin over {pa}: {sb[pb] - sb[pa]:.4g}); {metric} evalh "
                             f"{sample.scores.get(metric)}, lm-eval {other.get(metric)}{fp32}")
    same = all(round(ours.metrics[m], 9) == round(theirs.metrics[m], 9) for m in ("acc", "acc_norm"))
    summary = (f"acc {ours.metrics['acc']:.4f}/{theirs.metrics['acc']:.4f}, acc_norm {ours.metrics['acc_norm']:.4f}/"
               f"{theirs.metrics['acc_norm']:.4f} ({'identical' if same else 'DIFFER'}); "
               f"{len(differing)}/{compared} items differ; max |d logprob| {max_delta:.3g}")
    if reference:
        summary += (f"; predictions off float32: evalh {off_ref['evalh']}, lm-eval {off_ref['lm-eval']} "
                    f"(of {2 * compared} acc+acc_norm)")
    return summary, lines


def lm_eval_self_agreement(ours: RunStats, first: RunStats, second: RunStats, batch_size: int) -> str:
    """How many items lm-eval itself predicts differently (acc or acc_norm) when only its batch size changes.

    Choice lengths for acc_norm come from evalh's samples of the same items (the same choices).
    """
    lengths = {s.index: [float(len(c)) for c in s.choices or []] for s in ours.samples}
    second_by_index = {int(s["doc_id"]): s for s in second.samples}
    differing, compared = 0, 0
    for sample in first.samples:
        index = int(sample["doc_id"])
        other = second_by_index.get(index)
        if other is None or index not in lengths:
            continue
        compared += 1
        a = [first_float(r) for r in (sample.get("filtered_resps") or sample["resps"])]
        b = [first_float(r) for r in (other.get("filtered_resps") or other["resps"])]
        differing += any(_pick(_choice_scores(a, lengths[index], norm)) != _pick(_choice_scores(b, lengths[index], norm))
                         for norm in (False, True))
    return f"lm-eval vs lm-eval at batch size {batch_size}: {differing}/{compared} items differ"


def compare_generations(ours: RunStats, theirs: RunStats) -> tuple[str, list[str]]:
    theirs_by_index = {int(s["doc_id"]): s for s in theirs.samples}
    lines, same, same_stripped = [], 0, 0
    for sample in ours.samples:
        other = theirs_by_index[sample.index]
        a, b = sample.response or "", lm_text(other.get("filtered_resps") or other["resps"])
        same += a == b
        same_stripped += a.strip() == b.strip()
        if a != b:
            lines.append(f"item {sample.index}:\n      evalh   {a!r}\n      lm-eval {b!r}")
    n = len(ours.samples)
    summary = (f"{same}/{n} outputs identical ({same / n:.1%}; {same_stripped}/{n} after strip), "
               f"{n - same} differ; BLEU {ours.metrics.get('bleu', float('nan')):.2f}/"
               f"{theirs.metrics.get('bleu', float('nan')):.2f}")
    return summary, lines


def decode_work(tokenizer, stats: RunStats, name: str, max_new_tokens: int) -> str:
    """How much of the one-token decode work produced tokens that a finished output keeps."""
    steps = [rows for rows, positions in stats.shapes if positions == 1]
    responses = [s.response or "" for s in stats.samples] if name == "evalh" else \
        [lm_text(s.get("filtered_resps") or s["resps"]) for s in stats.samples]
    # tokens each row needs: its output plus the token that holds the stop string, at most max_new_tokens;
    # the prefill pass yields the first of them
    needed = sum(min(len(tokenizer.encode(r, add_special_tokens=False)) + 1, max_new_tokens) - 1 for r in responses)
    row_steps = sum(steps)
    return (f"{name}: {len(steps)} decode steps over {row_steps} row-steps; rows still generating "
            f"~{needed} ({needed / row_steps:.0%})" if row_steps else f"{name}: no decode steps")
