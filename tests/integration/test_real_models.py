"""Real models from PyPI packages on the starter suite and real benchmark data (CPU, bf16 unless noted)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.models.resolve import LoadOptions, load_model
from harness.requests import Generate, Loglikelihood
from harness.runner import Runner
from harness.tasks.loader import build_index

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def smollm2():
    return load_model("smollm2", LoadOptions(dtype="bfloat16"))


@pytest.fixture(scope="module")
def tasks():
    return build_index().tasks


def test_smollm2_knows_paris(smollm2):
    (paris, greedy), (london, _) = smollm2.loglikelihood(
        [Loglikelihood("The capital of France is", " Paris"), Loglikelihood("The capital of France is", " London")])
    assert paris > london + 2 and greedy          # MODELS.md: -0.26 vs -4.4
    info = smollm2.info()
    assert info.parameters == 134_515_008 and info.size_label == "135M" and info.dtype == "bfloat16"
    assert len(info.fingerprint) == 32 and info.extra["gguf_sha256"]


def test_numbers_move_with_model_quality(smollm2, tasks):
    """SmolLM2 is clearly above chance (0.25) on the starter questions; an untrained 1M model is near it."""
    tiny = load_model("tiny-random", LoadOptions(dtype="float32"))
    strong, _ = Runner(smollm2).run_task(tasks["starter_mc"])
    weak, _ = Runner(tiny).run_task(tasks["starter_mc"])
    assert strong.metrics["acc"].value >= 0.5
    assert weak.metrics["acc"].value <= 0.4
    assert strong.metrics["acc"].value - weak.metrics["acc"].value >= 0.2
    qa_strong, _ = Runner(smollm2).run_task(tasks["starter_extractive_qa"])
    qa_weak, _ = Runner(tiny).run_task(tasks["starter_extractive_qa"])
    assert qa_strong.metrics["f1"].value > qa_weak.metrics["f1"].value + 0.1


def test_batched_generation_equals_one_at_a_time():
    """Left padding and per-sequence stop strings change nothing (fp32; bf16 may differ in the last bits)."""
    smollm2 = load_model("smollm2", LoadOptions(dtype="float32"))
    prompts = ["Question: What is the capital of Italy?\nAnswer:", "The first three letters are",
               "Translate English to French.\nEnglish: Good morning.\nFrench:"]
    requests = [Generate(p, ("\n",), 12) for p in prompts]
    batched = smollm2.generate(requests)
    single = [smollm2.generate([r])[0] for r in requests]
    assert batched == single and all("\n" not in out for out in batched)
    assert "bonjour" in batched[2].lower()


def test_arc_easy_on_real_data_and_gguf_path(shared_data, tasks, tmp_path):
    gguf = load_model("smollm2").info().source  # the packaged .gguf; the converted copy is cached
    model = load_model(gguf, LoadOptions(dtype="float32", batch_size=8))
    result, samples = Runner(model, data_dir=shared_data, limit=20).run_task(tasks["arc_easy"])
    assert result.metrics["acc"].n == 20 and 0.3 <= result.metrics["acc"].value <= 1.0
    assert all(len(s.logprobs) == len(s.choices) for s in samples)
    assert result.dataset.rows_total == 2376


def test_default_command_runs_offline(tmp_path):
    """`evalh run` with no arguments: the embedded model on the starter suite, nothing downloaded."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    evalh = Path(sys.executable).with_name("evalh")
    done = subprocess.run([str(evalh), "run"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    run_dir, = (tmp_path / "runs").iterdir()
    assert (run_dir / "results.json").is_file() and (run_dir / "samples.jsonl").stat().st_size > 0
    assert "smollm2-135m  starter_mc" in done.stdout


def test_batch_size_auto_picks_a_size_that_runs():
    from harness.models.hf.batching import CANDIDATES

    model = load_model("smollm2", LoadOptions(batch_size="auto"))
    assert model.batch_size in CANDIDATES
    (logprob, _), = model.loglikelihood([Loglikelihood("The capital of France is", " Paris")])
    assert logprob > -2
