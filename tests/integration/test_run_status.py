"""results.json says whether a run is complete, incomplete or failed; reports act on it; a run that has no
task to run writes nothing; every error is printed once."""
from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from harness.cli import main
from harness.config import RunConfig
from harness.evaluation import evaluate
from harness.models.fake import FakeModel
from harness.results import read_result


def run(tmp_path: Path, *args: str):
    return CliRunner().invoke(main, ["run", "--output-dir", str(tmp_path / "runs"), "-m", "fake", *args])


def only_run(tmp_path: Path) -> Path:
    run_dir, = (tmp_path / "runs").iterdir()
    return run_dir


def report(tmp_path: Path, *args: str):
    return CliRunner().invoke(main, ["report", *args, "-o", str(tmp_path / "report"), "--no-plots"])


def test_a_finished_run_is_complete_even_with_a_failed_task(tmp_path):
    result = run(tmp_path, "-t", "starter_mc,nosuchtask")
    assert result.exit_code == 2
    assert read_result(only_run(tmp_path)).status == "complete"


def test_a_stopped_run_is_incomplete_and_the_report_marks_it(tmp_path, monkeypatch):
    def interrupted(self, requests, progress=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(FakeModel, "generate", interrupted)
    run(tmp_path, "-t", "starter_mc,starter_extractive_qa")
    done = read_result(only_run(tmp_path))
    assert done.status == "incomplete" and set(done.tasks) == {"starter_mc"}
    shown = report(tmp_path, str(only_run(tmp_path)))
    assert shown.exit_code == 0, shown.output
    assert f"incomplete run(s), stopped before their end: {only_run(tmp_path)}" in shown.output
    assert r"fake \[incomplete\]" in (tmp_path / "report" / "summary.md").read_text()


def test_a_run_where_every_task_failed_is_refused_by_report_unless_asked(tmp_path, task_dir):
    (task_dir / "broken.yaml").write_text('name: broken\ndataset: {files: {test: none.jsonl}}\n'
                                          'output_type: generate\nprompt: "{{q}}"\ntarget: "{{a}}"\nmetrics: [exact_match]\n')
    assert run(tmp_path, "-t", "broken", "--include-path", str(task_dir)).exit_code == 2
    assert read_result(only_run(tmp_path)).status == "failed"
    refused = report(tmp_path, str(only_run(tmp_path)))
    assert refused.exit_code == 2
    assert "the run failed (no task has results" in refused.output and "--include-failed" in refused.output
    assert report(tmp_path, str(only_run(tmp_path)), "--include-failed").exit_code == 0


def test_no_model_is_loaded_and_no_folder_written_when_every_task_is_unknown(tmp_path):
    loaded = []
    config = RunConfig(models=["fake"], tasks=["nosuch", "neither"], output_dir=str(tmp_path / "runs"), cache=False)
    out = evaluate(config, load=lambda name, options: loaded.append(name) or FakeModel())
    assert loaded == [] and out.runs == [] and [e.name for e in out.errors] == ["nosuch", "neither"]
    assert not (tmp_path / "runs").exists()
    result = run(tmp_path, "-t", "nosuch")
    assert result.exit_code == 2 and not (tmp_path / "runs").exists()


def test_every_error_is_printed_once(tmp_path, task_dir):
    (task_dir / "broken.yaml").write_text('name: broken\ndataset: {files: {test: none.jsonl}}\n'
                                          'output_type: generate\nprompt: "{{q}}"\ntarget: "{{a}}"\nmetrics: [exact_match]\n')
    result = run(tmp_path, "-t", "broken,nosuchtask,starter_mc", "--include-path", str(task_dir))
    assert result.exit_code == 2
    assert result.output.count("data file not found") == 1
    assert result.output.count("unknown task or group 'nosuchtask'") == 1
    assert "2 problem(s)" in result.output
