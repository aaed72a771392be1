"""`evalh run --model fake --tasks starter` end to end, with every metric checked against an independent computation."""
import json
from pathlib import Path

import numpy as np
import pytest
import sacrebleu
from click.testing import CliRunner

from harness.cli import main
from harness.metrics.text import normalize_answer
from harness.models.fake import fake_generation, fake_logprob
from harness.results import read_result, read_samples

STARTER = Path(__file__).resolve().parents[2] / "tasks" / "starter" / "data"


def rows(name):
    return [json.loads(line) for line in (STARTER / name).read_text().splitlines()]


@pytest.fixture(scope="module")
def fake_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    result = CliRunner().invoke(main, ["run", "--model", "fake", "--tasks", "starter", "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    run_dir = next(out.iterdir())
    return result, read_result(run_dir), read_samples(run_dir)


def test_summary_table_and_files(fake_run):
    result, run, samples = fake_run
    assert "starter_mc" in result.output and "acc_norm" in result.output
    assert set(run.tasks) == {"starter_mc", "starter_extractive_qa", "starter_translation_en_de",
                              "starter_translation_en_fr", "starter_summarization", "starter_bias_pairs"}
    assert len(samples) == 48 * 5 + 24
    assert run.model.adapter == "fake" and run.config["tasks"] == ["starter"]
    assert all(t.dataset.fingerprint.startswith("sha256:") for t in run.tasks.values())


def test_multiple_choice_accuracy(fake_run):
    _, run, _ = fake_run
    acc, norm = [], []
    for row in rows("mc.jsonl"):
        prompt = f"Question: {row['question']}\nAnswer:"
        lls = np.array([fake_logprob(prompt, " " + c)[0] for c in row["choices"]])
        acc.append(np.argmax(lls) == row["answer"])
        norm.append(np.argmax(lls / [len(c) for c in row["choices"]]) == row["answer"])
    metrics = run.tasks["starter_mc"].metrics
    assert metrics["acc"].value == pytest.approx(np.mean(acc))
    assert metrics["acc_norm"].value == pytest.approx(np.mean(norm))
    assert metrics["acc"].stderr == pytest.approx(np.std(acc, ddof=1) / np.sqrt(len(acc)))
    assert metrics["acc"].n == 48


def test_translation_bleu_equals_sacrebleu(fake_run):
    _, run, samples = fake_run
    data = rows("en_de.jsonl")
    hyps = [fake_generation(f"Translate English to German.\nEnglish: {r['en']}\nGerman:", ["\n"], 48) for r in data]
    by_task = [s.response for s in samples if s.task == "starter_translation_en_de"]
    assert by_task == hyps
    bleu = run.tasks["starter_translation_en_de"].metrics["bleu"]
    assert bleu.value == pytest.approx(sacrebleu.corpus_bleu(hyps, [[r["de"] for r in data]]).score)
    assert bleu.details["signature"].startswith("nrefs:1|case:mixed|eff:no|tok:13a")
    chrf = run.tasks["starter_translation_en_de"].metrics["chrf"]
    assert chrf.value == pytest.approx(sacrebleu.corpus_chrf(hyps, [[r["de"] for r in data]]).score)


def test_extractive_qa_exact_match_and_f1(fake_run):
    _, run, samples = fake_run
    qa = [s for s in samples if s.task == "starter_extractive_qa"]
    expected_em = np.mean([max(normalize_answer(s.response) == normalize_answer(t) for t in s.target) for s in qa])
    assert run.tasks["starter_extractive_qa"].metrics["exact_match"].value == pytest.approx(expected_em)
    # the parrot answers with the question line, so it gets some token overlap but no exact match
    assert qa[0].response.strip() == rows("extractive_qa.jsonl")[0]["question"]


def test_bias_pairs_and_samples_hold_everything(fake_run):
    _, run, samples = fake_run
    pairs = rows("bias_pairs.jsonl")
    pct = np.mean([fake_logprob("", r["sent_more"])[0] > fake_logprob("", r["sent_less"])[0] for r in pairs])
    assert run.tasks["starter_bias_pairs"].metrics["pct_stereotype"].value == pytest.approx(pct)
    first = next(s for s in samples if s.task == "starter_mc")
    assert first.sample_id == "mc-001" and len(first.logprobs) == 4 and first.choices and first.target == 1
    assert set(first.scores) == {"acc", "acc_norm"} and first.prompt_hash


def test_library_returns_what_the_cli_writes(tmp_path):
    from harness import RunConfig, evaluate

    evaluation = evaluate(RunConfig(models=["fake"], tasks=["starter_mc"], output_dir=str(tmp_path)))
    (run_dir, result), = evaluation.runs
    assert evaluation.ok and read_result(run_dir) == result


def test_limit_takes_the_first_items_in_order(tmp_path):
    out = CliRunner().invoke(main, ["run", "-m", "fake", "-t", "starter_mc", "--limit", "5", "--output-dir", str(tmp_path)])
    assert out.exit_code == 0, out.output
    samples = read_samples(next(tmp_path.iterdir()))
    assert [s.sample_id for s in samples] == [r["id"] for r in rows("mc.jsonl")[:5]]


def test_several_models_one_folder_each(tmp_path):
    out = CliRunner().invoke(main, ["run", "-m", "fake", "-m", "fake:seed=1", "-t", "starter_mc", "--output-dir", str(tmp_path)])
    assert out.exit_code == 0, out.output
    runs = sorted(read_result(p).model.name for p in tmp_path.iterdir())
    assert runs == ["fake", "fake:seed=1"]


def test_apply_chat_template_wraps_every_prompt(tmp_path):
    out = CliRunner().invoke(main, ["run", "-m", "fake", "-t", "starter_mc", "--limit", "3", "--apply-chat-template",
                                    "--output-dir", str(tmp_path)])
    assert out.exit_code == 0, out.output
    samples = read_samples(next(tmp_path.iterdir()))
    assert samples[0].prompt == "<|user|>\nQuestion: What is the capital of France?\nAnswer:\n<|assistant|>\n"
    assert read_result(next(tmp_path.iterdir())).config["apply_chat_template"] is True


def test_breakdown_reports_each_subgroup(tmp_path):
    from harness.runner import Runner
    from harness.models.fake import FakeModel
    from harness.tasks.loader import build_index

    spec = build_index().tasks["starter_bias_pairs"].model_copy(update={"breakdown": "{{bias_type}}"})
    result, samples = Runner(FakeModel()).run_task(spec)
    pairs = rows("bias_pairs.jsonl")
    gender = [s.scores["pct_stereotype"] for s, r in zip(samples, pairs) if r["bias_type"] == "gender"]
    assert result.breakdown["gender"]["pct_stereotype"].value == pytest.approx(np.mean(gender))
    assert result.breakdown["gender"]["pct_stereotype"].n == len(gender) == 10
    assert set(result.breakdown) == {r["bias_type"] for r in pairs}


def test_judge_flag_reaches_dialogue_tasks_and_unparseable_replies_are_counted(tmp_path, shared_data):
    out = CliRunner().invoke(main, ["run", "-m", "fake", "-t", "mt_bench", "--judge", "fake:seed=2", "--limit", "3",
                                    "--data-dir", str(shared_data), "--output-dir", str(tmp_path)])
    assert out.exit_code == 0, out.output
    score = read_result(next(tmp_path.iterdir())).tasks["mt_bench"].metrics["mt_bench_score"]
    # the fake judge never writes "[[rating]]": every judgement is counted as unparseable, none is scored
    assert (score.n, score.value) == (0, None)
    assert score.details["judgements"] == 6 and score.details["unparseable"] == 6
    assert score.details["judge"] == "fake:seed=2"
