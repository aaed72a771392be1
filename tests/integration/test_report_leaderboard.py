"""The leaderboard as a team shares it, in headless Chromium at a desktop (1400x1000) and a phone (390x844)
viewport: layout (no page-level horizontal scroll, sticky model column), cell -> samples, deep links, dark
and print media, CSV/JSON export, the average column, colour by metric semantics, the note for models left out
of the charts and the warning for runs over different data.

Synthetic runs (no model), one browser for the module. Screenshots and a PDF of the print rendering go under
$EVALH_TEST_ARTIFACTS (default: a temporary folder) for CI to keep. Skipped only when Chromium or selenium is
missing (.ci/run installs them).
"""
import csv
import io
import json
import os
import re
from pathlib import Path

import pytest

from harness.report.writer import write_report
from tests.fixtures.browser import chromium, missing_reason
from tests.fixtures.synthetic_runs import write_synthetic_runs

pytestmark = pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason()))

PAYLOAD = '<img src=x onerror="window.pwned=1">'
NO_SIZE = "=mystery" + PAYLOAD  # no parameter count recorded; its name is hostile to pages and spreadsheets
MODELS = {"tiny-135m": 134_515_008, "mid-1.7b": 1_711_376_384, "big-7b": 7_241_732_096, NO_SIZE: 3_000_000_000}
VIEWPORTS = [(1400, 1000), (390, 844)]
LIMITED = "20250101-000000-big-7b"  # this run is rewritten as if run with --limit 10
TRANSLATION = "synthetic_translation_2"


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def limit_run(run_dir: Path, limit: int) -> None:
    """Make a run look as if it was run with --limit: fewer rows used, another data fingerprint per task."""
    def change(data):
        data["config"]["limit"] = limit
        for task in data["tasks"].values():
            task["dataset"]["rows_used"] = limit
            task["dataset"]["fingerprint"] = "limited-" + task["dataset"]["fingerprint"][:8]
    edit_json(run_dir / "results.json", change)


def bleu_8_sample(run_dir: Path) -> str:
    """The first translation item becomes an untranslated copy scored BLEU 8; returns its id."""
    lines = (run_dir / "samples.jsonl").read_text().splitlines()
    for i, line in enumerate(lines):
        sample = json.loads(line)
        if sample["task"] == TRANSLATION:
            sample["scores"]["bleu"] = 8.0
            lines[i] = json.dumps(sample)
            break
    (run_dir / "samples.jsonl").write_text("\n".join(lines) + "\n")
    return sample["sample_id"]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("leaderboard")
    write_synthetic_runs(root / "runs", models=MODELS, tasks=10, samples=12)
    edit_json(root / "runs" / f"20250101-000000-{NO_SIZE}" / "results.json",
              lambda d: d["model"].update(parameters=None, size_label=None))
    limit_run(root / "runs" / LIMITED, 10)
    bleu_8_sample(root / "runs" / "20250101-000000-tiny-135m")
    write_report([str(root / "runs")], root / "report", plots=False)
    return root / "report" / "leaderboard.html"


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("EVALH_TEST_ARTIFACTS") or tmp_path_factory.mktemp("artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    downloads = tmp_path_factory.mktemp("downloads")
    with chromium() as driver:
        driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
        driver.downloads = downloads
        yield driver


def js(driver, code: str):
    return driver.execute_script(code)


def viewport(driver, width: int, height: int, *, media: str = "", dark: bool = False) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {
        "media": media, "features": [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]})


def load(driver, report: Path, width: int, height: int, hash_: str = "") -> None:
    """Open the report afresh (a new document, even when only the hash differs) at this viewport."""
    from selenium.webdriver.support.ui import WebDriverWait

    viewport(driver, width, height)
    driver.get("about:blank")
    driver.get(report.resolve().as_uri() + hash_)
    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return window.evalhPainted !== undefined"))


def page_overflow(driver) -> list[int]:
    return js(driver, "return [document.scrollingElement.scrollWidth, window.innerWidth]")


