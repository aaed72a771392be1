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
