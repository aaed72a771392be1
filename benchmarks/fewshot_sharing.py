"""How much of a few-shot task's context a token trie across items could share, per few-shot sampler.

evalh computes a prefix shared by every item of a task once (a fixed few-shot block) and each item's
context once for all its choices. A trie over the items' context tokens would also share prefixes that only
some items have in common. This prints, for arc_easy k-shot with lm-eval's two samplers, the context tokens
computed per item against the trie's node count (the tokens a trie would compute): the gap is what a trie
could still save.

    .venv/bin/python benchmarks/fewshot_sharing.py --items 300 --k 5
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def trie_nodes(sequences: list[list[int]]) -> int:
    """Distinct prefixes over the sequences: the tokens a trie computes once each."""
    root: dict = {}
    count = 0
    for tokens in sequences:
        node = root
        for token in tokens:
            if token not in node:
                node[token] = {}
                count += 1
            node = node[token]
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--model", default="smollm2-135m", help="whose tokenizer counts the tokens")
    args = parser.parse_args()

    from transformers import AutoTokenizer

    from harness.models import packaged
    from harness.models.hf.gguf_cache import converted_folder
    from harness.models.hf.scoring import shared_prefix_length
    from harness.tasks.build import FewshotSampler, build_items
    from harness.tasks.datasets import load_rows
    from harness.tasks.loader import build_index

    folder, _ = converted_folder(packaged.locate(args.model))
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    spec = build_index([]).resolve(["arc_easy"])[0][0]
    rows = load_rows(spec, data_dir=args.data_dir)[:args.items]
    pool = load_rows(spec, split="validation", data_dir=args.data_dir)
    print(f"arc_easy, {len(rows)} items, {args.k}-shot from validation, tokens of {args.model}")
    for sampler in ("first_n", "random"):
        items = build_items(spec, rows, FewshotSampler(pool, args.k, spec.fewshot.seed, sampler, False))
        contexts = [tokenizer.encode(item.prompt) for item in items]
        total = sum(len(c) for c in contexts)
        shared = shared_prefix_length(contexts)
        today = shared + sum(len(c) - shared for c in contexts)  # the task-wide block once, the rest per item
        nodes = trie_nodes(contexts)
        print(f"  {sampler:8s} context tokens {total:7d}; computed today {today:7d}; with a trie {nodes:7d} "
              f"(a trie saves {1 - nodes / today:.1%} of today's)")


if __name__ == "__main__":
    main()
