"""The nightly workflow's commands, exactly as written in .github/workflows/nightly.yml, with the fake model.

Every step with an `id` runs its `run:` script verbatim under bash (as GitHub's `shell: bash` does), with
the workflow's env except EVALH_MODELS, which points at the knowing fake instead of the real models.
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


def run_step(workflow: dict, step_id: str, cwd: Path, models: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **{k: str(v) for k, v in workflow["env"].items()}, "EVALH_MODELS": models,
           "EVALH_CACHE_DIR": str(cwd / "cache"), "GITHUB_STEP_SUMMARY": str(cwd / "step-summary.md"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    script = steps(workflow)[step_id]["run"]
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_workflow_shape(workflow):
    assert "schedule" in workflow[True] and workflow["defaults"]["run"]["shell"] == "bash"  # yaml: `on` -> True
    assert workflow["env"]["EVALH_MODELS"] == "smollm2-135m,gemma3-270m"
    job, = workflow["jobs"].values()
    uses = [s.get("uses", "") for s in job["steps"]]
    assert any(u.startswith("actions/upload-artifact") for u in uses)
    assert "bash setup.sh" in job["steps"][2]["run"]
    assert list(steps(workflow)) == ["evals", "compare", "report", "summary", "rebaseline"]


def test_nightly_commands_with_the_fake(workflow, tmp_path):
    answers = write_answers(tmp_path / "answers.json")
    good, bad = f"fake:answers={answers}", f"fake:answers={answers};wrong=0.2"

    def step(step_id: str, models: str = good) -> subprocess.CompletedProcess:
        return run_step(workflow, step_id, tmp_path, models)

    # first night: no baseline yet -> run, report, summary, store the baseline
    assert step("evals").returncode == 0
    assert step("report").returncode == 0
    assert step("rebaseline").returncode == 0 and len(list((tmp_path / "nightly/baseline").iterdir())) == 1
    # a later night, same model: compare passes
    for night, models, expected in (("same", good, 0), ("degraded", bad, 1)):
        for stale in ("nightly/runs", "nightly/report"):
            subprocess.run(["rm", "-rf", str(tmp_path / stale)], check=True)
        (tmp_path / "step-summary.md").unlink(missing_ok=True)
        assert step("evals", models).returncode == 0
        compared = step("compare", models)
        assert compared.returncode == expected, (night, compared.stdout, compared.stderr)
        assert step("report", models).returncode == 0
        assert step("summary", models).returncode == 0
        summary = (tmp_path / "step-summary.md").read_text()
        assert "## evalh nightly" in summary and "| model | params |" in summary
        html = (tmp_path / "nightly/report/leaderboard.html").read_text()
        assert "Content-Security-Policy" in html and 'id="report-data"' in html
    assert "❌ regression" in summary and "**REGRESSION**" in summary
    listed = [line.split(":")[0].strip() for line in compared.stdout.splitlines() if line.startswith("  mc-")]
    assert sorted(listed) == planted(0.2)
    assert '<failure message="regression: acc 1.0000 -&gt; ' in (tmp_path / "nightly/compare.xml").read_text()
