"""A task's forward passes are fixed by the task, never by how the runner splits it into calls.

Some CPU kernels round a row differently with the row count of its forward pass (at some thread counts, on
some CPUs), so a request's numbers are reproducible only if it is always computed in the same pass with the
same companions. These tests record every forward pass the decoder runs (its token ids and positions) and
check that one call, calls of a few requests in item order, and a run resumed halfway run the very same
passes, each once: a property that holds on any CPU at any thread count, and that makes the numbers equal
there. The numbers are compared too, on this machine."""
from collections import Counter

import pytest

from harness.models.resolve import LoadOptions, load_model
from harness.requests import Generate, Loglikelihood, Rolling
from harness.tasks.build import FewshotSampler, build_items
from harness.tasks.datasets import load_rows
from harness.tasks.loader import build_index

TEXTS = ["The quick brown fox jumps over the lazy dog. " * 3, "Hello world", "A B C D E F G H I J K L M N O P Q"]


def _arc_requests(shared_data, k: int, n: int) -> list[Loglikelihood]:
    spec = build_index().tasks["arc_easy"]
    rows = load_rows(spec, data_dir=shared_data)[:n]
    sampler = FewshotSampler(load_rows(spec, "validation", shared_data), k, 1234, "first_n", False) if k else None
    return [r for item in build_items(spec, rows, sampler) for r in item.requests]


EXAMPLES = ["Question: Which of these animals is a mammal that lives in the sea?\nAnswer: the whale\n\n",
            "Question: What makes a block of ice melt fastest on a cold day?\nAnswer: the sun\n\n"]
QUESTIONS = ["What do plants need to grow?", "Which planet is closest to the sun?", "What is frozen water?",
             "Which tool measures mass?", "What gas do we breathe out?"]


def _branch_requests() -> list[Loglikelihood]:
    """Items whose contexts begin with one of two examples (as random few-shot items whose first example is
    the same do), then a question of their own: every context starts with "Question:", some share more."""
    return [Loglikelihood(f"{EXAMPLES[i % 2]}Question: {q}\nAnswer:", f" {choice}")
            for i, q in enumerate(QUESTIONS) for choice in ("light", "ice and water")]


class Passes:
    """Every forward pass of the model's decoder: (token ids, positions) as tuples."""

    def __init__(self, model) -> None:
        from harness.models.hf.scoring import routes_attention, split_head

        split_head(model.model)  # their one-off check passes are not part of any task
        routes_attention(model.model)
        self.seen: list[tuple] = []
        self.handle = model.model.get_decoder().register_forward_pre_hook(self._hook, with_kwargs=True)

    def _hook(self, module, args, kwargs):
        ids = args[0] if args else kwargs.get("input_ids")
        positions = kwargs.get("position_ids")
        self.seen.append((tuple(map(tuple, ids.tolist())),
                          None if positions is None else tuple(map(tuple, positions.tolist()))))

    def take(self) -> list[tuple]:
        seen, self.seen = self.seen, []
        return seen


