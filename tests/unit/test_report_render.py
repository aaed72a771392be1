"""The comparison model and its renderers (Markdown, HTML, JUnit), on small synthetic runs."""
import html
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.report.compare import compare_runs
from harness.report.comparison import build_comparison, fit_trend, parse_size_label
from harness.report.html import csp_hash, embed_json, render_html
from harness.report.junit import compare_junit
from harness.report.loading import expand_run_paths, load_runs
from harness.report.markdown import compare_markdown, md_escape, summary_markdown
from harness.report.payload import build_payload
from tests.fixtures.synthetic_runs import write_synthetic_runs
from harness.results import read_result, write_result

HOSTILE = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'
MODELS = {"big-7b": 7_000_000_000, "tiny-135m": 135_000_000, "mid-1b": 1_000_000_000}


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    write_synthetic_runs(out, models=MODELS, tasks=5, samples=30)
    return out


@pytest.mark.parametrize("label,value", [("135M", 1.35e8), ("1.5B", 1.5e9), ("270m", 2.7e8), ("7B", 7e9),
                                         ("1M", 1e6), ("", None), ("big", None), (None, None)])
def test_parse_size_label(label, value):
    assert parse_size_label(label) == value


def test_fit_trend_known_line():
    trend = fit_trend([(1e8, 0.3), (1e9, 0.5), (1e10, 0.7)])
    assert (trend.slope, trend.intercept, trend.r2) == (pytest.approx(0.2), pytest.approx(-1.3), pytest.approx(1.0))
    assert trend.at(1e11) == pytest.approx(0.9)
    noisy = fit_trend([(1e8, 0.3), (1e9, 0.6), (1e10, 0.6)])
    assert noisy.slope == pytest.approx(0.15) and noisy.r2 == pytest.approx(0.75)
    assert fit_trend([(1e8, 0.3), (1e8, 0.4)]) is None
    assert fit_trend([(1e8, 0.3), (1e9, 0.5)]) is None  # two sizes: a line fits exactly and says nothing


def test_a_trend_and_its_band_stay_inside_the_metrics_range():
    points = [(1e8, 0.0), (1e9, 1.0), (1e10, 1.0)]  # the line reaches 1.17 at 10B, its band further
    free, bounded = fit_trend(points), fit_trend(points, 0.0, 1.0)
    assert free.at(1e10) > 1.0 and free.band(1e10)[1] > 1.0 and free.band(1e8)[0] < 0.0
    for size in (1e8, 3e8, 1e9, 3e9, 1e10):
        low, high = bounded.band(size)
        assert 0.0 <= low <= bounded.fitted(size) <= high <= 1.0
    assert bounded.fitted(1e10) == 1.0 and bounded.slope == free.slope


def test_every_drawn_trend_of_a_report_lies_in_its_metrics_range(runs_dir):
    comparison = build_comparison(load_runs([str(runs_dir)]))
    data = build_payload(comparison, title="t")
    assert data["trends"]
    for key, (_, _, _, band) in data["trends"].items():
        task, metric = key.split("\x1f")
        semantics = data_semantics(data, task, metric)
        for _, low, high, fit in band:
            for value in (low, high, fit):
                assert semantics.contains(value), (task, metric, value)


def data_semantics(data, task, metric):
    from harness.metrics.semantics import Semantics

    low, high, higher_is_better, ideal = next(t for t in data["tasks"] if t["name"] == task)["semantics"][metric]
    return Semantics(low, high, higher_is_better, ideal)


def test_comparison_orders_models_by_size(runs_dir):
    comparison = build_comparison(load_runs([str(runs_dir)]))
    assert [m.label for m in comparison.models] == ["tiny-135m", "mid-1b", "big-7b"]
    assert [t.name for t in comparison.tasks] == [f"synthetic_{k}_{i}" for i, k in
                                                  enumerate(["mc", "qa", "translation", "summarization", "bias"])]
    bias = comparison.tasks[4]
    assert bias.is_bias and bias.metrics == ("pct_stereotype", "likelihood_diff")
    run = read_result(runs_dir / "20250101-000000-mid-1b")
    assert comparison.cell("synthetic_mc_0", "acc", "m1").value == run.tasks["synthetic_mc_0"].metrics["acc"].value
    trend = comparison.trends[("synthetic_translation_2", "bleu")]
    assert trend.points == 3 and trend.slope > 0


def test_run_paths_accept_folders_files_and_globs(runs_dir):
    one = runs_dir / "20250101-000000-big-7b"
    assert expand_run_paths([str(one / "results.json"), str(runs_dir / "*-mid-1b"), str(one)]) == [
        one.resolve(), (runs_dir / "20250101-000000-mid-1b").resolve()]
    with pytest.raises(Exception, match="no evalh run found"):
        expand_run_paths([str(runs_dir / "nothing-*")])