def luminance(driver, selector: str) -> float:
    """Relative brightness (0 black .. 1 white) of an element's computed background colour."""
    rgb = js(driver, f"return getComputedStyle(document.querySelector({json.dumps(selector)})).backgroundColor")
    r, g, b = (float(v) for v in re.findall(r"[0-9.]+", rgb)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


@pytest.mark.parametrize("width,height", VIEWPORTS)
def test_layout_sticky_column_and_cell_to_samples(browser, report, artifacts, width, height):
    load(browser, report, width, height)
    scroll_width, inner = page_overflow(browser)
    assert inner == width and scroll_width <= inner  # nothing widens the page, the run metadata included
    box = "document.querySelector('#leaderboard .table-wrap')"
    first = "document.querySelector('#board tbody tr td.model')"
    js(browser, f"{box}.scrollIntoView()")  # for the screenshot; the page has no sideways scroll to change
    before = js(browser, f"return [{first}.getBoundingClientRect().left, {box}.scrollWidth > {box}.clientWidth]")
    assert before[1]  # this many columns overflow the box at both widths, so the scroll below is real
    js(browser, f"{box}.scrollLeft = 400")
    after = js(browser, f"return [{first}.getBoundingClientRect().left, {box}.scrollLeft]")
    assert after[1] > 0 and after[0] == before[0]  # the box scrolled; the model column stayed
    assert page_overflow(browser)[0] <= width
    browser.save_screenshot(str(artifacts / f"leaderboard-{width}x{height}-scrolled.png"))
    js(browser, f"{box}.scrollLeft = 0")

    # a click on a cell opens that task's samples, with that model's outputs marked, and says so in the URL
    js(browser, f"""[...document.querySelectorAll('#board tbody tr')].find(r => r.cells[0].textContent === 'mid-1.7b')
        .querySelector('td[data-task="{TRANSLATION}"][data-metric="bleu"]').click()""")
    assert js(browser, "return document.getElementById('task-select').value") == TRANSLATION
    assert js(browser, "return document.querySelectorAll('#sample-list .sample-card').length") == 12
    marked = js(browser, "return [...document.querySelectorAll('#sample-list .output.selected .who')]"
                         ".map(e => e.textContent)")
    assert marked == ["mid-1.7b"] * 12
    assert js(browser, "return decodeURIComponent(location.hash)") == f"#task={TRANSLATION}&metric=bleu&model=mid-1.7b"
    top = js(browser, "return document.getElementById('sample-list').getBoundingClientRect().top")
    assert 0 <= top < height  # scrolled to the samples
    assert page_overflow(browser)[0] <= width
    browser.save_screenshot(str(artifacts / f"leaderboard-{width}x{height}-samples.png"))


@pytest.mark.parametrize("width,height", VIEWPORTS)
def test_dark_and_print_media(browser, report, artifacts, width, height):
    load(browser, report, width, height)
    light = luminance(browser, "body")
    viewport(browser, width, height, dark=True)
    assert light > 0.9 and luminance(browser, "body") < 0.2
    assert luminance(browser, "#board tbody td.model") < 0.2  # the sticky cell covers what scrolls under it
    assert luminance(browser, "#board td.best") < 0.35  # highlights re-coloured too, not light patches
    assert page_overflow(browser)[0] <= width
    browser.save_screenshot(str(artifacts / f"leaderboard-{width}x{height}-dark.png"))

    viewport(browser, width, height, media="print")
    wrap = js(browser, "const w = document.querySelector('#leaderboard .table-wrap'); "
                       "return [w.scrollWidth, w.clientWidth, getComputedStyle(w).overflowX]")
    assert wrap[0] <= wrap[1] + 1 and wrap[2] == "visible"  # the whole table on paper, nothing cut off
    hidden = js(browser, "return ['nav', '#samples .controls', '#board-tools']"
                         ".map(s => getComputedStyle(document.querySelector(s)).display)")
    assert hidden == ["none"] * 3
    assert luminance(browser, "body") > 0.9
    browser.save_screenshot(str(artifacts / f"leaderboard-{width}x{height}-print.png"))
    if width == VIEWPORTS[0][0]:
        import base64
        pdf = browser.execute_cdp_cmd("Page.printToPDF", {"landscape": True, "printBackground": True})
        (artifacts / "leaderboard-print.pdf").write_bytes(base64.b64decode(pdf["data"]))


def test_deep_link_opens_the_cell(browser, report):
    load(browser, report, 1400, 1000, "#task=synthetic_qa_1&metric=f1&model=tiny-135m")
    assert js(browser, "return document.getElementById('task-select').value") == "synthetic_qa_1"
    selected = js(browser, "return [...document.querySelectorAll('#board td.selected')].map(td => "
                           "[td.parentNode.cells[0].textContent, td.dataset.task, td.dataset.metric])")
    assert selected == [["tiny-135m", "synthetic_qa_1", "f1"]]
    assert js(browser, "return document.querySelectorAll('#sample-list .output.selected').length") == 12
    # a link followed inside the open page (hashchange), down to one item
    js(browser, "location.hash = '#task=synthetic_mc_0&model=big-7b&item=synthetic_mc_0-0003'")
    from selenium.webdriver.support.ui import WebDriverWait
    WebDriverWait(browser, 5).until(lambda d: d.execute_script(
        "return document.getElementById('task-select').value === 'synthetic_mc_0'"))
    cards = js(browser, "return [...document.querySelectorAll('#sample-list .sample-card')].map(c => c.dataset.id)")
    assert cards == ["synthetic_mc_0-0003"]
    # an unknown task or model in the hash is ignored, and no text from it reaches the page
    load(browser, report, 1400, 1000, "#task=" + PAYLOAD + "&model=" + PAYLOAD)
    assert js(browser, "return [typeof window.pwned, document.querySelectorAll('img').length]") == ["undefined", 0]
    assert js(browser, "return document.querySelectorAll('#board td.selected').length") == 0


def test_csv_and_json_export_equal_the_table(browser, report):
    load(browser, report, 1400, 1000)
    js(browser, "document.querySelector('#board th[data-col=\"0\"]').click()")  # sorted by a column: export follows
    table = js(browser, """return [...document.querySelectorAll('#board tr')].map(r => [...r.cells].map(c =>
        c.querySelector('.task') ? c.querySelector('.task').textContent + ' ' + c.querySelector('.metric').dataset.metric
        : (c.firstChild ? c.firstChild.textContent : '')))""")
    assert [r[0] for r in table[1:]] == ["tiny-135m", "big-7b", NO_SIZE, "mid-1.7b"]  # not the size order
    for kind in ("csv", "json"):
        for old in browser.downloads.glob("*"):
            old.unlink()
        js(browser, f"document.getElementById('export-{kind}').click()")
        from selenium.webdriver.support.ui import WebDriverWait
        WebDriverWait(browser, 10).until(lambda d: [p for p in browser.downloads.glob(f"*.{kind}")])
        path, = browser.downloads.glob(f"*.{kind}")
        if kind == "csv":
            rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
        else:
            data = json.loads(path.read_text(encoding="utf-8"))
            rows = [data["columns"]] + data["rows"]
        header, body = rows[0], rows[1:]
        shown = [c for c in header if not c.endswith((" ci_low", " ci_high", " n"))]
        assert shown == table[0]
        # same models, same order; in the CSV a name that a spreadsheet would run as a formula starts with '
        guarded = ["'" + r[0] if kind == "csv" and r[0].startswith("=") else r[0] for r in table[1:]]
        assert [r[0] for r in body] == guarded and ("'" + NO_SIZE in guarded) == (kind == "csv")
        for row, seen in zip(body, table[1:]):
            values = [v for c, v in zip(header, row) if not c.endswith((" ci_low", " ci_high", " n"))]
            for name, v, text in zip(shown[2:], values[2:], seen[2:]):
                if v in ("", None):
                    assert text == "–", name
                else:
                    x = float(v)
                    assert (f"{x:.4f}" if abs(x) < 2 else f"{x:.2f}") == text, (name, v, text)
    assert js(browser, "return typeof window.pwned") == "undefined"


def test_average_column_notes_colours_and_warnings(browser, report):
    load(browser, report, 1400, 1000)
    note = js(browser, "return document.getElementById('average-note').textContent")
    assert "acc" in note and "bleu" in note and "pct_stereotype" in note  # averaged, and skipped with the reason
    averages = js(browser, "return [...document.querySelectorAll('#board tbody tr')].map(r => "
                           "[r.cells[0].textContent, r.querySelector('td.average').textContent])")
    assert dict(averages)["tiny-135m"] != "–" and len(averages) == 4
    charts = js(browser, "return document.getElementById('chart-note').textContent")
    assert NO_SIZE in charts and "parameter count" in charts
    warning = js(browser, "const w = document.getElementById('data-warnings'); "
                          "return [w.textContent, w.getBoundingClientRect().height]")
    assert "--limit" in warning[0] and "big-7b" in warning[0] and "fingerprint" in warning[0] and warning[1] > 0
    # the BLEU 8 copy is coloured bad, not good (BLEU's range is 0-100); accuracy 1 good, 0 bad
    js(browser, f"""const s = document.getElementById('task-select'); s.value = '{TRANSLATION}';
        s.dispatchEvent(new Event('change'))""")
    grades = js(browser, """return [...document.querySelectorAll('#sample-list .sample-card')[0]
        .querySelectorAll('.output')].map(o => [o.querySelector('.who').textContent,
        [...o.querySelectorAll('.scores span')].map(s => [s.textContent, s.className])])""")
    tiny = dict(grades)["tiny-135m"]
    assert tiny[0][0].strip("\u2068\u2069 ").replace("\u2069", "") == "bleu 8.00" and tiny[0][1] == "score-bad"
    js(browser, """const s = document.getElementById('task-select'); s.value = 'synthetic_mc_0';
        s.dispatchEvent(new Event('change'))""")
    acc = js(browser, "return [...document.querySelectorAll('#sample-list .scores span')]"
                      ".filter(s => s.textContent.startsWith('\u2068acc\u2069')).map(s => [s.textContent, s.className])")
    assert {(text.split()[-1], cls) for text, cls in acc} == {("1.0000", "score-good"), ("0.0000", "score-bad")}
    # a bias card has no empty prompt box
    js(browser, """const s = document.getElementById('task-select'); s.value = 'synthetic_bias_4';
        s.dispatchEvent(new Event('change'))""")
    assert js(browser, "return [...document.querySelectorAll('#sample-list pre.prompt')]"
                       ".filter(p => !p.textContent).length") == 0
    assert js(browser, "return [typeof window.pwned, document.querySelectorAll('img').length]") == ["undefined", 0]
