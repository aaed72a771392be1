"""Must-show 1: a report over two real models of different sizes (SmolLM2-135M, Gemma-3-270M) on the same
tasks, opened in headless Chromium: table, size order, sorting, drill-down with both models side by side,
chart (no trend line for two sizes), bias panel, and an XSS payload from a third run staying inert.

Slow (two real models, 16 items of two tasks each; ~1-2 minutes on 2 CPU cores once the GGUF files are
converted). Skipped when Chromium/selenium or the Gemma packages are missing.
"""
import json
import re
from pathlib import Path

import pytest

from harness.models.packaged import PACKAGED, is_installed
from tests.fixtures.browser import chromium, missing_reason, open_report
from harness.results import read_result
from tests.integration.test_report_html import (assert_payload_inert, click_header, evalh, hostile_task, js,
                                                row_models, screenshot_path, show_task)

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason())),
              pytest.mark.skipif(not is_installed(PACKAGED["gemma3-270m"]),
                                 reason=f"gemma3-270m not installed: {PACKAGED['gemma3-270m'].install_hint}")]
TASKS = "starter_mc,starter_bias_pairs"


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    root = tmp_path_factory.mktemp("real")
    evalh("run", "-m", "smollm2-135m", "-m", "gemma3-270m", "-t", TASKS, "--limit", "16", "--dtype", "bfloat16",
          "--output-dir", str(root / "runs"))
    evalh("run", "-m", "fake", "-t", "hostile_echo", "--include-path", str(hostile_task(root / "tasks")),
          "--output-dir", str(root / "runs"))
    runs = {read_result(d).model.name: d for d in (root / "runs").iterdir()}
    out = evalh("report", str(root / "runs"), "-o", str(root / "report"))
    assert "3 model(s), 3 task(s)" in out
    return root / "report", runs


def test_real_models_report(report, tmp_path):
    folder, runs = report
    small, big = read_result(runs["smollm2-135m"]), read_result(runs["gemma3-270m"])
    assert small.model.parameters == 134_515_008 and big.model.parameters == 268_098_176
    acc = [r.tasks["starter_mc"].metrics["acc"].value for r in (small, big)]
    summary = (folder / "summary.md").read_text()
    assert "> --limit differs between runs: smollm2-135m: 16, gemma3-270m: 16, fake: none" in summary
    rows = [line for line in summary.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert re.match(rf"\| smollm2-135m \| 135M \| (\*\*|≈ )?{acc[0]:.4f} \[", rows[0]), rows[0]
    assert re.match(rf"\| gemma3-270m \| 268M \| (\*\*|≈ )?{acc[1]:.4f} \[", rows[1]), rows[1]
    assert sorted(p.name for p in (folder / "plots").iterdir())[:2] == ["starter_bias_pairs.pct_stereotype.png",
                                                                        "starter_bias_pairs.pct_stereotype.svg"]
    with chromium() as driver:
        ms = open_report(driver, folder / "leaderboard.html")
        assert ms < 10_000
        assert row_models(driver) == ["smollm2-135m", "gemma3-270m", "fake"]  # by size; unknown size last
        params = js(driver, "return [...document.querySelectorAll('#board tbody tr')].map(r => r.cells[1].textContent)")
        assert params == ["135M", "268M", "–"]
        shown = js(driver, "return [...document.querySelectorAll('#board tbody tr')].slice(0, 2).map(r => r.querySelector('td[data-task=starter_mc][data-metric=acc]').firstChild.textContent)")
        assert shown == [f"{a:.4f}" for a in acc]
        click_header(driver, "starter_mc", "acc")
        best_first = ["smollm2-135m", "gemma3-270m"] if acc[0] >= acc[1] else ["gemma3-270m", "smollm2-135m"]
        assert row_models(driver)[:2] == best_first
        chart = "#chart-grid .chart[data-task='starter_mc']"
        assert js(driver, f"return document.querySelectorAll(\"{chart} circle.point\").length") == 2
        # two sizes: a line through two points says nothing, so there is none (three sizes are the least)
        assert js(driver, f"return document.querySelectorAll(\"{chart} line.trend\").length") == 0
        assert "trend needs three model sizes" in js(driver, f"return document.querySelector(\"{chart}\").textContent")
        ticks = js(driver, f"return [...document.querySelectorAll(\"{chart} text\")].map(t => t.textContent)")
        assert "100M" in ticks and "1B" in ticks and "smollm2-135m" in ticks and "gemma3-270m" in ticks
        assert js(driver, "return document.querySelectorAll('#bias-panel table tr').length") == 3
        assert show_task(driver, "starter_mc") == 16
        cards = js(driver, "return [...document.querySelectorAll('#sample-list .sample-card')].map(c => "
                           "[c.querySelectorAll('.output').length, c.querySelectorAll('table.choices tr').length])")
        assert cards[0] == [2, 5]  # both models side by side; 4 choices with a log-prob column each
        lp = js(driver, "return [...document.querySelectorAll('#sample-list table.choices')][0].rows[1].cells[1].textContent")
        first = json.loads((runs["smollm2-135m"] / "samples.jsonl").read_text().splitlines()[0])
        assert abs(float(lp) - first['logprobs'][0]) <= 0.001  # the payload keeps 4 decimals, the card shows 3
        assert show_task(driver, "starter_mc", "capital of France") == 1
        driver.set_window_size(1400, 1000)
        js(driver, "document.getElementById('charts').scrollIntoView()")
        driver.save_screenshot(str(screenshot_path(tmp_path, "real-models-charts.png")))
        assert_payload_inert(driver, models=1)
        js(driver, "document.getElementById('samples').scrollIntoView()")
        driver.save_screenshot(str(screenshot_path(tmp_path, "real-models-samples.png")))
