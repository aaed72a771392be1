"""The nightly workflow's commands, exactly as written in .github/workflows/nightly.yml, with the fake model.

Every step with an `id` runs its `run:` script verbatim under bash (as GitHub's `shell: bash` does), with
the workflow's env except EVALH_MODELS, which points at the knowing fake instead of the real models, and
NIGHTLY_STORE, a local bare git repository standing in for this repository's evalh-nightly branch.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.integration.test_report_compare import planted, write_answers

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "nightly.yml"


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def steps(workflow: dict) -> dict[str, dict]:
    job, = workflow["jobs"].values()
    return {step["id"]: step for step in job["steps"] if "id" in step}


def run_step(workflow: dict, step_id: str, cwd: Path, models: str, **extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **{k: str(v) for k, v in workflow["env"].items()}, "EVALH_MODELS": models,
           "EVALH_CACHE_DIR": str(cwd / "cache"), "GITHUB_STEP_SUMMARY": str(cwd / "step-summary.md"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "NIGHTLY_STORE": str(cwd / "store.git"), "REBASELINE": "0", **extra}
    script = steps(workflow)[step_id]["run"]
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_workflow_shape(workflow):
    assert "schedule" in workflow[True] and workflow["defaults"]["run"]["shell"] == "bash"  # yaml: `on` -> True
    assert workflow["env"]["EVALH_MODELS"] == "smollm2-135m,gemma3-270m"
    job, = workflow["jobs"].values()
    uses = [s.get("uses", "") for s in job["steps"]]
    assert any(u.startswith("actions/upload-artifact") for u in uses)
    assert any(u.startswith("mikepenz/action-junit-report") for u in uses)  # JUnit shown as test results
    assert job["steps"][1]["with"]["cache"] == "pip"
    assert "bash setup.sh" in job["steps"][2]["run"]
    assert job["steps"][2]["env"]["EVALH_TORCH_INDEX_URL"] == "https://download.pytorch.org/whl/cpu"
    assert list(steps(workflow)) == ["fetch", "evals", "compare", "report", "summary", "store"]
    assert "steps.fetch.outcome == 'success'" in steps(workflow)["store"]["if"]  # no baseline: nothing stored


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout


def test_nightly_commands_with_the_fake(workflow, tmp_path):
    answers = write_answers(tmp_path / "answers.json")
    good, bad = f"fake:answers={answers}", f"fake:answers={answers};wrong=0.2"
    _git("init", "--quiet", "--bare", str(tmp_path / "store.git"))

    def step(step_id: str, models: str = good, **extra: str) -> subprocess.CompletedProcess:
        return run_step(workflow, step_id, tmp_path, models, **extra)

    def new_night() -> None:
        for stale in ("nightly", "step-summary.md"):
            subprocess.run(["rm", "-rf", str(tmp_path / stale)], check=True)

    # no baseline in the store: the job fails loudly, and a scheduled night never makes itself the baseline
    missing = step("fetch")
    assert missing.returncode == 1 and "::error::no branch evalh-nightly" in missing.stdout
    # a manual run with rebaseline: run, report, store the night and name it the baseline
    new_night()
    night1 = {"REBASELINE": "1", "NIGHTLY_DATE": "2026-01-01"}
    assert step("fetch", **night1).returncode == 0
    assert step("evals", **night1).returncode == 0
    assert step("report", **night1).returncode == 0
    assert step("store", **night1).returncode == 0, step("store", **night1).stderr
    assert _git("-C", str(tmp_path / "store.git"), "show", "evalh-nightly:BASELINE").strip() == "2026-01-01"
    # later nights fetch that baseline from the store: the same model passes, a degraded one fails
    for day, (night, models, expected) in enumerate((("same", good, 0), ("degraded", bad, 1)), start=2):
        new_night()
        date = {"NIGHTLY_DATE": f"2026-01-0{day}"}
        fetched = step("fetch", **date)
        assert fetched.returncode == 0 and "baseline: runs of 2026-01-01" in fetched.stdout, fetched.stdout
        assert step("evals", models, **date).returncode == 0
        compared = step("compare", models, **date)
        assert compared.returncode == expected, (night, compared.stdout, compared.stderr)
        assert step("report", models, **date).returncode == 0
        assert step("summary", models, **date).returncode == 0
        assert step("store", models, **date).returncode == 0
        summary = (tmp_path / "step-summary.md").read_text()
        assert "## evalh nightly" in summary and "| model | params |" in summary
        html = (tmp_path / "nightly/report/leaderboard.html").read_text()
        assert "Content-Security-Policy" in html and 'id="report-data"' in html
    assert "❌ regression" in summary and "**REGRESSION**" in summary
    listed = [line.split(":")[0].strip() for line in compared.stdout.splitlines() if line.startswith("  mc-")]
    assert sorted(listed) == planted(0.2)
    assert '<failure message="regression: acc 1.0000 -&gt; ' in (tmp_path / "nightly/compare.xml").read_text()
    # the trend across nights, from the stored runs: the good model ran on the first two nights (the
    # degraded night is another model spelling, so it starts a line of its own)
    assert "## Trend across runs" in summary and f"### {good}" in summary
    trend_rows = [line for line in summary.splitlines() if line.startswith("| starter_mc | acc |")]
    assert len(trend_rows) == 1 and trend_rows[0].count("|") == 2 + 2 + 1
    assert "2 runs)" in (tmp_path / "nightly/report/trend.html").read_text()
    assert _git("-C", str(tmp_path / "store.git"), "ls-tree", "--name-only", "evalh-nightly:runs").split() == [
        "2026-01-01", "2026-01-02", "2026-01-03"]
    # a BASELINE that names a night with no runs fails loudly too
    _git("-C", str(tmp_path / "nightly/store"), "rm", "--quiet", "-r", "runs/2026-01-01")
    _git("-C", str(tmp_path / "nightly/store"), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "lost")
    _git("-C", str(tmp_path / "nightly/store"), "push", "--quiet", "origin", "HEAD:evalh-nightly")
    new_night()
    lost = step("fetch")
    assert lost.returncode == 1 and "::error::the baseline '2026-01-01'" in lost.stdout