def test_markdown_escapes_untrusted_names(runs_dir, tmp_path):
    run = read_result(runs_dir / "20250101-000000-big-7b")
    run.model.name = "evil|model " + HOSTILE
    hostile_dir = tmp_path / "hostile"
    hostile_dir.mkdir()
    write_result(hostile_dir, run)
    text = summary_markdown(build_comparison(load_runs([str(hostile_dir)], with_samples=False)))
    row = next(line for line in text.splitlines() if "evil" in line)
    assert "<" not in row and ">" not in row and "evil\\|model" in row
    assert len(re.findall(r"(?<!\\)\|", row)) == 2 + 5 + 1  # model, params, 5 tasks: pipes only between cells
    assert md_escape("a*b_c`d") == "a\\*b\\_c\\`d"


def test_summary_markdown_numbers(runs_dir):
    comparison = build_comparison(load_runs([str(runs_dir)]))
    lines = summary_markdown(comparison).splitlines()
    tiny = read_result(runs_dir / "20250101-000000-tiny-135m").tasks["synthetic_mc_0"].metrics["acc"]
    assert lines[2].startswith("| model | params | synthetic\\_mc\\_0 (acc) |")
    text = f"{tiny.value:.4f} [{tiny.ci_low:.4f}, {tiny.ci_high:.4f}]"
    mark = comparison.standing[("synthetic_mc_0", "acc")].get("m0")
    shown = {"best": f"**{text}**", "tied": f"≈ {text}", None: text}[mark]
    assert lines[4].startswith(f"| tiny-135m | 135M | {shown} |")
    assert [line.split(" | ")[0] for line in lines[4:7]] == ["| tiny-135m", "| mid-1b", "| big-7b"]


def test_embed_json_cannot_break_out():
    data = {"a": "</script><!--" + HOSTILE, "b": "line\u2028sep\u2029", "c": "&amp; ü"}
    text = embed_json(data)
    assert not any(ch in text for ch in "<>&\u2028\u2029")
    assert json.loads(text) == data


def test_html_is_self_contained_with_a_strict_csp(runs_dir):
    page = render_html(build_comparison(load_runs([str(runs_dir)])), title="t <b>")
    assert "<title>t &lt;b&gt;</title>" in page
    script = re.search(r"<script>(.*?)</script>", page, re.S).group(1)
    style = re.search(r"<style>(.*?)</style>", page, re.S).group(1)
    csp = html.unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1))
    assert f"script-src {csp_hash(script)};" in csp and f"style-src {csp_hash(style)};" in csp
    assert "default-src 'none'" in csp and "connect-src 'none'" in csp and "img-src 'none'" in csp
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # nothing loads from anywhere
    data = json.loads(re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)[1])
    assert [m["label"] for m in data["models"]] == ["tiny-135m", "mid-1b", "big-7b"]
    assert len(data["samples"]["synthetic_mc_0"]["items"]) == 30
    assert len(data["samples"]["synthetic_mc_0"]["out"]["m2"]) == 30


def test_junit_and_markdown_of_a_comparison(runs_dir):
    runs = {r.label: r for r in load_runs([str(runs_dir)])}
    result = compare_runs([runs["big-7b"]], [runs["tiny-135m"]], resamples=200)
    assert [r.verdict for r in result.rows] == ["no detectable change", "no detectable change", "regression",
                                                "regression", "no detectable change"] and result.exit_code == 1
    root = ET.fromstring(compare_junit(result))
    suite = root.find("testsuite")
    assert suite.get("tests") == "5" and int(suite.get("failures")) == len(result.regressions)
    names = [case.get("name") for case in suite.iter("testcase")]
    assert names[:2] == ["synthetic_mc_0.acc", "synthetic_qa_1.exact_match"]
    failure = suite.find("testcase/failure")
    assert failure.get("message").startswith("regression: bleu ")
    assert failure.text.count("\n") + 1 == 20  # the 20 worst of 27 changed items
    text = compare_markdown(result)
    assert "❌ regression" in text and "**REGRESSION**" in text and "<details>" in text


def test_compare_notes_a_results_file_its_samples_do_not_reproduce(runs_dir, tmp_path):
    import shutil

    base = shutil.copytree(runs_dir / "20250101-000000-mid-1b", tmp_path / "base")
    data = json.loads((base / "results.json").read_text())
    recorded = data["tasks"]["synthetic_translation_2"]["metrics"]["bleu"]["value"]
    data["tasks"]["synthetic_translation_2"]["metrics"]["bleu"]["value"] = recorded + 1
    (base / "results.json").write_text(json.dumps(data))
    result = compare_runs(load_runs([str(base)]), load_runs([str(runs_dir / "20250101-000000-mid-1b")]),
                          tasks=["synthetic_translation_2"], resamples=100)
    row, = result.rows
    assert row.note == (f"bleu recomputed from samples is {recorded:.4f}, the baseline results file says "
                        f"{recorded + 1:.4f}")
    assert row.result.delta == 0 and row.verdict == "no detectable change"


def test_md_escape_shows_control_and_bidi_characters_as_escapes():
    assert md_escape("log\u202e p\x1b[2J\u2066x\x7f") == "log\\\\u202e p\\\\u001b\\[2J\\\\u2066x\\\\u007f"
