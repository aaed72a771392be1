"""Do log-likelihoods and generations depend on the batch size on this machine? With the CPU's flags named.

1. The kernel effect, minimal: an fp32 Linear of an output head's shape (576 -> 49152) applied to a row
   alone (in a block of 48 copies) and as row `pos` of `M` rows. A row in a partial last tile of the
   kernel gets other bits; evalh pads every product's row count to a multiple of 48 (hf/scoring.py).
2. The whole path: SmolLM2-135M scores arc_easy requests (0- and 2-shot) at several batch sizes; every
   log-likelihood is compared bit for bit with batch size 1.
3. Greedy generation: SmolLM2-135M translates wmt22 en-de lines, decoding one row at a time, a few rows at
   a time (finished rows refilled from the queue) and all rows at once; texts and every step's
   log-probability are compared with one row at a time. Then the model's own `generate` at each batch
   size, with the decode work counted (steps, rows computed in them with the padding to whole tiles, and
   prompt tokens prefilled): `--match-batching lm-eval` gives the cohort layout's counts for comparison.

    .venv/bin/python benchmarks/batch_invariance.py --dtype float32 --threads 2 --items 20 --lines 12
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def kernel_rows(threads: int) -> list[str]:
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(threads)
    head = torch.nn.Linear(576, 49152, bias=False)
    rows = torch.randn(50, 576)
    lines = []
    with torch.no_grad():
        alone = head(rows[:1].expand(48, -1).contiguous())[0]
        for m in (1, 2, 3, 4, 5, 6, 7, 8, 12, 13, 16, 24, 47, 48):
            moved = [pos for pos in range(m) if not torch.equal(head(torch.cat([rows[1:pos + 1], rows[:1],
                                                                                 rows[pos + 1:m]]))[pos], alone)]
            lines.append(f"  M={m:>2}: row differs from the full-tile result at positions {moved or 'none'}")
    return lines


def arc_requests(data_dir: Path, k: int, n: int) -> list:
    from harness.tasks.build import FewshotSampler, build_items
    from harness.tasks.datasets import load_rows
    from harness.tasks.loader import build_index

    spec = build_index().tasks["arc_easy"]
    rows = load_rows(spec, data_dir=data_dir)[:n]
    sampler = FewshotSampler(load_rows(spec, "validation", data_dir), k, 1234, "first_n", False) if k else None
    return list(dict.fromkeys(r for item in build_items(spec, rows, sampler) for r in item.requests))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--items", type=int, default=20, help="arc_easy items, each 0- and 2-shot")
    parser.add_argument("--batch-sizes", default="1,3,8,32")
    parser.add_argument("--match-batching", default="none", choices=["none", "lm-eval"])
    parser.add_argument("--lines", type=int, default=12, help="wmt22 en-de lines to generate (0: skip)")
    parser.add_argument("--budget", type=int, default=0, help="tokens per generation (0: the task's)")
    parser.add_argument("--skip-scoring", action="store_true", help="only the kernel and generation checks")
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    from harness import hardware

    print(hardware.describe(args.threads))
    print("1. fp32 Linear 576 -> 49152, one row among M:")
    print("\n".join(kernel_rows(args.threads)))
    if not args.skip_scoring:
        scoring(args)
    if args.lines:
        generation(args)


def scoring(args) -> None:
    from harness.models.resolve import LoadOptions, load_model

    requests = arc_requests(args.data_dir, 2, args.items) + arc_requests(args.data_dir, 0, args.items)
    print(f"2. SmolLM2-135M, {args.dtype}, match_batching {args.match_batching}, {len(requests)} requests:")
    scores = {}
    for size in (int(s) for s in args.batch_sizes.split(",")):
        model = load_model("smollm2", LoadOptions(dtype=args.dtype, batch_size=size, threads=args.threads,
                                                  match_batching=args.match_batching))
        started = time.perf_counter()
        scores[size] = model.loglikelihood(requests)
        seconds = time.perf_counter() - started
        first = next(iter(scores))
        moved = [abs(a[0] - b[0]) for a, b in zip(scores[first], scores[size]) if a[0] != b[0]]
        print(f"  batch size {size:>2}: {seconds:6.1f} s, {len(moved)}/{len(requests)} log-likelihoods differ from "
              f"batch size {first}" + (f" (max {max(moved):.3g})" if moved else ""))


def wmt_requests(data_dir: Path, n: int) -> list:
    from harness.tasks.build import build_items
    from harness.tasks.datasets import load_rows
    from harness.tasks.loader import build_index

    spec = build_index().tasks["wmt22_en_de"]
    return [item.requests[0] for item in build_items(spec, load_rows(spec, data_dir=data_dir)[:n], None)]


def decoded(model, prompts: list[list[int]], budget: int, max_positions: int) -> list[tuple[list[int], list[float]]]:
    """Tokens and per-step log-probabilities of each prompt, decoded with at most `max_positions` cached."""
    from harness.models.hf import attention as hf_attention
    from harness.models.hf import generate as hf_generate
    from harness.models.hf import invariant as hf_invariant

    jobs = [hf_generate.Job(p, budget, ("\n",)) for p in prompts]
    with hf_attention.installed(model.model):
        for _ in hf_invariant.decode(model.model, model.tokenizer, jobs, model.device, max_positions):
            pass
    return [(job.tokens, job.logprobs) for job in jobs]


def counting(model) -> dict[str, int]:
    """Counts of the decoder's forward passes: decode steps (one token a row) and the rows in them, and the
    tokens of prefill passes (padding included)."""
    seen = {"steps": 0, "rows": 0, "prefill": 0}

    def hook(module, args, kwargs):
        ids = args[0] if args else kwargs.get("input_ids")
        if ids is not None and ids.shape[1] == 1:
            seen["steps"] += 1
            seen["rows"] += ids.shape[0]
        elif ids is not None:
            seen["prefill"] += ids.numel()

    model.model.get_decoder().register_forward_pre_hook(hook, with_kwargs=True)
    return seen


def generation(args) -> None:
    from harness.models.hf import invariant as hf_invariant
    from harness.models.hf.scoring import split_head
    from harness.models.resolve import LoadOptions, load_model

    requests = wmt_requests(args.data_dir, args.lines)
    if args.budget:
        requests = [dataclasses.replace(r, max_tokens=args.budget) for r in requests]
    budget = requests[0].max_tokens
    model = load_model("smollm2", LoadOptions(dtype=args.dtype, batch_size=1, threads=args.threads))
    prompts = [model._encode(r.prompt) for r in requests]
    room = max(len(p) for p in prompts) + budget
    print(f"3. SmolLM2-135M greedy, {args.dtype}, wmt22 en-de {len(requests)} lines, budget {budget} tokens:")
    runs = {}
    for rows in (1, 3, len(prompts)):
        started = time.perf_counter()
        runs[rows] = decoded(model, prompts, budget, rows * room)
        seconds = time.perf_counter() - started
        texts = sum(a[0] != b[0] for a, b in zip(runs[1], runs[rows]))
        steps = sum(x != y for a, b in zip(runs[1], runs[rows]) for x, y in zip(a[1], b[1]))
        print(f"  {rows:>3} rows at a time: {seconds:6.1f} s, {texts}/{len(prompts)} token sequences and "
              f"{steps} step log-probabilities differ from one row at a time")
    reference = None
    for match in ("none", "lm-eval"):
        for size in (int(s) for s in args.batch_sizes.split(",")):
            model = load_model("smollm2", LoadOptions(dtype=args.dtype, batch_size=size, threads=args.threads,
                                                      match_batching=match))
            split_head(model.model)
            seen, model.decode_counts = counting(model), hf_invariant.new_counts()
            started = time.perf_counter()
            texts = model.generate(requests)
            seconds = time.perf_counter() - started
            real = model.decode_counts["row_steps"] or seen["rows"]
            reference = texts if reference is None else reference
            print(f"  match_batching {match}, batch size {size:>2}: {seconds:6.1f} s, "
                  f"{sum(a != b for a, b in zip(reference, texts))}/{len(texts)} texts differ from the first run; "
                  f" {seen['steps']} decode steps, {real} rows needed, {seen['rows']} computed, "
                  f"{seen['prefill']} prompt tokens prefilled for {sum(map(len, prompts))}")


if __name__ == "__main__":
    main()
