"""Does a log-likelihood depend on the batch size on this machine? Two checks, with the CPU's flags named.

1. The kernel effect, minimal: an fp32 Linear of an output head's shape (576 -> 49152) applied to a row
   alone (in a block of 48 copies) and as row `pos` of `M` rows. A row in a partial last tile of the
   kernel gets other bits; evalh pads every product's row count to a multiple of 48 (hf/scoring.py).
2. The whole path: SmolLM2-135M scores arc_easy requests (0- and 2-shot) at several batch sizes; every
   log-likelihood is compared bit for bit with batch size 1.

    .venv/bin/python benchmarks/batch_invariance.py --dtype float32 --threads 2 --items 20
"""
from __future__ import annotations

import argparse
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
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    from harness import hardware
    from harness.models.resolve import LoadOptions, load_model

    print(hardware.describe(args.threads))
    print("1. fp32 Linear 576 -> 49152, one row among M:")
    print("\n".join(kernel_rows(args.threads)))
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


if __name__ == "__main__":
    main()
