"""lm-eval tasks through evalh's adapters, and lm-eval results files imported as evalh runs."""
import json
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.models.fake import FakeModel, fake_logprob
from harness.results import read_result, read_samples

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "lm_eval_tasks"
ROWS = [json.loads(line) for line in (FIXTURES / "mini_mc.jsonl").read_text().splitlines()]


@pytest.fixture(autouse=True)
def offline_from_repo(monkeypatch):
    monkeypatch.chdir(REPO)  # the fixture task names its data file relative to the repository
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def expected_acc(seed: int = 0) -> tuple[float, float]:
    acc, norm = [], []
    for row in ROWS:
        lls = np.array([fake_logprob(f"Question: {row['question']}\nAnswer:", " " + c, seed)[0] for c in row["choices"]])
        acc.append(np.argmax(lls) == row["answer"])
        norm.append(np.argmax(lls / [len(c) for c in row["choices"]]) == row["answer"])
    return float(np.mean(acc)), float(np.mean(norm))


def test_lm_eval_task_runs_through_the_bridge(tmp_path):
    out = CliRunner().invoke(main, ["run", "-m", "fake", "-t", "lm_eval:evalh_mini_mc,starter_mc",
                                    "--include-path", str(FIXTURES), "--output-dir", str(tmp_path)])
    assert out.exit_code == 0, out.output
    run_dir = next(tmp_path.iterdir())
    task = read_result(run_dir).tasks["lm_eval:evalh_mini_mc"]
    acc, norm = expected_acc()
    assert task.metrics["acc"].value == pytest.approx(acc) and task.metrics["acc_norm"].value == pytest.approx(norm)
    assert task.metrics["acc"].n == 12 and task.metrics["acc"].stderr is not None
    samples = [s for s in read_samples(run_dir) if s.task == "lm_eval:evalh_mini_mc"]
    assert len(samples) == 12 and samples[0].choices == [" " + c for c in ROWS[0]["choices"]]
    assert samples[0].logprobs[0] == pytest.approx(fake_logprob("Question: " + ROWS[0]["question"] + "\nAnswer:",
                                                                " " + ROWS[0]["choices"][0])[0])
    # the same items scored natively give the same accuracy
    native = read_result(run_dir).tasks["starter_mc"]
    assert native.metrics["acc"].n == 48


def test_unknown_lm_eval_task_is_a_clear_error(tmp_path):
    out = CliRunner().invoke(main, ["run", "-m", "fake", "-t", "lm_eval:evalh_mini_mcc,starter_mc",
                                    "--include-path", str(FIXTURES), "--output-dir", str(tmp_path)])
    assert out.exit_code == 2
    assert "lm_eval:evalh_mini_mcc: not in lm-eval's registry (did you mean: evalh_mini_mc" in out.output


def test_imported_lm_eval_results_load_as_an_evalh_run(tmp_path):
    """Write results the way `lm_eval --output_path --log_samples` does, then `evalh import` them."""
    import lm_eval
    from lm_eval.loggers import EvaluationTracker
    from lm_eval.tasks import TaskManager

    from harness.bridge.lm_eval_model import lm_for

    results = lm_eval.simple_evaluate(model=lm_for(FakeModel(seed=3)), tasks=["evalh_mini_mc"], log_samples=True,
                                      task_manager=TaskManager(include_path=str(FIXTURES)))
    tracker = EvaluationTracker(output_path=str(tmp_path / "lm_eval_out"))
    samples = results.pop("samples")
    tracker.save_results_aggregated(results=results, samples=samples)
    tracker.save_results_samples(task_name="evalh_mini_mc", samples=samples["evalh_mini_mc"])
    out = CliRunner().invoke(main, ["import", str(tmp_path / "lm_eval_out"), "--output-dir", str(tmp_path / "runs"),
                                    "--name", "fake-via-lm-eval"])
    assert out.exit_code == 0, out.output
    assert "imported 1 task(s), 12 samples" in out.output
    run_dir = next((tmp_path / "runs").iterdir())
    run = read_result(run_dir)
    assert run.model.name == "fake-via-lm-eval" and run.model.adapter.startswith("lm-eval:")
    acc, norm = expected_acc(seed=3)
    assert run.tasks["evalh_mini_mc"].metrics["acc"].value == pytest.approx(acc)
    assert run.tasks["evalh_mini_mc"].metrics["acc_norm"].value == pytest.approx(norm)
    records = read_samples(run_dir)
    assert [r.sample_id for r in records] == [str(i) for i in range(12)]
    assert all(len(r.logprobs) == 4 and r.scores.keys() >= {"acc", "acc_norm"} for r in records)
    # its metrics are lm-eval's: evalh rescore does not pass its own off as them
    out = CliRunner().invoke(main, ["rescore", str(run_dir), "-o", str(tmp_path / "rescored")])
    assert out.exit_code == 2 and "task evalh_mini_mc: scored by lm-eval's own metrics" in out.output


