"""Greedy generations through a llama.cpp server vs the in-process transformers adapter, same GGUF.

Both sides run SmolLM2-135M-Instruct from the packaged Q4_1 GGUF: llama.cpp computes with the quantized
weights, transformers with dequantized ones (bf16 by default, --dtype float32 to remove that difference),
so the numbers differ slightly and long generations can drift apart after a near-tie. The agreement rate
is reported, not asserted. Also compares starter_mc log-likelihoods (mean |difference|, argmax agreement).

Run:  .venv/bin/python benchmarks/api_agreement.py --limit 12
"""
from __future__ import annotations

import argparse
import statistics
import time

from api_common import GENERATE_TASKS, generate_requests, score_requests, server_url

from harness.models.api.model import create_completions
from harness.models.resolve import LoadOptions, load_model


def first_words(text: str, n: int = 3) -> list[str]:
    return text.split()[:n]


def report_generations(gens: list, served: list[str], local: list[str]) -> None:
    exact = sum(a == b for a, b in zip(served, local))
    stripped = sum(a.strip() == b.strip() for a, b in zip(served, local))
    start = sum(first_words(a) == first_words(b) for a, b in zip(served, local))
    n = len(gens)
    print(f"generations ({', '.join(GENERATE_TASKS)}): {n}")
    print(f"  exact agreement:        {exact}/{n} = {exact / n:.1%}")
    print(f"  agreement after strip:  {stripped}/{n} = {stripped / n:.1%}")
    print(f"  same first three words: {start}/{n} = {start / n:.1%}")
    for request, a, b in [(r, a, b) for r, a, b in zip(gens, served, local) if a.strip() != b.strip()][:3]:
        print(f"  differs: ...{request.prompt[-50:]!r}\n    server: {a[:80]!r}\n    torch:  {b[:80]!r}")


def report_scores(scores: list, served: list, local: list) -> None:
    diffs = [abs(a[0] - b[0]) for a, b in zip(served, local)]
    print(f"log-likelihoods (starter_mc choices): {len(scores)}; mean |diff| {statistics.mean(diffs):.3f}, "
          f"max {max(diffs):.3f}")
    by_context: dict[str, list[int]] = {}
    for k, request in enumerate(scores):
        by_context.setdefault(request.context, []).append(k)
    same = sum(max(ks, key=lambda k: served[k][0]) == max(ks, key=lambda k: local[k][0]) for ks in by_context.values())
    print(f"  same argmax choice: {same}/{len(by_context)} = {same / len(by_context):.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", help="a running server for SmolLM2 (default: start llama.cpp)")
    parser.add_argument("--limit", type=int, default=12, help="items per task (default 12)")
    parser.add_argument("--dtype", default="auto", help="dtype of the transformers side (default auto: bf16)")
    args = parser.parse_args()
    gens, scores = generate_requests(args.limit), score_requests(args.limit)
    with server_url(args.base_url) as base_url:
        api = create_completions(f"smollm2?base_url={base_url}&max_concurrency=4&timeout=120&bos=<|im_start|>")
        started = time.perf_counter()
        served_gens, served_scores = api.generate(gens), api.loglikelihood(scores)
        print(f"server: {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    local_model = load_model("smollm2", LoadOptions(dtype=args.dtype))
    local_gens, local_scores = local_model.generate(gens), local_model.loglikelihood(scores)
    print(f"transformers ({local_model.info().dtype}): {time.perf_counter() - started:.1f} s (load included)")
    report_generations(gens, served_gens, local_gens)
    report_scores(scores, served_scores, local_scores)


if __name__ == "__main__":
    main()
