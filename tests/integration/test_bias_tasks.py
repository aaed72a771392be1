"""The bias tasks end to end: the fake on the real data (every metric with a CI, figures recomputed here),
and a fake that answers as told on hand-built fixtures (known bias scores through the task files)."""
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.metrics.bias_bbq import bbq_target_loc
from harness.models.fake import FakeModel, fake_logprob
from harness.results import read_result
from harness.runner import Runner
from harness.tasks.build import build_items
from harness.tasks.datasets import load_rows, probe_rows
from harness.tasks.loader import build_index
from harness.tasks.schema import DatasetSpec

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bias" / "data"
BIAS_TASKS = {"crows_pairs", "bbq", "winobias", "stereoset", "probe_occupations", "starter_bias_pairs"}


@pytest.fixture(scope="module")
def bias_run(shared_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    result = CliRunner().invoke(main, ["run", "--model", "fake", "--tasks", "bias", "--data-dir", str(shared_data),
                                       "--limit", "20", "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    return read_result(next(out.iterdir()))


@pytest.fixture(scope="module")
def tasks():
    return build_index().tasks


def test_every_bias_task_reports_its_metrics_with_cis(bias_run, tasks):
    assert set(bias_run.tasks) == BIAS_TASKS == set(build_index().groups["bias"])
    for name, task in bias_run.tasks.items():
        assert list(task.metrics) == tasks[name].metrics
        for metric, value in task.metrics.items():
            assert value.value is not None and value.n > 0, (name, metric)
            assert value.ci_low is not None and value.ci_low <= value.value <= value.ci_high, (name, metric)
        assert task.breakdown or name == "starter_bias_pairs"
    assert set(bias_run.tasks["bbq"].breakdown) == {"Age", "Disability_status", "Nationality",
                                                    "Physical_appearance", "Religion", "Sexual_orientation"}
    assert set(bias_run.tasks["probe_occupations"].breakdown) == {"men", "women"}


def test_crows_pairs_figures(bias_run, shared_data):
    rows = [json.loads(line) for line in
            (shared_data / "nyu-mll/crows_pairs/default/test.jsonl").read_text().splitlines()[:20]]
    lls = [(fake_logprob("", r["sent_more"])[0], fake_logprob("", r["sent_less"])[0]) for r in rows]
    metrics = bias_run.tasks["crows_pairs"].metrics
    assert metrics["pct_stereotype"].value == pytest.approx(np.mean([m > s for m, s in lls]))
    assert metrics["likelihood_diff"].value == pytest.approx(np.mean([abs(m - s) for m, s in lls]))
    by_type = bias_run.tasks["crows_pairs"].breakdown
    assert sum(v["pct_stereotype"].n for v in by_type.values()) == 20


def test_stereoset_figures(bias_run, shared_data):
    rows = [json.loads(line) for line in (shared_data / "stereoset/dev_flat.jsonl").read_text().splitlines()[:20]]
    pro, total = defaultdict(float), defaultdict(int)
    for r in rows:
        context, lead = (r["context"], " ") if r["type"] == "intersentence" else ("", "")
        stereo, anti = (fake_logprob(context, lead + r[k])[0] / len(lead + r[k])
                        for k in ("stereotype", "anti-stereotype"))
        pro[r["target"]] += stereo > anti
        total[r["target"]] += 1
    ss = np.mean([100 * pro[t] / total[t] for t in total])
    assert bias_run.tasks["stereoset"].metrics["stereoset_ss"].value == pytest.approx(ss)


def test_probe_figures(bias_run, tasks):
    rows = probe_rows(tasks["probe_occupations"].dataset.probe)[:20]
    means = {g: np.mean([fake_logprob(r["context"], r["target"])[0] for r in rows if r["group"] == g])
             for g in ("men", "women")}
    disparity = bias_run.tasks["probe_occupations"].metrics["probe_disparity"]
    assert disparity.value == pytest.approx(abs(means["men"] - means["women"]))
    assert disparity.details["group_means"] == pytest.approx(means)
    assert disparity.details["templates"] == 4
    assert bias_run.tasks["probe_occupations"].breakdown["men"]["probe_logprob"].value == pytest.approx(means["men"])


def knowing_fake(items, pick):
    """A fake that prefers choice pick(item) on every item."""
    answers = {item.prompt: " " + item.choices[pick(item)] for item in items}
    assert len(answers) == len(items)
    return FakeModel(answers=answers)


def run_on_fixtures(spec, model):
    return Runner(model, data_dir=FIXTURES).run_task(spec)[0]


@pytest.fixture
def bbq_age(tasks):
    return tasks["bbq"].model_copy(update={"dataset": DatasetSpec(data_dir_files={"test": ["bbq/Age.jsonl"]})})


def test_bbq_task_always_biased_and_always_right(bbq_age):
    items = build_items(bbq_age, load_rows(bbq_age, data_dir=FIXTURES))
    biased = run_on_fixtures(bbq_age, knowing_fake(items, lambda i: bbq_target_loc(i.row))).metrics
    assert (biased["bbq_bias_disambig"].value, biased["bbq_bias_ambig"].value) == (1.0, 1.0)
    right = run_on_fixtures(bbq_age, knowing_fake(items, lambda i: i.gold)).metrics
    assert right["acc"].value == right["bbq_acc_ambig"].value == right["bbq_acc_disambig"].value == 1.0
    assert (right["bbq_bias_disambig"].value, right["bbq_bias_ambig"].value) == (0.0, 0.0)


def test_winobias_task_right_only_when_stereotypes_help(tasks):
    spec = tasks["winobias"]
    items = build_items(spec, load_rows(spec, data_dir=FIXTURES))
    model = knowing_fake(items, lambda i: i.gold if i.row["_file"].startswith("pro") else 1 - i.gold)
    result = run_on_fixtures(spec, model)
    assert result.metrics["winobias_acc_pro"].value == 1.0 and result.metrics["winobias_acc_anti"].value == 0.0
    assert result.metrics["winobias_gap"].value == 1.0
    assert {k: v["winobias_gap"].value for k, v in result.breakdown.items()} == {"type1": 1.0, "type2": 1.0}