def test_import_of_a_non_lm_eval_file_is_a_clear_error(tmp_path):
    bogus = tmp_path / "results_x.json"
    bogus.write_text('{"hello": 1}')
    out = CliRunner().invoke(main, ["import", str(bogus), "--output-dir", str(tmp_path / "runs")])
    assert out.exit_code == 1 and "not an lm-eval results file" in out.output


def test_a_second_lm_eval_task_run_is_answered_from_the_response_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EVALH_CACHE", "1")
    runs = []
    for label in ("first", "second"):
        out = CliRunner().invoke(main, ["run", "-m", "fake", "-t", "lm_eval:evalh_mini_mc", "--include-path",
                                        str(FIXTURES), "--cache-dir", str(tmp_path / "cache"),
                                        "--output-dir", str(tmp_path / label)])
        assert out.exit_code == 0, out.output
        runs.append(read_result(next((tmp_path / label).iterdir())))
    requests = sum(len(row["choices"]) for row in ROWS)  # one loglikelihood request per choice
    assert (runs[0].timings["cache_hits"], runs[0].timings["cache_misses"]) == (0, requests)
    assert (runs[1].timings["cache_hits"], runs[1].timings["cache_misses"]) == (requests, 0)
    assert runs[1].tasks["lm_eval:evalh_mini_mc"].metrics == runs[0].tasks["lm_eval:evalh_mini_mc"].metrics


def test_lm_eval_registry_tasks_read_the_data_dir_mirror_offline(tmp_path, shared_data):
    """lm-eval's own arc_easy and hellaswag read --data-dir's mirror files: no hub, a few seconds."""
    started = time.perf_counter()
    out = CliRunner().invoke(main, ["run", "-m", "fake", "-t", "lm_eval:arc_easy,lm_eval:hellaswag",
                                    "--data-dir", str(shared_data), "--limit", "5", "--output-dir", str(tmp_path)])
    seconds = time.perf_counter() - started
    assert out.exit_code == 0, out.output
    run_dir = next(tmp_path.iterdir())
    run = read_result(run_dir)
    assert {t: r.metrics["acc"].n for t, r in run.tasks.items()} == {"lm_eval:arc_easy": 5, "lm_eval:hellaswag": 5}
    arc = [s for s in read_samples(run_dir) if s.task == "lm_eval:arc_easy"]
    first = json.loads((shared_data / "allenai/ai2_arc/ARC-Easy/test.jsonl").read_text().splitlines()[0])
    assert arc[0].prompt == f"Question: {first['question']}\nAnswer:"  # the mirror's test split, in its order
    assert arc[0].choices == [" " + c for c in first["choices"]["text"]]
    assert run.tasks["lm_eval:arc_easy"].dataset.rows_total == 2376
    assert seconds < 45, f"took {seconds:.0f} s"  # about 10 s on an idle 2-core machine; no hub retries
    assert "mirror under" in run.tasks["lm_eval:arc_easy"].dataset.source


