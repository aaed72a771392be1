"""The leaderboard's average column and its warnings for runs over different data (harness/report/board.py)."""
import json
from pathlib import Path

import pytest

from harness.report.board import average, data_warnings
from harness.report.comparison import build_comparison
from harness.report.loading import load_runs
from harness.report.markdown import summary_markdown
from tests.fixtures.synthetic_runs import write_synthetic_runs

MODELS = {"tiny-135m": 135_000_000, "mid-1b": 1_000_000_000, "big-7b": 7_000_000_000}


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    write_synthetic_runs(out, models=MODELS, tasks=5, samples=10)
    return out


def edited(runs_dir: Path, tmp_path: Path, change) -> list[str]:
    """Copies of the runs with change(model name, results.json data) applied to each; returns [their folder]."""
    import shutil

    shutil.copytree(runs_dir, tmp_path / "runs")
    for run in (tmp_path / "runs").iterdir():
        data = json.loads((run / "results.json").read_text())
        change(data["model"]["name"], data)
        (run / "results.json").write_text(json.dumps(data))
    return [str(tmp_path / "runs")]


def test_runs_over_the_same_data_have_no_warning(runs_dir):
    assert data_warnings(build_comparison(load_runs([str(runs_dir)]))) == []


def test_a_different_limit_and_version_are_named(runs_dir, tmp_path):
    def limited(model, data):
        if model != "mid-1b":
            return
        data["config"]["limit"] = 8
        data["tasks"]["synthetic_mc_0"]["dataset"].update(fingerprint="other", rows_used=8)
        data["tasks"]["synthetic_qa_1"]["version"] = "2"
    warnings = data_warnings(build_comparison(load_runs(edited(runs_dir, tmp_path, limited))))
    assert warnings[0] == "--limit differs between runs: tiny-135m: none, mid-1b: 8, big-7b: none"
    assert warnings[1].startswith("task synthetic_mc_0: tiny-135m vs mid-1b: dataset fingerprint ")
    assert "(10 vs 8 rows used; different data or --limit)" in warnings[1]
    assert warnings[2] == "task synthetic_qa_1: tiny-135m vs mid-1b: task version 1 vs 2"
    assert len(warnings) == 3
    summary = summary_markdown(build_comparison(load_runs(edited(runs_dir, tmp_path / "again", limited))))
    assert "> **Warning: these runs are not over the same data.**" in summary
    assert "> --limit differs between runs: tiny-135m: none, mid-1b: 8, big-7b: none" in summary
    assert "Warning" not in summary_markdown(build_comparison(load_runs([str(runs_dir)])))


def test_average_places_each_primary_metric_on_its_range(runs_dir, tmp_path):
    def lower_is_better(model, data):  # as if exact_match were an error rate: 1 - value counts
        data["tasks"]["synthetic_qa_1"]["metrics"]["exact_match"]["higher_is_better"] = False
    folders = edited(runs_dir, tmp_path, lower_is_better)
    comparison = build_comparison(load_runs(folders))
    found = average(comparison)
    assert found.columns == (("synthetic_mc_0", "acc"), ("synthetic_qa_1", "exact_match"),
                             ("synthetic_translation_2", "bleu"), ("synthetic_summarization_3", "rouge1"))
    assert found.skipped == (("synthetic_bias_4", "pct_stereotype", "bias probe"),)
    for model in comparison.models:
        value = lambda task, metric: comparison.cell(task, metric, model.key).value  # noqa: E731
        expected = (value("synthetic_mc_0", "acc") + 1 - value("synthetic_qa_1", "exact_match")
                    + value("synthetic_translation_2", "bleu") / 100 + value("synthetic_summarization_3", "rouge1")) / 4
        assert found.values[model.key] == pytest.approx(expected)


def test_average_skips_ideal_and_unbounded_metrics_and_models_missing_one(runs_dir, tmp_path):
    def change(model, data):
        if model == "big-7b":
            del data["tasks"]["synthetic_mc_0"]
        data["tasks"]["synthetic_qa_1"]["metrics"]["exact_match"].update(range_high=None, higher_is_better=False)
        data["tasks"]["synthetic_translation_2"]["metrics"]["bleu"]["ideal"] = 50.0
    folders = edited(runs_dir, tmp_path, change)
    comparison = build_comparison(load_runs(folders))
    found = average(comparison)
    assert found.columns == (("synthetic_mc_0", "acc"), ("synthetic_summarization_3", "rouge1"))
    assert [s[:2] + (s[2].split(",")[0],) for s in found.skipped] == [
        ("synthetic_qa_1", "exact_match", "unbounded range"), ("synthetic_translation_2", "bleu", "best at 50"),
        ("synthetic_bias_4", "pct_stereotype", "bias probe")]
    by_label = {m.label: found.values[m.key] for m in comparison.models}
    assert by_label["big-7b"] is None and by_label["tiny-135m"] is not None
