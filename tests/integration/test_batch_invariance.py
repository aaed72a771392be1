"""A request's log-likelihood does not depend on the batch size, on sharding, or on which other requests
are left to compute (a resumed run): every row is padded to a width of its own and every matrix product
has a row count that fills whole kernel tiles (hf/scoring.py).

Bit-equality is checked where it was verified: CPUs without AVX-512 (AVX2 kernels tile fp32 rows by 4,
which ROW_STEP covers). Elsewhere the kernels' tile heights are not known here, and the tests hold the
numbers to |difference| <= 1e-6 (fp32) or the same answer per item (bf16) and print what they saw;
benchmarks/batch_invariance.py is the reproduction to run on such a machine.
"""
from __future__ import annotations

import pytest

from harness import hardware
from harness.executors.sharded import LocalBackend, ShardedModel
from harness.models.resolve import LoadOptions, load_model
from harness.requests import Loglikelihood
from harness.tasks.build import FewshotSampler, build_items
from harness.tasks.datasets import load_rows
from harness.tasks.loader import build_index

VERIFIED = "avx512f" not in hardware.cpu_flags()


def _arc_requests(shared_data, k: int, n: int) -> list[Loglikelihood]:
    spec = build_index().tasks["arc_easy"]
    rows = load_rows(spec, data_dir=shared_data)[:n]
    sampler = FewshotSampler(load_rows(spec, "validation", shared_data), k, 1234, "first_n", False) if k else None
    return list(dict.fromkeys(r for item in build_items(spec, rows, sampler) for r in item.requests))


def _same(reference: list, other: list, dtype: str, what: str) -> None:
    if VERIFIED:
        assert other == reference, what
        return
    print(f"{what}: {sum(a != b for a, b in zip(reference, other))}/{len(reference)} differ in some bit")
    if dtype == "float32":
        assert max(abs(a[0] - b[0]) for a, b in zip(reference, other)) <= 1e-6, what
    else:
        per_item = [(reference[at:at + 4], other[at:at + 4]) for at in range(0, len(reference) - 3, 4)]
        assert all(max(range(4), key=lambda j: a[j][0]) == max(range(4), key=lambda j: b[j][0]) for a, b in per_item)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_batch_size_shards_and_resume_change_no_bit(shared_data, dtype):
    requests = _arc_requests(shared_data, 0, 8) + _arc_requests(shared_data, 5, 4)
    model = load_model("tiny-random", LoadOptions(dtype=dtype, batch_size=1))
    reference = model.loglikelihood(requests)
    for size in (3, 8, 32):
        model = load_model("tiny-random", LoadOptions(dtype=dtype, batch_size=size))
        _same(reference, model.loglikelihood(requests), dtype, f"batch size {size}")
        with model.open(requests) as session:  # resumed: the first half came from the response cache
            half = len(requests) // 2
            _same(reference[half:], session.loglikelihood(requests[half:]), dtype, f"resumed, batch size {size}")
    sharded = ShardedModel(LocalBackend(model), 3)
    with sharded.open(requests) as session:
        _same(reference, session.loglikelihood(requests), dtype, "3 shards")


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_smollm2_scores_do_not_depend_on_the_batch_size(shared_data, dtype):
    """The same on a real model, where the batch size used to move the last bits of many items."""
    requests = _arc_requests(shared_data, 0, 4) + _arc_requests(shared_data, 2, 3)
    scores = {}
    for size in (1, 8):
        model = load_model("smollm2", LoadOptions(dtype=dtype, batch_size=size))
        scores[size] = model.loglikelihood(requests)
    _same(scores[1], scores[8], dtype, f"smollm2 {dtype}, batch size 8 against 1")
