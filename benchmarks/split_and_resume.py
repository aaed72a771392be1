"""What a task's fixed layout costs: one task run uninterrupted, in cached calls, and resumed after a kill.

evalh cuts a task's forward passes once (harness/models/hf/plan.py), so a run split into calls by the
response cache, or resumed after a kill, gives the numbers of one uninterrupted call. A resumed run pays for
it: it recomputes the passes its missing requests share with cached ones, and replays the decoding schedule
up to them. This script prints the wall time of each run (model loaded beforehand, not counted), whether
the samples equal the uninterrupted run's, and the machine's conditions (CPU flags, threads).

    .venv/bin/python benchmarks/split_and_resume.py --task arc_easy --num-fewshot 5 --limit 100
    .venv/bin/python benchmarks/split_and_resume.py --task wmt22_en_de --limit 48 --dtype bfloat16
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


class Killed(Exception):
    """Raised from the cache after a number of committed calls, as a kill would stop the run."""


def timed_run(model, spec, args, cache, kill_after: int | None = None):
    from harness.runner import Runner

    runner = Runner(model, data_dir=args.data_dir, limit=args.limit, num_fewshot=args.num_fewshot, cache=cache,
                    flush_every=args.call_size)
    put = cache.put_many if cache is not None else None
    if kill_after is not None:
        committed = {"calls": 0}

        def counting(*a, **k):
            put(*a, **k)
            committed["calls"] += 1
            if committed["calls"] >= kill_after:
                raise Killed

        cache.put_many = counting
    started = time.perf_counter()
    try:
        samples = runner.run_task(spec)[1]
    except Killed:
        samples = None
    finally:
        if kill_after is not None:
            cache.put_many = put
    return time.perf_counter() - started, samples, dict(runner.cache_stats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--task", default="arc_easy")
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--num-fewshot", type=int, default=None)
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--call-size", type=int, default=64, help="requests per cached call (the runner's flush size)")
    parser.add_argument("--kill-after", type=int, default=2, help="committed calls before the simulated kill")
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()

    import torch

    from harness.cache import ResponseCache
    from harness.hardware import describe
    from harness.models.resolve import LoadOptions, load_model
    from harness.tasks.loader import build_index

    model = load_model(args.model, LoadOptions(dtype=args.dtype, batch_size=args.batch_size))
    model.model  # load now: the timings below are the runs alone
    spec = build_index().tasks[args.task]
    print(f"{describe(torch.get_num_threads())}\n{args.model} {model.info().dtype}, {args.task} limit {args.limit}, "
          f"batch size {args.batch_size}, calls of {args.call_size}")
    with tempfile.TemporaryDirectory() as tmp, ResponseCache.open(Path(tmp) / "responses.sqlite") as cache:
        seconds, whole, _ = timed_run(model, spec, args, None)
        print(f"  one call, no cache:         {seconds:7.1f} s")
        seconds, split, stats = timed_run(model, spec, args, cache)
        print(f"  calls of {args.call_size}, cache:         {seconds:7.1f} s  same samples: {split == whole}  {stats}")
        cache.clear()
        seconds, _, _ = timed_run(model, spec, args, cache, kill_after=args.kill_after)
        print(f"  killed after {args.kill_after} calls:        {seconds:7.1f} s")
        seconds, resumed, stats = timed_run(model, spec, args, cache)
        print(f"  resumed:                    {seconds:7.1f} s  same samples: {resumed == whole}  {stats}")


if __name__ == "__main__":
    main()
