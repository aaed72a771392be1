"""A bias metric with an ideal value (pct_stereotype: 0.5) is judged by its distance to 0.5 everywhere: the
run table, results.json, the leaderboard's best/tied marks, summary.md and `evalh compare`."""
import json
import re

from click.testing import CliRunner

from harness.cli import main
from tests.integration.test_compare_power import table_row, write_run


def evalh(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def bias_runs(root):
    """Three models on the same 48 pairs: anti-stereotypical (0.21), nearly unbiased (0.54), biased (0.92)."""
    ones = {"anti": 10, "fair": 26, "biased": 44}
    return {name: write_run(root / name, name, "starter_bias_pairs", "pct_stereotype", [1.0] * k + [0.0] * (48 - k))
            for name, k in ones.items()}


def test_run_table_and_results_declare_best_at_half(tmp_path):
    code, text = evalh("run", "-m", "fake", "-t", "starter_bias_pairs", "--output-dir", str(tmp_path))
    assert code == 0, text
    row = next(line for line in text.splitlines() if " pct_stereotype " in line)
    assert row.rstrip().endswith("at 0.5")
    result = json.loads(next(tmp_path.glob("*/results.json")).read_text())
    value = result["tasks"]["starter_bias_pairs"]["metrics"]["pct_stereotype"]
    assert (value["range_low"], value["range_high"], value["ideal"]) == (0.0, 1.0, 0.5)
    assert 0.0 <= value["ci_low"] <= value["value"] <= value["ci_high"] <= 1.0 and value["method"] == "wilson"


def test_report_highlights_the_model_closest_to_half(tmp_path):
    runs = bias_runs(tmp_path / "runs")
    code, text = evalh("report", *(str(p) for p in runs.values()), "-o", str(tmp_path / "report"), "--no-plots")
    assert code == 0, text
    summary = (tmp_path / "report" / "summary.md").read_text()
    assert "starter\\_bias\\_pairs (pct\\_stereotype →0.5)" in summary
    cells = {line.split(" | ")[0].lstrip("| "): line.split(" | ")[2] for line in summary.splitlines()
             if line.startswith("| ") and " | " in line and not line.startswith("| model")}
    assert cells["fair"].startswith("**0.5417") and not cells["anti"].startswith("**")
    assert not cells["biased"].startswith("**") and not cells["anti"].startswith("≈")  # both separable from fair
    page = (tmp_path / "report" / "leaderboard.html").read_text()
    data = json.loads(re.search(r'id="report-data">(.*?)</script>', page, re.S)[1])
    task = data["tasks"][0]
    assert task["semantics"]["pct_stereotype"] == [0.0, 1.0, True, 0.5]
    fair = next(m["key"] for m in data["models"] if m["label"] == "fair")
    assert task["standing"]["pct_stereotype"] == {fair: "best"}


def test_compare_calls_moving_towards_half_an_improvement_and_away_a_regression(tmp_path):
    runs = bias_runs(tmp_path / "runs")
    code, text = evalh("compare", str(runs["anti"]), str(runs["fair"]))  # 0.21 -> 0.54: up, but closer to 0.5
    assert code == 0, text
    row = table_row(text, "starter_bias_pairs")
    assert row["verdict"] == "improvement" and row["metric"] == "pct_stereotype (|x-0.5|)"
    assert float(row["delta"]) < 0 and row["test"] == "paired-bootstrap-distance-to-0.5"
    code, text = evalh("compare", str(runs["fair"]), str(runs["anti"]))  # 0.54 -> 0.21: down, but away from 0.5
    assert code == 1 and table_row(text, "starter_bias_pairs")["verdict"] == "REGRESSION", text
    code, text = evalh("compare", str(runs["fair"]), str(runs["biased"]))
    assert code == 1 and table_row(text, "starter_bias_pairs")["verdict"] == "REGRESSION", text


def test_leaderboard_in_chromium_highlights_and_sorts_by_distance_to_half(tmp_path):
    import pytest

    from tests.fixtures.browser import chromium, missing_reason, open_report
    from tests.integration.test_report_html import click_header, js, row_models

    if missing_reason() is not None:
        pytest.skip(str(missing_reason()))
    runs = bias_runs(tmp_path / "runs")
    code, text = evalh("report", *(str(p) for p in runs.values()), "-o", str(tmp_path / "report"), "--no-plots")
    assert code == 0, text
    with chromium() as driver:
        open_report(driver, tmp_path / "report" / "leaderboard.html")
        header = js(driver, "return [...document.querySelectorAll('#board th .metric')].map(m => m.textContent)")
        assert header[0] == "pct_stereotype →0.5"
        marks = js(driver, "return Object.fromEntries([...document.querySelectorAll('#board tbody tr')].map(r => "
                           "[r.cells[0].textContent, r.cells[2].classList.contains('best') ? 'best' : '']))")
        assert marks == {"anti": "", "fair": "best", "biased": ""}
        click_header(driver, "starter_bias_pairs", "pct_stereotype")  # first click: best first
        assert row_models(driver) == ["fair", "anti", "biased"]  # distances 0.04, 0.29, 0.42
