"""With match_batching="lm-eval", evalh's bf16 scores equal lm-eval's bit for bit (hf_aligned), however the
requests are split into calls."""
from pathlib import Path

import pytest

from harness.models.hf import aligned as hf_aligned
from harness.models.base import ModelAdapter, Session
from harness.models.resolve import LoadOptions, load_model
from harness.requests import Loglikelihood
from harness.tasks.build import FewshotSampler, build_items
from harness.tasks.datasets import load_rows
from harness.tasks.loader import build_index

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smollm2():
    return load_model("smollm2", LoadOptions(dtype="bfloat16", batch_size=8, match_batching="lm-eval"))


def _requests(shared_data: Path, k: int, n: int) -> list[Loglikelihood]:
    spec = build_index().tasks["arc_easy"]
    rows = load_rows(spec, data_dir=shared_data)[:n]
    sampler = FewshotSampler(load_rows(spec, "validation", shared_data), k, 1234, "first_n", False) if k else None
    return list(dict.fromkeys(r for item in build_items(spec, rows, sampler) for r in item.requests))


def _lm_eval_scores(model, requests: list[Loglikelihood]) -> list[tuple[float, bool]]:
    from lm_eval.models.huggingface import HFLM

    lm = HFLM(pretrained=model.model, tokenizer=model.tokenizer, backend="causal", batch_size=8)
    pairs = model.encode_pairs([(r.context, r.continuation) for r in requests])
    return lm._loglikelihood_tokens([((r.context, r.continuation), c, x) for r, (c, x) in zip(requests, pairs)],
                                    disable_tqdm=True)


# 0-shot: each context computed once; 5-shot: a shared few-shot block too (rows of 156-186 tokens);
# 6-shot: rows of 225-255 tokens, which lm-eval runs in 64-row query blocks. Each case spans several of
# lm-eval's batches of 8 (sized for CPUs that emulate bf16, where lm-eval takes minutes for 40 items).
@pytest.mark.parametrize("k, n, long", [(0, 20, False), (5, 6, False), (6, 4, True)])
def test_bf16_scores_equal_lm_evals(smollm2, shared_data, k, n, long, one_thread):
    requests = _requests(shared_data, k, n)
    assert hf_aligned.applies(smollm2.model)
    with smollm2.open(requests) as session:
        ours = session.loglikelihood(requests)
    assert ours == _lm_eval_scores(smollm2, requests)  # every float and greedy flag, exactly
    lengths = {len(c) + len(x) - 1 >= 192 for c, x in smollm2.encode_pairs([(r.context, r.continuation) for r in requests])}
    assert lengths == {long}


def test_split_calls_give_the_planned_numbers(smollm2, shared_data):
    requests = _requests(shared_data, 0, 20)
    with smollm2.open(requests) as session:
        whole = session.loglikelihood(requests)
    with smollm2.open(requests) as session:
        parts = [session.loglikelihood(requests[at:at + 7]) for at in range(0, len(requests), 7)]
    assert [s for part in parts for s in part] == whole
    assert smollm2.loglikelihood(requests) == whole  # without a session: laid out over the call, as lm-eval would


def test_plan_widths_follow_lm_evals_batches():
    # lm-eval groups by context + continuation[:-1], sorts by (-length, tokens), chunks of batch_size; a
    # chunk's width is its longest row (context + continuation minus the last token)
    pairs = [([1, 2], [3]), ([1, 2], [4]), ([5] * 6, [7, 8]), ([9] * 3, [1]), ([2] * 9, [1])]
    # groups: {0, 1} (rep 0), {2}, {3}, {4}; order 4 (10 tokens), 2 (8), 3 (4), 0 (3); chunks [4, 2], [3, 0]
    assert hf_aligned.plan_widths(pairs, 2, 100) == [3, 3, 9, 3, 9]
    assert hf_aligned.plan_widths(pairs, 2, 5) == [3, 3, 5, 3, 5]  # rows left-truncated to max_length
    assert hf_aligned.plan_widths(pairs, 8, 100) == [9] * 5


class _Crashes(ModelAdapter):
    """The model, dying on its second scoring call (as a killed run would)."""

    def __init__(self, model) -> None:
        self.model, self.calls = model, 0

    def info(self):
        return self.model.info()

    def open(self, requests):
        return _CrashingSession(self, self.model.open(requests))


class _CrashingSession(Session):
    def __init__(self, crashes: _Crashes, inner: Session) -> None:
        super().__init__(crashes)
        self.crashes, self.inner = crashes, inner

    def order(self, requests):
        return self.inner.order(requests)

    def loglikelihood(self, requests, progress=None):
        self.crashes.calls += 1
        if self.crashes.calls == 2:
            raise KeyboardInterrupt
        return self.inner.loglikelihood(requests, progress)


def test_a_run_split_by_the_response_cache_and_resumed_scores_the_same(smollm2, shared_data, tmp_path):
    """The runner plans each task whole, so calls of `flush_every` requests, and a run resumed from the
    responses a crashed run had committed, give the numbers of one uninterrupted call."""
    from harness.cache import ResponseCache
    from harness.runner import Runner

    spec = build_index().tasks["arc_easy"]
    whole = Runner(smollm2, data_dir=shared_data, limit=24).run_task(spec)[1]
    with ResponseCache.open(tmp_path / "responses.sqlite") as cache:
        split = Runner(smollm2, data_dir=shared_data, limit=24, cache=cache, flush_every=10).run_task(spec)[1]
        assert split == whole
        cache.clear()
        with pytest.raises(KeyboardInterrupt):
            Runner(_Crashes(smollm2), data_dir=shared_data, limit=24, cache=cache, flush_every=40).run_task(spec)
        resumed = Runner(smollm2, data_dir=shared_data, limit=24, cache=cache, flush_every=40)
        assert resumed.run_task(spec)[1] == whole
        assert resumed.cache_stats["hits"] >= 40 and resumed.cache_stats["misses"] > 0
