"""The task library: every task runs on the real data, scores carry CIs, prompts equal lm-eval's."""
import json
import subprocess
import sys
from pathlib import Path

import jinja2
import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from harness.cli import main
from harness.metrics import get_metric
from harness.metrics.base import Outcome
from harness.results import read_result, read_samples
from harness.tasks.build import Item, build_items
from harness.tasks.datasets import load_rows
from harness.tasks.loader import build_index

HUB_ONLY = {"arc_challenge", "cnn_dailymail"}  # defined for the hub; no copy in ../shared/data


@pytest.fixture(scope="module")
def library_run(shared_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    result = CliRunner().invoke(main, ["run", "--model", "fake", "--tasks", "qa,translation,summarization",
                                       "--data-dir", str(shared_data), "--limit", "20", "--output-dir", str(out)])
    return result, next(out.iterdir())


def test_every_task_reports_metrics_with_cis(library_run):
    result, run_dir = library_run
    run = read_result(run_dir)
    index = build_index()
    expected = {n for g in ("qa", "translation", "summarization") for n in index.groups[g]}
    assert len(expected) >= 6 + 17 + 2
    assert set(run.tasks) == expected - HUB_ONLY
    for name, task in run.tasks.items():
        for metric, value in task.metrics.items():
            assert value.n == 20 and value.value is not None, (name, metric)
            assert value.ci_low is not None and value.ci_high is not None, (name, metric)
    # the hub-only tasks fail offline with the hint, and only they fail
    assert result.exit_code == 2
    assert {e.name for e in run.errors} == HUB_ONLY
    assert all("--data-dir" in e.message for e in run.errors)


def test_translation_signatures_and_tokenizers(library_run):
    _, run_dir = library_run
    tasks = read_result(run_dir).tasks
    assert "tok:zh" in tasks["wmt22_en_zh"].metrics["bleu"].details["signature"]
    assert "tok:ja-mecab" in tasks["wmt22_en_ja"].metrics["bleu"].details["signature"]
    assert "nrefs:2" in tasks["wmt22_en_de"].metrics["bleu"].details["signature"]
    assert "nrefs:2" in tasks["wmt22_cs_en"].metrics["chrf"].details["signature"]


def test_bleu_and_chrf_equal_the_sacrebleu_command_line(shared_data, tmp_path):
    out = tmp_path / "runs"
    done = CliRunner().invoke(main, ["run", "-m", "fake", "-t", "wmt22_en_de", "--data-dir", str(shared_data),
                                     "--limit", "100", "--output-dir", str(out)])
    assert done.exit_code == 0, done.output
    run_dir = next(out.iterdir())
    hyps = tmp_path / "hyp.txt"
    hyps.write_text("".join(s.response.replace("\n", " ") + "\n" for s in read_samples(run_dir)), encoding="utf-8")
    refs = []
    for ref in ("A", "B"):
        lines = (shared_data / f"wmt22/references/generaltest2022.en-de.ref.{ref}.de").read_text().splitlines()[:100]
        refs.append(tmp_path / f"ref.{ref}.de")
        refs[-1].write_text("\n".join(lines) + "\n", encoding="utf-8")
    cli = subprocess.run([sys.executable, "-m", "sacrebleu", *map(str, refs), "-i", str(hyps), "-m", "bleu", "chrf", "-w", "4",
                          "-f", "json"], capture_output=True, text=True, check=True)
    scores = {entry["name"]: entry["score"] for entry in json.loads(cli.stdout)}
    metrics = read_result(run_dir).tasks["wmt22_en_de"].metrics
    assert round(metrics["bleu"].value, 2) == round(scores["BLEU"], 2)
    assert round(metrics["chrf"].value, 2) == round(scores["chrF2"], 2)


def _lm_eval_prompt(task_yaml: str, row: dict) -> str:
    import lm_eval

    path = Path(lm_eval.__file__).parent / "tasks" / task_yaml
    template = yaml.safe_load(path.read_text())["doc_to_text"]
    return jinja2.Environment().from_string(template).render(**row)


@pytest.mark.parametrize("task, lm_eval_yaml, adapt", [
    ("arc_easy", "arc/arc_easy.yaml", lambda r: r),
    ("boolq", "super_glue/boolq/default.yaml", lambda r: r),
    ("truthfulqa_mc1", "truthfulqa/truthfulqa_mc1.yaml", lambda r: r),
])
def test_prompts_equal_lm_eval(shared_data, task, lm_eval_yaml, adapt):
    spec = build_index().tasks[task]
    rows = load_rows(spec, data_dir=shared_data)[:5]
    for item, row in zip(build_items(spec, rows), rows):
        assert item.prompt == _lm_eval_prompt(lm_eval_yaml, adapt(row))


def test_boolq_gold_follows_the_answer():
    spec = build_index().tasks["boolq"]
    items = build_items(spec, [{"passage": "p", "question": "q", "answer": True},
                               {"passage": "p", "question": "q", "answer": False}])
    assert [i.gold for i in items] == [1, 0] and items[0].choices == ("no", "yes")


def test_mc2_is_normalised_probability_mass_on_true_answers():
    row = {"mc2_targets": {"labels": [1, 1, 0, 0]}}
    item = Item(0, "0", row, "p", (), choices=("a", "b", "c", "d"), gold=0)
    logprobs = np.log([0.4, 0.2, 0.1, 0.3])
    value = get_metric("mc2").sample(Outcome(item, logprobs=tuple(logprobs), is_greedy=(False,) * 4))
    assert value == pytest.approx(0.6)
