"""Seeded sampling on a real (tiny, random-weight) transformers model: reruns repeat, other seeds differ."""
from __future__ import annotations

import pytest

from harness.cache import ResponseCache
from harness.models.resolve import LoadOptions, load_model
from harness.runner import Runner
from harness.tasks.loader import build_index
from harness.tasks.sampling import GenerationOptions

SAMPLED = GenerationOptions(gen_kwargs={"temperature": 1.0, "top_p": 0.95, "max_tokens": 6}, samples=3)


@pytest.fixture(scope="module")
def tiny():
    return load_model("tiny-random", LoadOptions(dtype="float32", device="cpu", batch_size=4))


def _responses(model, seed: int, cache=None, generation=SAMPLED) -> list[list[str]]:
    spec = build_index().tasks["starter_extractive_qa"]
    _, samples = Runner(model, limit=2, seed=seed, cache=cache, generation=generation).run_task(spec)
    return [s.responses for s in samples]


def test_a_rerun_with_the_same_seed_gives_the_same_generations(tiny, tmp_path):
    first = _responses(tiny, seed=1)
    assert _responses(tiny, seed=1) == first  # recomputed: no cache
    other = _responses(tiny, seed=2)
    assert other != first and all(a != b for a, b in zip(first, other))
    assert all(len(item) == 3 and len(set(item)) == 3 for item in first)  # the repeats are draws of their own
    with ResponseCache.open(tmp_path / "responses.sqlite") as cache:
        assert _responses(tiny, seed=1, cache=cache) == first
        runner = Runner(tiny, limit=2, seed=1, cache=cache, generation=SAMPLED)
        runner.run_task(build_index().tasks["starter_extractive_qa"])
        assert runner.cache_stats == {"hits": 6, "misses": 0}  # keyed by settings, seed and repeat index
        more = GenerationOptions(gen_kwargs=SAMPLED.gen_kwargs, samples=4)
        assert [r[:3] for r in _responses(tiny, seed=1, cache=cache, generation=more)] == first