def test_lm_eval_task_missing_from_the_mirror_fails_at_once_naming_the_file(tmp_path, shared_data):
    missing = shared_data / "allenai/ai2_arc/ARC-Challenge/test.jsonl"
    assert not missing.exists()
    started = time.perf_counter()
    out = CliRunner().invoke(main, ["run", "-m", "fake", "-t", "lm_eval:arc_challenge", "--data-dir", str(shared_data),
                                    "--output-dir", str(tmp_path)])
    assert time.perf_counter() - started < 5
    assert out.exit_code == 2
    assert f"{missing} does not exist" in out.output and "split 'test'" in out.output


def _bridge_and_native(shared_data, task: str, options, seed: int = 7, chat: bool = False):
    """The requests an lm-eval registry task (through the bridge) and evalh's task of the same name send to
    the fake model, and their results."""
    from harness.bridge.lm_eval_run import LmEvalTask
    from harness.runner import Runner
    from harness.tasks.loader import build_index

    out = []
    for spec in (LmEvalTask(task), build_index().tasks[task]):
        model = FakeModel(seed=1)
        result, samples = Runner(model, data_dir=shared_data, limit=2, seed=seed, generation=options,
                                 apply_chat_template=chat).run_task(spec)
        out.append((model.calls, result, samples))
    return out


def test_lm_eval_tasks_take_gen_kwargs_and_samples_as_evalh_tasks_do(shared_data):
    """--gen-kwargs and --samples reach an lm-eval task: its requests are drawn with those settings, one
    seeded draw per repeat, exactly the requests evalh's own gsm8k_cot_self_consistency sends."""
    from harness.tasks.sampling import GenerationOptions, parse_gen_kwargs

    options = GenerationOptions(gen_kwargs=parse_gen_kwargs("temperature=0.8,top_p=0.9,max_gen_toks=32"), samples=8)
    (bridge, bridged, _), (native, own, _) = _bridge_and_native(shared_data, "gsm8k_cot_self_consistency", options)
    assert len(bridge) == 16 and sorted(map(repr, bridge)) == sorted(map(repr, native))
    assert {(r.sampling.temperature, r.sampling.top_p, r.sampling.seed, r.max_tokens) for r in bridge} == {(0.8, 0.9, 7, 32)}
    assert sorted(r.sampling.index for r in bridge) == sorted(list(range(8)) * 2)
    for name in ("exact_match,score-first", "exact_match,maj@8"):
        assert bridged.metrics[name.replace(",", "/")].value == own.metrics[name].value, name


def test_lm_eval_tasks_stay_greedy_without_gen_kwargs_and_strip_thinking(shared_data):
    from harness.bridge.lm_eval_run import LmEvalTask
    from harness.runner import Runner
    from harness.tasks.sampling import GenerationOptions
    from tests.fixtures.scripted import ScriptedModel

    model = ScriptedModel(lambda prompt: "<think>16 - 3 - 4 = 9. The answer is 9.</think> The answer is 18.")
    result, samples = Runner(model, data_dir=shared_data, limit=1, generation=GenerationOptions(
        think_end_token="</think>")).run_task(LmEvalTask("gsm8k_cot"))
    assert result.metrics["exact_match/strict-match"].value == 1.0  # Janet's ducks: 18, read after </think>
    plain = FakeModel(seed=1)
    Runner(plain, data_dir=shared_data, limit=2).run_task(LmEvalTask("gsm8k_cot"))
    assert len(plain.calls) == 2 and all(r.sampling is None for r in plain.calls)


@pytest.mark.parametrize("multiturn", [None, False])
def test_lm_eval_tasks_take_the_chat_template_and_system_instruction_as_evalh_tasks_do(shared_data, multiturn):
    from harness.tasks.sampling import GenerationOptions

    options = GenerationOptions(system_instruction="Solve it step by step.", fewshot_as_multiturn=multiturn)
    (bridge, _, _), (native, _, _) = _bridge_and_native(shared_data, "gsm8k_cot", options, chat=True)
    assert [r.prompt for r in bridge] == [r.prompt for r in native]
    assert bridge[0].prompt.startswith("<|system|>\nSolve it step by step.\n<|user|>\nQ: There are 15 trees")
    assert bridge[0].prompt.count("<|assistant|>") == (9 if multiturn is None else 1)
