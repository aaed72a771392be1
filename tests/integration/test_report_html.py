"""leaderboard.html in headless Chromium: table, sorting, drill-down, charts, and untrusted text staying text.

The runs come from the real pipeline (`evalh run` with the fake model), including a task whose data, and so
the fake's output, is an XSS payload. Skipped only when Chromium or selenium is missing (.ci/run installs them).
"""
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import main
from tests.fixtures.browser import chromium, missing_reason, open_report

PAYLOAD = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'
pytestmark = pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason()))


def evalh(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def hostile_task(folder: Path) -> Path:
    """A generation task whose rows (ids, prompts, targets) carry the payload; the fake echoes it back."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"id": f"x{i}" + (PAYLOAD if i == 0 else ""), "text": PAYLOAD if i < 2 else f"plain text {i}"}
            for i in range(4)]
    (folder / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "hostile.yaml").write_text(
        'name: hostile_echo\nversion: 1\ngroups: [security]\ndataset:\n  files: {test: rows.jsonl}\n  split: test\n'
        'doc_id: id\noutput_type: generate\nprompt: "Text: {{text}}\\nAnswer:"\ntarget: "{{text}}"\n'
        'generation: {until: ["\\n"], max_tokens: 64}\nmetrics: [exact_match]\n')
    return folder


def screenshot_path(tmp: Path, name: str) -> Path:
    """Under EVALH_TEST_ARTIFACTS (or EVALH_SCREENSHOT_DIR) when set, for CI to keep, else the test's
    temporary folder."""
    folder = Path(os.environ.get("EVALH_TEST_ARTIFACTS") or os.environ.get("EVALH_SCREENSHOT_DIR") or tmp)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def js(driver, code: str):
    return driver.execute_script(code)


def row_models(driver) -> list[str]:
    return js(driver, "return [...document.querySelectorAll('#board tbody tr')].map(r => r.cells[0].textContent)")


def click_header(driver, task: str, metric: str) -> None:
    js(driver, f"""[...document.querySelectorAll('#board th[data-col]')].find(th =>
        th.querySelector('.task') && th.querySelector('.task').textContent === {json.dumps(task)} &&
        th.querySelector('.metric').textContent.startsWith({json.dumps(metric)})).click()""")


def show_task(driver, task: str, search: str = "") -> int:
    """Pick a task in the drill-down, type a search; returns the number of sample cards shown."""
    js(driver, f"""const s = document.getElementById('task-select'); s.value = {json.dumps(task)};
        s.dispatchEvent(new Event('change'));
        const q = document.getElementById('sample-search'); q.value = {json.dumps(search)};
        q.dispatchEvent(new Event('input'));""")
    return js(driver, "return document.querySelectorAll('#sample-list .sample-card').length")


def assert_payload_inert(driver, models: int) -> None:
    """The payload shows as text wherever it appears, and none of it ran or became an element."""
    assert js(driver, "return typeof window.pwned") == "undefined"
    assert js(driver, "return document.querySelectorAll('img').length") == 0
    assert js(driver, "return document.scripts.length") == 2  # the JSON block and the page's own script
    assert show_task(driver, "hostile_echo", "pwned=2") == 2
    responses = js(driver, "return [...document.querySelectorAll('#sample-list .response')].map(p => p.textContent)")
    assert responses == [" " + PAYLOAD] * (2 * models)  # two items, each model's output side by side
    prompts = js(driver, "return [...document.querySelectorAll('#sample-list .prompt')].map(p => p.textContent)")
    assert prompts[0] == f"Text: {PAYLOAD}\nAnswer:"
    assert js(driver, "return document.querySelector('#sample-list .sample-card .head').firstChild.textContent") \
        == "x0" + PAYLOAD
    assert js(driver, "return typeof window.pwned") == "undefined"


@pytest.fixture(scope="module")
def fake_report(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("html")
    tasks = hostile_task(root / "tasks")
    for model in ("fake", "fake:seed=3"):
        evalh("run", "-m", model, "-t", "starter_mc,starter_bias_pairs,hostile_echo", "--include-path", str(tasks),
              "--output-dir", str(root / "runs"))
    evalh("report", str(root / "runs" / "*"), "-o", str(root / "report"), "--title", PAYLOAD, "--no-plots")
    return root / "report" / "leaderboard.html"


def test_fake_report_in_chromium(fake_report, tmp_path):
    with chromium() as driver:
        open_report(driver, fake_report)
        assert driver.title == PAYLOAD and js(driver, "return document.getElementById('title').textContent") == PAYLOAD
        assert row_models(driver) == ["fake", "fake:seed=3"]
        columns = js(driver, "return [...document.querySelectorAll('#board th[data-col]')].map(th => th.textContent)")
        assert columns[:4] == ["Params", "Averagescaled 0–1", "starter_mcacc", "starter_mcacc_norm"]
        cells = js(driver, "return [...document.querySelectorAll('#board tbody tr')].map(r => r.cells[3].firstChild.textContent)")
        assert cells == ["0.2500", "0.2292"]  # starter_mc acc of fake and fake:seed=3 (see test_run_fake)
        click_header(driver, "starter_mc", "acc")   # first click: best first
        assert row_models(driver) == ["fake", "fake:seed=3"]
        click_header(driver, "starter_mc", "acc")   # again: reversed
        assert row_models(driver) == ["fake:seed=3", "fake"]
        assert js(driver, "return document.querySelectorAll('#bias-panel table tr').length") == 3
        assert show_task(driver, "starter_mc") == 25 and show_task(driver, "starter_mc", "capital of france") == 1
        assert js(driver, "return document.querySelectorAll('#sample-list .output').length") == 2
        assert_payload_inert(driver, models=2)
        driver.save_screenshot(str(screenshot_path(tmp_path, "fake-report.png")))
        assert js(driver, "return performance.getEntriesByType('resource').length") == 0  # nothing loaded


def test_benchmark_size_and_render_budget():
    """Must-show 3: benchmarks/report_size.py at full scale (4 models x 10 tasks x 200 samples) stays in budget."""
    import re
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "report_size.py"
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    size = float(re.search(r"leaderboard.html size: ([0-9.]+) MB", done.stdout).group(1))
    cold = float(re.search(r"first, cold load ([0-9.]+) s", done.stdout).group(1))
    assert 0.5 < size < 5.0 and cold < 2.0


RLO = "\u202e"


def test_bidi_overrides_in_data_stay_in_their_own_text(tmp_path):
    """A model name ending in RIGHT-TO-LEFT OVERRIDE must not reverse the text beside it ("log p")."""
    evalh("run", "-m", "fake", "-t", "starter_mc", "--limit", "3", "--output-dir", str(tmp_path / "runs"))
    run_dir, = (tmp_path / "runs").iterdir()
    data = json.loads((run_dir / "results.json").read_text())
    data["model"]["name"] = "evil" + RLO
    (run_dir / "results.json").write_text(json.dumps(data))
    evalh("report", str(run_dir), "-o", str(tmp_path / "report"), "--no-plots")
    summary = (tmp_path / "report" / "summary.md").read_text()
    assert RLO not in summary and "evil\\\\u202e" in summary
    with chromium() as driver:
        open_report(driver, tmp_path / "report" / "leaderboard.html")
        show_task(driver, "starter_mc")
        th = js(driver, """const th = [...document.querySelectorAll('#sample-list table.choices th')]
            .find(t => t.textContent.endsWith(' log p'));
            return [th.firstChild.nodeName, th.firstChild.textContent, th.lastChild.nodeType, th.lastChild.textContent]""")
        assert th == ["BDI", "evil" + RLO, 3, " log p"]
        label = js(driver, "return document.querySelector('#board tbody tr').cells[0].querySelector('bdi').textContent")
        assert label.startswith("evil" + RLO)
        styles = js(driver, """return ['#board td', '#board th', '#sample-list pre', 'bdi']
            .map(s => getComputedStyle(document.querySelector(s)).unicodeBidi)""")
        assert styles == ["isolate"] * 4
