"""A separately installed package adds a model backend, a metric and a task through entry points, and
`evalh run` uses all three without a line of harness/ changed (tests/fixtures/plugin)."""
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "tests" / "fixtures" / "plugin"


def _evalh(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO)]), "EVALH_CACHE": "0"}
    return subprocess.run([sys.executable, "-c", "from harness.cli import main; main()", *args],
                          capture_output=True, text=True, cwd=cwd, env=env)


def test_a_plugin_package_adds_a_backend_a_metric_and_a_task(tmp_path):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "-q",
                    "--target", str(site), str(PLUGIN)], check=True, capture_output=True)
    listed = _evalh(site, tmp_path, "list", "tasks")
    assert listed.returncode == 0 and "demo_shout" in listed.stdout, listed.stderr
    done = _evalh(site, tmp_path, "run", "-m", "shouty:loud", "-t", "demo_shout", "--output-dir", "runs")
    assert done.returncode == 0, done.stderr + done.stdout
    run_dir, = (tmp_path / "runs").iterdir()
    result = json.loads((run_dir / "results.json").read_text())
    metrics = result["tasks"]["demo_shout"]["metrics"]
    assert result["model"]["adapter"] == "shouty"
    # the model shouts every greeting back: all in capitals, and right once case is normalised (SQuAD EM)
    assert metrics["shouted"]["value"] == 1.0 and metrics["exact_match"]["value"] == 1.0
    samples = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    assert [s["response"] for s in samples] == [" HELLO THERE", " GOOD MORNING", " OK"]


def test_without_the_plugin_its_names_are_unknown(tmp_path):
    done = _evalh(tmp_path, tmp_path, "run", "-m", "fake", "-t", "demo_shout", "--output-dir", "runs")
    assert done.returncode != 0 and "demo_shout" in done.stdout + done.stderr
