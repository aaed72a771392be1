"""Issue 7's task library on the fake model and real data: MMLU, commonsense, sentiment, language modelling,
dialogue; prompts and scoring rules checked against lm-eval's own task files and functions."""
import importlib.util
import math
import re
from pathlib import Path

import jinja2
import pytest
import yaml
from click.testing import CliRunner

from harness.cli import main
from harness.console import format_summary
from harness.evaluation import Evaluation
from harness.models.fake import FakeModel
from harness.requests import Rolling
from harness.results import read_result, read_samples
from harness.tasks.build import FewshotSampler, build_items
from harness.tasks.catalog import item_count
from harness.tasks.datasets import load_rows
from harness.runner import Runner
from harness.tasks.loader import build_index
from tests.conftest import write_jsonl

LM_EVAL_TASKS = Path(importlib.util.find_spec("lm_eval").origin).parent / "tasks"
HUB_ONLY = {"winogrande"}  # defined for the hub; no copy in ../shared/data


def _lm_eval_module(relative: str):
    spec = importlib.util.spec_from_file_location(relative.replace("/", "_"), LM_EVAL_TASKS / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def fake_run(shared_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    result = CliRunner().invoke(main, ["run", "--model", "fake", "--tasks", "mmlu,commonsense,sentiment,language_modeling",
                                       "--data-dir", str(shared_data), "--limit", "10", "--output-dir", str(out),
                                       "--no-cache"])
    return result, next(out.iterdir())


def test_every_task_reports_its_metrics(fake_run):
    result, run_dir = fake_run
    run = read_result(run_dir)
    index = build_index()
    expected = {n for g in ("mmlu", "commonsense", "sentiment", "language_modeling") for n in index.groups[g]}
    assert len(index.groups["mmlu"]) == 57 and len(expected) == 57 + 4 + 1 + 1
    assert set(run.tasks) == expected - HUB_ONLY
    wanted = {"hellaswag": {"acc", "acc_norm"}, "piqa": {"acc", "acc_norm"}, "openbookqa": {"acc", "acc_norm"},
              "sst2": {"acc", "f1_macro", "mcc"}, "wikitext": {"word_perplexity", "byte_perplexity", "bits_per_byte"}}
    for name, task in run.tasks.items():
        assert set(task.metrics) == wanted.get(name, {"acc"}), name
        for metric, value in task.metrics.items():
            assert value.n == 10 and value.value is not None and value.ci_low is not None, (name, metric)
    assert run.tasks["mmlu_anatomy"].num_fewshot == 5
    assert {e.name for e in run.errors} == HUB_ONLY and all("--data-dir" in e.message for e in run.errors)
    assert result.exit_code == 2  # only because winogrande is hub-only here


def test_group_aggregates_weight_subjects_by_items(fake_run):
    result, run_dir = fake_run
    run = read_result(run_dir)
    from harness.tasks.aggregate import group_metrics

    groups = group_metrics(run.tasks)
    subjects = [t for t in run.tasks.values() if "mmlu" in t.groups]
    expected = sum(t.metrics["acc"].value * t.metrics["acc"].n for t in subjects) / sum(t.metrics["acc"].n for t in subjects)
    assert groups["mmlu"]["acc"].value == pytest.approx(expected) and groups["mmlu"]["acc"].n == 570
    assert {g for g in groups if g.startswith("mmlu")} == {"mmlu", "mmlu_stem", "mmlu_other", "mmlu_social_sciences",
                                                          "mmlu_humanities"}
    assert groups["mmlu_stem"]["acc"].n == 190 and groups["mmlu_humanities"]["acc"].n == 130
    assert "group mmlu_stem" in result.output and "group mmlu " in result.output


def test_wikitext_perplexity_from_the_fakes_rolling_loglikelihood(fake_run):
    _, run_dir = fake_run
    samples = [s for s in read_samples(run_dir) if s.task == "wikitext"]
    ll = sum(FakeModel().loglikelihood_rolling([Rolling(s.prompt)])[0] for s in samples)
    words = sum(len(re.split(r"\s+", s.row["page"])) for s in samples)
    value = read_result(run_dir).tasks["wikitext"].metrics["word_perplexity"].value
    assert value == pytest.approx(math.exp(-ll / words))
    assert len(samples) == 10 and samples[0].row["page"].startswith(" = Robert Boulter = \n")


def _jinja(template: str, row: dict) -> str:
    return jinja2.Environment().from_string(template).render(**row)


def test_mmlu_prompt_is_lm_evals_5_shot_prompt(shared_data):
    spec = build_index().tasks["mmlu_anatomy"]
    template = yaml.safe_load((LM_EVAL_TASKS / "mmlu/default/_default_template_yaml").read_text())["doc_to_text"]
    description = yaml.safe_load((LM_EVAL_TASKS / "mmlu/default/mmlu_anatomy.yaml").read_text())["description"]
    dev, test = load_rows(spec, "dev", shared_data), load_rows(spec, data_dir=shared_data)[:3]
    items = build_items(spec, test, FewshotSampler(dev, 5, 1234, "first_n", False))
    shots = "".join(_jinja(template, r) + " " + "ABCD"[r["answer"]] + "\n\n" for r in dev[:5])
    for item, row in zip(items, test):
        assert item.prompt == description + shots + _jinja(template, row)
        assert [r.continuation for r in item.requests] == [" A", " B", " C", " D"] and item.gold == row["answer"]


@pytest.mark.parametrize("task, lm_eval_yaml", [
    ("piqa", "piqa/piqa.yaml"), ("sst2", "glue/sst2/default.yaml"), ("openbookqa", "openbookqa/openbookqa.yaml")])
def test_prompts_equal_lm_eval(shared_data, task, lm_eval_yaml):
    spec = build_index().tasks[task]
    config = yaml.safe_load((LM_EVAL_TASKS / lm_eval_yaml).read_text())
    rows = load_rows(spec, data_dir=shared_data)[:5]
    for item, row in zip(build_items(spec, rows), rows):
        text = config["doc_to_text"]
        assert item.prompt == (row[text] if text in row else _jinja(text, row))


def test_openbookqa_reads_the_test_split_lm_eval_reports(shared_data):
    import json

    spec = build_index().tasks["openbookqa"]
    rows = load_rows(spec, data_dir=shared_data)
    first = json.loads((shared_data / "allenai/openbookqa/main/test.jsonl").open().readline())
    assert spec.dataset.split == "test" and len(rows) == 500 and rows[0]["id"] == first["id"]
    assert yaml.safe_load((LM_EVAL_TASKS / "openbookqa/openbookqa.yaml").read_text())["test_split"] == "test"


def test_hellaswag_equals_lm_evals_preprocessing(shared_data):
    utils = _lm_eval_module("hellaswag/utils.py")
    spec = build_index().tasks["hellaswag"]
    rows = load_rows(spec, data_dir=shared_data)[:300]
    for item, row in zip(build_items(spec, rows), rows):
        assert item.prompt == utils.preprocess(row["activity_label"] + ": " + row["ctx_a"] + " " + row["ctx_b"].capitalize())
        assert list(item.choices) == [utils.preprocess(e) for e in row["endings"]] and item.gold == int(row["label"])


def test_wikitext_documents_and_detokenizer_equal_lm_evals(shared_data):
    pre = _lm_eval_module("wikitext/preprocess_wikitext.py")
    spec = build_index().tasks["wikitext"]
    docs = load_rows(spec, data_dir=shared_data)
    assert len(docs) == 62  # WikiText-2 test: 62 articles
    for item, doc in zip(build_items(spec, docs), docs):
        assert item.requests[0].text == pre.wikitext_detokenizer(doc)


WINOGRANDE_ROWS = [  # allenai/winogrande's schema: answer is the string "1" or "2"
    {"sentence": "Sarah was a much better surgeon than Maria so _ always got the harder cases.",
     "option1": "Sarah", "option2": "Maria", "answer": "1"},
    {"sentence": "The trophy doesn't fit into the brown suitcase because the _ is too large.",
     "option1": "trophy", "option2": "suitcase", "answer": "1"},
    {"sentence": "_ fed the cat because Ann was busy.", "option1": "Ann", "option2": "Tom", "answer": "2"},
]


def test_winogrande_partial_scoring_equals_lm_evals(tmp_path):
    pre = _lm_eval_module("winogrande/preprocess_winogrande.py")
    mirror = tmp_path / "allenai/winogrande/winogrande_xl"
    mirror.mkdir(parents=True)
    write_jsonl(mirror / "validation.jsonl", WINOGRANDE_ROWS)
    write_jsonl(mirror / "train.jsonl", WINOGRANDE_ROWS)
    spec = build_index().tasks["winogrande"]
    rows = load_rows(spec, data_dir=tmp_path)
    for item, row in zip(build_items(spec, rows), rows):
        contexts = pre.doc_to_choice(row)
        assert [(r.context, r.continuation) for r in item.requests] == [(c, " " + pre.doc_to_target(row)) for c in contexts]
        assert item.gold == pre.doc_to_text(row)
    # lm-eval's few-shot example for multiple-input tasks: the gold-filled context, the delimiter, the rest
    shot = build_items(spec, rows[:1], FewshotSampler(rows[1:2], 1, 0, "first_n", False))[0]
    assert shot.requests[0].context == ("The trophy doesn't fit into the brown suitcase because the trophy is too large."
                                        "\n\nSarah was a much better surgeon than Maria so Sarah")
    out = tmp_path / "runs"
    done = CliRunner().invoke(main, ["run", "-m", "fake", "-t", "winogrande", "--data-dir", str(tmp_path),
                                     "--output-dir", str(out), "--no-cache"])
    assert done.exit_code == 0, done.output
    assert read_result(next(out.iterdir())).tasks["winogrande"].metrics["acc"].n == 3


def test_item_counts_read_the_mirror(shared_data, monkeypatch):
    index = build_index()
    monkeypatch.delenv("EVALH_DATA_DIR", raising=False)
    assert item_count(index.tasks["hellaswag"]) is None
    counts = {n: item_count(index.tasks[n], shared_data) for n in ("hellaswag", "mmlu_anatomy", "wikitext", "mt_bench", "sst2")}
    assert counts == {"hellaswag": 10042, "mmlu_anatomy": 135, "wikitext": 62, "mt_bench": 80, "sst2": 872}
    monkeypatch.setenv("EVALH_DATA_DIR", str(shared_data))
    listing = CliRunner().invoke(main, ["list", "tasks"])
    assert listing.exit_code == 0
    line = next(l for l in listing.output.splitlines() if l.startswith("piqa "))
    assert "1838 items" in line and "[commonsense]" in line and "PIQA" in line
    assert "group dialogue: mt_bench" in listing.output and "group language_modeling: wikitext" in listing.output


class _Judge(FakeModel):
    """Replies with a rating derived from the prompt's length, one malformed reply in five."""

    def generate(self, requests, progress=None):
        self.calls.extend(requests)
        return ["I cannot decide." if len(r.prompt) % 5 == 0 else f"Fine. Rating: [[{len(r.prompt) % 10 + 1}]]"
                for r in requests]


def test_mt_bench_two_turns_through_the_chat_format_and_a_judge(shared_data):
    spec = build_index().tasks["mt_bench"]
    model, judge = FakeModel(), _Judge(name="judge")
    result, samples = Runner(model, judge=judge, data_dir=shared_data, limit=10).run_task(spec)
    assert len(model.calls) == 20 and len(judge.calls) == 20
    first_turn, second_turn = model.calls[0].prompt, model.calls[10].prompt
    assert first_turn == "<|user|>\n" + samples[0].row["turns"][0] + "\n<|assistant|>\n"
    answer = samples[0].row["_dialogue"]["turns"][0]["answer"]
    assert second_turn == (f"<|user|>\n{samples[0].row['turns'][0]}\n<|assistant|>\n{answer}\n"
                           f"<|user|>\n{samples[0].row['turns'][1]}\n<|assistant|>\n")
    replies = [j["reply"] for s in samples for j in s.row["_dialogue"]["judgements"]]
    ratings = [float(r.split("[[")[1].split("]]")[0]) for r in replies if "[[" in r]
    value = result.metrics["mt_bench_score"]
    assert value.n == len(ratings) and value.value == pytest.approx(sum(ratings) / len(ratings))
    assert value.details["unparseable"] == 20 - len(ratings) and value.details["judge"] == "judge"
    assert set(result.breakdown) == {s.row["category"] for s in samples}


def test_mt_bench_without_a_judge_fails_clearly(shared_data, tmp_path):
    out = tmp_path / "runs"
    done = CliRunner().invoke(main, ["run", "-m", "fake", "-t", "dialogue,starter_mc", "--data-dir", str(shared_data),
                                     "--limit", "2", "--output-dir", str(out), "--no-cache"])
    assert done.exit_code == 2
    result = read_result(next(out.iterdir()))
    assert [e.name for e in result.errors] == ["mt_bench"] and "no judge model" in result.errors[0].message
    assert "--judge MODEL" in result.errors[0].message and "starter_mc" in result.tasks


def test_summary_prints_group_rows(fake_run):
    _, run_dir = fake_run
    text = format_summary(Evaluation(runs=[(run_dir, read_result(run_dir))]))
    assert "mmlu_stem" in text
    assert any(line.split()[1:3] == ["group", "mmlu"] for line in text.splitlines())


def test_the_57_mmlu_tasks_from_one_template_give_the_stored_results(shared_data, tmp_path):
    """tasks/knowledge/mmlu.yaml (one template and a subject list) replaced 57 files; the fake model on the
    first 5 items of each gives exactly what the 57 files gave (tests/fixtures/expected, computed before)."""
    import hashlib
    import json

    from click.testing import CliRunner

    from harness.cli import main
    from harness.results import read_result, read_samples

    expected = json.loads((Path(__file__).parents[1] / "fixtures/expected/mmlu_fake_limit5.json").read_text())
    out = CliRunner().invoke(main, ["run", "-m", "fake", "-t", "mmlu", "--data-dir", str(shared_data), "--limit", "5",
                                    "--no-cache", "--output-dir", str(tmp_path)])
    assert out.exit_code == 0, out.output
    run_dir, = tmp_path.iterdir()
    result, samples = read_result(run_dir), read_samples(run_dir)
    got = {}
    for name, task in result.tasks.items():
        mine = [s for s in samples if s.task == name]
        digest = hashlib.sha256(json.dumps([[s.sample_id, s.prompt, s.choices, s.target, s.logprobs] for s in mine],
                                           sort_keys=True).encode()).hexdigest()
        got[name] = {"acc": task.metrics["acc"].value, "n": task.metrics["acc"].n, "groups": task.groups,
                     "num_fewshot": task.num_fewshot, "samples_sha256": digest}
    assert got == expected
