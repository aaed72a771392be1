"""Issue 7 on real models (CPU): rolling log-likelihood with lm-eval's windows, MT-Bench with a real judge."""
import json

import pytest

from harness.models.resolve import LoadOptions, load_model
from harness.requests import Rolling
from harness.runner import Runner
from harness.tasks.loader import build_index

pytestmark = pytest.mark.slow
TEXT = " = Valkyria Chronicles III = \n\n Senjō no Valkyria 3 : Unrecorded Chronicles is a tactical role @-@ playing game ."


def _direct_sum(model, text: str) -> float:
    """log P(text) from one forward pass over [prefix] + tokens: what rolling windows must add up to."""
    import torch

    tokens = model._encode(text)
    ids = torch.tensor([[model.prefix_token_id] + tokens])
    logprobs = torch.log_softmax(model.model(ids).logits.float()[0, :-1], dim=-1)
    return float(logprobs.gather(1, ids[0, 1:, None]).sum())


def test_rolling_loglikelihood_sums_lm_evals_windows():
    from lm_eval.utils import get_rolling_token_windows, make_disjoint_window

    from harness.models.hf.plan import InvariantScorer

    model = load_model("smollm2", LoadOptions(dtype="float32", device="cpu"))
    whole = model.loglikelihood_rolling([Rolling(TEXT)])[0]
    assert whole == pytest.approx(_direct_sum(model, TEXT), abs=1e-3)
    model.max_length = 8  # several windows, each seeing at most 8 tokens, as lm-eval cuts them
    tokens = model._encode(TEXT)
    windows = [make_disjoint_window(w) for w in get_rolling_token_windows(tokens, model.prefix_token_id, 8, 1)]
    scorer = InvariantScorer(model.model, windows, model.max_length, 8, model.device, None)
    expected = sum(lp for lp, _ in scorer.answers(range(len(windows))))
    windowed = model.loglikelihood_rolling([Rolling(TEXT), Rolling("")])
    assert len(windows) == -(-len(tokens) // 8) and windowed[0] == pytest.approx(expected, abs=1e-3)
    assert windowed[0] < whole and windowed[1] == 0.0  # less context, lower likelihood; empty text scores 0


def test_mt_bench_ten_questions_with_a_larger_judge(shared_data):
    """SmolLM2-135M-Instruct answers two turns of 10 questions; Qwen2.5-Coder-0.5B-Instruct (4.7x the
    parameters, chat template) judges through its template. Short budgets for CI: 48 tokens an answer, 32
    a judgement (this judge puts its rating first)."""
    spec = build_index().tasks["mt_bench"]
    spec = spec.model_copy(update={"generation": spec.generation.model_copy(update={"max_tokens": 48}),
                                   "metric_options": {"mt_bench_score": {"judge": "qwen2.5-coder-0.5b",
                                                                         "judge_max_tokens": 32,
                                                                         "judge_dtype": "auto"}}})
    model = load_model("smollm2", LoadOptions(dtype="auto"))  # bf16 only where the CPU computes it natively
    result, samples = Runner(model, data_dir=shared_data, limit=10).run_task(spec)
    value = result.metrics["mt_bench_score"]
    judgements = [j for s in samples for j in s.row["_dialogue"]["judgements"]]
    assert len(samples) == 10 and len(judgements) == 20 and value.details["judgements"] == 20
    assert value.n + value.details["unparseable"] == 20
    assert value.n == sum(j["rating"] is not None for j in judgements)
    assert all(j["error"] for j in judgements if j["rating"] is None)
    assert value.n >= 10  # a real instruction-tuned judge gives a readable rating most of the time
    assert 1 <= value.value <= 10 and value.ci_low <= value.value <= value.ci_high
    assert all(len(s.row["_dialogue"]["turns"]) == 2 and s.row["_dialogue"]["turns"][1]["answer"] for s in samples)
    assert value.details["judge"] == "qwen2.5-coder-0.5b"
    assert set(result.breakdown) <= {"writing", "roleplay", "reasoning", "math", "coding", "extraction", "stem",
                                     "humanities"} and result.breakdown
    print(json.dumps({"score": value.value, "n": value.n, "seconds": result.seconds, **value.details}, default=str))