def _calls(model, method: str, requests: list, size: int, ask: list | None = None) -> list:
    """The runner's way: open a session with the whole task, then ask for `ask` (default: every distinct
    request, in item order: the worst case) in calls of `size` requests."""
    ask = list(dict.fromkeys(requests)) if ask is None else ask
    with model.open(requests) as session:
        return [answer for at in range(0, len(ask), size) for answer in getattr(session, method)(ask[at:at + size])]


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_scoring_runs_the_same_passes_however_the_task_is_split(shared_data, dtype):
    model = load_model("tiny-random", LoadOptions(dtype=dtype, batch_size=3))
    requests = _arc_requests(shared_data, 2, 10) + [Loglikelihood("", " alone"), Loglikelihood("x" * 3000, " long")]
    requests += _branch_requests()
    unique = list(dict.fromkeys(requests))
    passes = Passes(model)
    whole = _calls(model, "loglikelihood", requests, len(unique))
    one_call = passes.take()
    assert _calls(model, "loglikelihood", requests, 5) == whole
    assert Counter(passes.take()) == Counter(one_call)  # every pass once, none other
    with model.open(requests) as session:
        ordered = session.order(unique)
    assert sorted(ordered, key=unique.index) == unique
    assert _calls(model, "loglikelihood", requests, 7, ordered) == [whole[unique.index(r)] for r in ordered]
    assert Counter(passes.take()) == Counter(one_call)
    half = unique[len(unique) // 2:]  # resumed: the first half came from the response cache
    assert _calls(model, "loglikelihood", requests, 5, half) == whole[len(unique) // 2:]
    assert not Counter(passes.take()) - Counter(one_call)  # only passes of the uninterrupted run
    assert len(one_call) >= 4  # several passes, so a split has something to change


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_generation_runs_the_same_passes_however_the_task_is_split(dtype):
    """lm-eval's batch layout (the default decoding needs no fixed schedule: no row depends on another)."""
    model = load_model("tiny-random", LoadOptions(dtype=dtype, batch_size=2, match_batching="lm-eval"))
    prompts = ["Question: what is 2 + 2?\nAnswer:", "Once upon a time", "Hi", "Name a colour:", "1, 2, 3,",
               "Translate to French: good morning\nFrench:", "Hi"]
    requests = [Generate(p, ("\n",), 6 + i % 3) for i, p in enumerate(prompts)]
    unique = list(dict.fromkeys(requests))
    passes = Passes(model)
    whole = _calls(model, "generate", requests, len(unique))
    one_call = passes.take()
    assert _calls(model, "generate", requests, 2) == whole
    assert passes.take() == one_call  # the same schedule, step for step
    assert _calls(model, "generate", requests, 2, unique[3:]) == whole[3:]  # resumed
    assert one_call[:len(passes.seen)] == passes.take()  # a prefix of the same schedule


@pytest.mark.slow
def test_rolling_runs_the_same_passes_however_the_task_is_split():
    model = load_model("tiny-random", LoadOptions(dtype="float32", batch_size=2))
    model.max_length = 8  # several windows a text
    requests = [Rolling(t) for t in TEXTS]
    passes = Passes(model)
    whole = _calls(model, "loglikelihood_rolling", requests, len(requests))
    one_call = passes.take()
    assert _calls(model, "loglikelihood_rolling", requests, 1) == whole
    assert Counter(passes.take()) == Counter(one_call)


@pytest.mark.slow
def test_shared_prefix_scoring_computes_each_token_once_with_padding_only_at_the_end_of_a_pass(shared_data):
    """The words every context starts with are computed once; then a pass lays items end to end in one
    stream of a multiple of 48 tokens: the rest of a context once, each choice but its last token (which
    predicts nothing), and at most 47 padding tokens a pass. The output head sees each position that
    predicts a choice's token once."""
    from harness.models.hf.scoring import shared_prefix_length

    model = load_model("tiny-random", LoadOptions(dtype="float32", batch_size=4))
    requests = _arc_requests(shared_data, 0, 12)
    pairs = [model.encode_pair(r.context, r.continuation) for r in requests]
    contexts = {tuple(ctx) for ctx, _ in pairs}
    shared = shared_prefix_length(list(contexts))
    assert shared >= 2  # "Question:"
    needed = sum(len(ctx) - shared for ctx in contexts) + sum(len(cont) - 1 for _, cont in pairs)
    passes = Passes(model)
    head_rows: list[int] = []
    model.model.get_output_embeddings().register_forward_hook(lambda _m, args, _out: head_rows.append(args[0].shape[:-1].numel()))
    model.loglikelihood(requests)
    prefix, *seen = passes.take()
    assert prefix[0] == (tuple(pairs[0][0][:shared]),)
    assert len(seen) >= 3
    assert all(len(ids) == 1 and len(ids[0]) % 48 == 0 for ids, _ in seen)
    computed = sum(len(ids[0]) for ids, _ in seen)
    assert needed <= computed < needed + 48 * len(seen)
    # the output head: a context's last token once for all its choices, each choice's tokens but its last,
    # a pass's rows in one product padded to a multiple of 48
    scored = len(contexts) + sum(len(cont) - 1 for _, cont in pairs)
    assert len(head_rows) == len(seen) and all(rows % 48 == 0 for rows in head_rows)
    assert scored <= sum(head_rows) < scored + 48 * len(seen)
    from harness.models.hf.scoring import Packed

    layout = Packed(model.model, pairs, 4, model.device, None)
    for batch in layout.batches:  # each pass's head rows: every scored position once, none twice
        rows = layout._layout(batch)[3].tolist()
        contexts_here = {tuple(pairs[i][0]) for i in batch}
        assert len(set(rows)) == len(rows) == len(contexts_here) + sum(len(pairs[i][1]) - 1 for i in batch)


@pytest.mark.slow
def test_contexts_that_begin_alike_compute_their_common_start_once():
    """Beyond the task's shared prefix, contexts that share a start (a random few-shot item's first example)
    compute it once, in a pass of such starts, and their items attend over it: the positions computed are
    the prefix, each start and each item's rest, and the numbers are plain scoring's."""
    import numpy as np

    from harness.models.hf import scoring as hf_scoring

    model = load_model("tiny-random", LoadOptions(dtype="float32", batch_size=4))
    requests = _branch_requests()
    pairs = [model.encode_pair(r.context, r.continuation) for r in requests]
    contexts = list(dict.fromkeys(tuple(ctx) for ctx, _ in pairs))
    shared = hf_scoring.shared_prefix_length(contexts)
    alike = [[c for c in contexts if c[:shared + 8] == first[:shared + 8]] for first in contexts[:2]]
    starts = [alike_ones[0][shared:hf_scoring.shared_prefix_length(alike_ones)] for alike_ones in alike]
    assert all(len(start) >= 16 for start in starts)  # each example is shared by several contexts
    needed = (sum(len(c) - shared for c in contexts) - sum(len(s) * (len(a) - 1) for s, a in zip(starts, alike))
              + sum(len(cont) - 1 for _, cont in pairs))
    passes = Passes(model)
    scores = model.loglikelihood(requests)
    prefix, *seen = passes.take()
    assert prefix[0] == (tuple(pairs[0][0][:shared]),)
    computed = sum(len(ids[0]) for ids, _ in seen)
    assert needed <= computed < needed + 48 * len(seen)
    streams = [ids[0] for ids, _ in seen]
    for start in starts:  # in one pass, once
        assert sum(_occurrences(stream, start) for stream in streams) == 1
    plain = hf_scoring.plain(model.model, pairs, model.max_length, 4, model.device)
    assert np.max(np.abs(np.array([s[0] for s in scores]) - np.array([p[0] for p in plain]))) < 1e-4
    assert [s[1] for s in scores] == [p[1] for p in plain]


def _occurrences(stream: tuple, part: tuple) -> int:
    return sum(1 for at in range(len(stream) - len(part) + 1) if stream[at:at + len(part)] == part)
