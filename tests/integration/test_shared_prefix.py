"""Shared-prefix scoring gives plain scoring's numbers: within 1e-4 in fp32, the same argmax in bf16."""
from pathlib import Path

import numpy as np
import pytest

from harness.models.hf import scoring as hf_scoring
from harness.models.resolve import LoadOptions, load_model
from harness.tasks.build import FewshotSampler, build_items
from harness.tasks.datasets import load_rows
from harness.tasks.loader import build_index

pytestmark = pytest.mark.slow


def test_shared_prefix_length():
    assert hf_scoring.shared_prefix_length([list(range(40)) + [1], list(range(40)) + [2, 3]]) == 40
    assert hf_scoring.shared_prefix_length([list(range(40)), list(range(40))]) == 39  # one token stays per context
    assert hf_scoring.shared_prefix_length([[1] * 2 + [2], [1] * 2 + [3]]) == 2        # a template's first words
    assert hf_scoring.shared_prefix_length([[1, 2], [3, 2]]) == 0
    assert hf_scoring.shared_prefix_length([list(range(30))]) == 0


def _pairs(model, shared_data: Path, k: int, n: int = 8):
    spec = build_index().tasks["arc_easy"]
    rows = load_rows(spec, data_dir=shared_data)[:n]
    sampler = FewshotSampler(load_rows(spec, "validation", shared_data), k, 1234, "first_n", False) if k else None
    requests = [r for item in build_items(spec, rows, sampler) for r in item.requests]
    return [model.encode_pair(r.context, r.continuation) for r in requests]


@pytest.mark.parametrize("dtype, k", [("float32", 0), ("float32", 5), ("bfloat16", 5)])
def test_packed_equals_plain(shared_data, dtype, k):
    model = load_model("smollm2", LoadOptions(dtype=dtype, batch_size=8))
    pairs = _pairs(model, shared_data, k)
    if k:
        assert hf_scoring.shared_prefix_length([c for c, _ in pairs]) > 100  # the 5-shot block is shared
    plain = hf_scoring.plain(model.model, pairs, model.max_length, 8, model.device)
    packed = hf_scoring.packed(model.model, pairs, 8, model.device, None)
    a, b = np.array([p[0] for p in plain]), np.array([p[0] for p in packed])
    if dtype == "float32":
        assert np.max(np.abs(a - b)) < 1e-4
        assert [p[1] for p in plain] == [p[1] for p in packed]
    else:  # bf16 sums carry noise of a few tenths; the answer per item (4 choices each) stays
        assert (a.reshape(-1, 4).argmax(1) == b.reshape(-1, 4).argmax(1)).mean() >= 7 / 8
        assert np.mean(np.abs(a - b)) < 0.25


def test_a_model_whose_attention_bypasses_transformers_interface_is_scored_plainly(shared_data):
    """Shared-prefix scoring runs the attention item by item through transformers' attention interface; a
    model that does not use it (remote code, say) gets lm-eval's plain rows, with the same numbers."""
    model = load_model("tiny-random", LoadOptions(dtype="float32", batch_size=4))
    spec = build_index().tasks["arc_easy"]
    requests = [r for item in build_items(spec, load_rows(spec, data_dir=shared_data)[:6], None) for r in item.requests]
    assert hf_scoring.routes_attention(model.model)
    shared = model.loglikelihood(requests)
    model.model._evalh_routes_attention = False  # what the probe finds for such a model
    widths = []
    handle = model.model.get_decoder().register_forward_pre_hook(lambda m, args: widths.append(args[0].shape))
    plain = model.loglikelihood(requests)
    handle.remove()
    assert sum(rows for rows, _ in widths) >= len(requests)  # a row per request, not a stream per pass
    assert np.max(np.abs(np.array([s for s, _ in shared]) - np.array([s for s, _ in plain]))) < 1e-4
    assert [g for _, g in shared] == [g for _, g in plain]
