"""Throughput of the OpenAI-compatible adapter at several concurrency levels against a real server.

Starts llama-cpp-python's server on 127.0.0.1 (SmolLM2-135M; needs EVALH_WITH_LLAMA_CPP=1 bash setup.sh)
unless --base-url points at a running one. Workload: the log-likelihood requests of starter_mc and the
greedy generations of the starter generation tasks (first --limit items each), the same at every level.

Run:  .venv/bin/python benchmarks/api_throughput.py --limit 8 --concurrency 1,4,8

llama-cpp-python's server evaluates one request at a time (one model, one lock), so concurrency only
overlaps HTTP and JSON work with compute there; batching servers (vLLM, TGI, SGLang) gain much more.
"""
from __future__ import annotations

import argparse
import time

from api_common import generate_requests, score_requests, server_url

from harness.models.api.model import create_completions


def measure(base_url: str, model: str, concurrency: int, scores: list, gens: list) -> dict[str, float]:
    """Seconds and requests/s for the scoring and generation workloads at one concurrency level."""
    adapter = create_completions(f"{model}?base_url={base_url}&max_concurrency={concurrency}&timeout=120"
                                 "&bos=<|im_start|>")
    started = time.perf_counter()
    adapter.loglikelihood(scores)
    scored = time.perf_counter()
    adapter.generate(gens)
    generated = time.perf_counter()
    return {"ll_s": scored - started, "ll_rps": len(scores) / (scored - started),
            "gen_s": generated - scored, "gen_rps": len(gens) / (generated - scored),
            "total_rps": (len(scores) + len(gens)) / (generated - started)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", help="a running OpenAI-compatible server (default: start llama.cpp)")
    parser.add_argument("--model", default="smollm2", help="model name the server knows (default smollm2)")
    parser.add_argument("--limit", type=int, default=8, help="items per task (default 8)")
    parser.add_argument("--concurrency", default="1,4,8", help="comma-separated levels (default 1,4,8)")
    parser.add_argument("--threads", type=int, help="server threads (default: all cores)")
    args = parser.parse_args()
    scores, gens = score_requests(args.limit), generate_requests(args.limit)
    levels = [int(c) for c in args.concurrency.split(",")]
    with server_url(args.base_url, args.threads) as base_url:
        measure(base_url, args.model, 1, scores[:4], gens[:2])  # warm-up: first-call costs
        print(f"workload: {len(scores)} log-likelihood requests, {len(gens)} generations (max_tokens 16-48)")
        print(f"{'concurrency':>11} | {'loglik req/s':>12} | {'generate req/s':>14} | {'all req/s':>9} | {'wall s':>7}")
        for level in levels:
            row = measure(base_url, args.model, level, scores, gens)
            print(f"{level:>11} | {row['ll_rps']:>12.2f} | {row['gen_rps']:>14.2f} | {row['total_rps']:>9.2f} | "
                  f"{row['ll_s'] + row['gen_s']:>7.1f}", flush=True)


if __name__ == "__main__":
    main()
