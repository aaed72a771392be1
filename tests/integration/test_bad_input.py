"""Each kind of bad input: a short clear message (no traceback), the other tasks still written, exit code 2."""
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.results import read_result, read_samples
from tests.conftest import write_jsonl


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """The hub is unreachable in these tests wherever the machine is."""
    monkeypatch.setattr("harness.tasks.datasets.hub_reachable", lambda: False)
    monkeypatch.setattr("harness.models.resolve.hub_reachable", lambda: False)
    monkeypatch.setattr("harness.models.resolve._in_hf_cache", lambda repo: False)


def run(tmp_path: Path, *args: str):
    out = tmp_path / "runs"
    result = CliRunner().invoke(main, ["run", "--output-dir", str(out), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result, out


def finished(out: Path) -> dict:
    """Task name -> metrics of every run folder written."""
    done = {}
    for run_dir in out.iterdir():
        result = read_result(run_dir)
        assert {s.task for s in read_samples(run_dir)} == set(result.tasks)
        done.update({name: task.metrics for name, task in result.tasks.items()})
    return done


def test_unknown_task_suggests_and_others_complete(tmp_path):
    result, out = run(tmp_path, "-m", "fake", "-t", "arc_easz,starter_mc")
    assert result.exit_code == 2
    assert "unknown task or group 'arc_easz' (did you mean: arc_easy?)" in result.output
    assert "acc" in finished(out)["starter_mc"]
    errors = read_result(next(out.iterdir())).errors
    assert [e.name for e in errors] == ["arc_easz"]


def test_unknown_model_suggests_and_other_model_completes(tmp_path):
    result, out = run(tmp_path, "-m", "smolm2", "-m", "fake", "-t", "starter_mc")
    assert result.exit_code == 2
    assert "model 'smolm2'" in result.output and "did you mean: smollm2" in result.output
    assert "hub cannot be reached" in result.output
    assert [read_result(p).model.name for p in out.iterdir()] == ["fake"]


def test_hub_model_offline_fails_with_hint(tmp_path):
    result, out = run(tmp_path, "-m", "gpt2", "-t", "starter_mc")
    assert result.exit_code == 2
    assert "model 'gpt2' is not a local path or an installed model" in result.output
    assert "evalh list models" in result.output
    assert not out.exists() or not any(out.iterdir())


def test_malformed_yaml_names_file_and_line(tmp_path, task_dir):
    (task_dir / "broken.yaml").write_text("name: broken\ndataset:\n  files: {test: x.jsonl\noutput_type: generate\n")
    result, out = run(tmp_path, "-m", "fake", "-t", "broken,starter_mc", "--include-path", str(task_dir))
    assert result.exit_code == 2
    assert f"{task_dir / 'broken.yaml'}:" in result.output and "malformed YAML" in result.output
    assert "starter_mc" in finished(out)


def test_row_missing_field_names_task_row_and_field(tmp_path, task_dir):
    write_jsonl(task_dir / "rows.jsonl", [{"q": "2+2?", "a": "4"}, {"q": "3+3?"}])
    (task_dir / "mine.yaml").write_text(
        'name: mine\ndataset: {files: {test: rows.jsonl}}\noutput_type: generate\n'
        'prompt: "Q: {{q}}\\nA:"\ntarget: "{{a}}"\nmetrics: [exact_match]\n')
    result, out = run(tmp_path, "-m", "fake", "-t", "mine,starter_mc", "--include-path", str(task_dir))
    assert result.exit_code == 2
    assert "task mine, row 1, field 'target': 'a' is undefined" in result.output
    assert set(finished(out)) == {"starter_mc"}


def test_unreachable_hub_dataset_hints_data_dir(tmp_path):
    result, out = run(tmp_path, "-m", "fake", "-t", "arc_easy,starter_mc")
    assert result.exit_code == 2
    assert "task arc_easy: dataset allenai/ai2_arc (ARC-Easy, test) is not available offline" in result.output
    assert "--data-dir" in result.output
    assert set(finished(out)) == {"starter_mc"}


def test_empty_dataset_is_an_error_not_a_zero(tmp_path, task_dir):
    (task_dir / "rows.jsonl").write_text("")
    (task_dir / "empty.yaml").write_text(
        'name: empty\ndataset: {files: {test: rows.jsonl}}\noutput_type: generate\nprompt: "{{q}}"\n'
        'target: "{{a}}"\nmetrics: [exact_match]\n')
    result, out = run(tmp_path, "-m", "fake", "-t", "empty,starter_mc", "--include-path", str(task_dir))
    assert result.exit_code == 2 and "task empty: the dataset" in result.output and "has no rows" in result.output
    assert set(finished(out)) == {"starter_mc"}


def test_bad_option_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["run", "-m", "fake", "--limit", "0", "--output-dir", str(tmp_path)])
    assert result.exit_code == 2 and "option 'limit' (from command line)" in result.output


def test_hostile_model_output_is_stored_verbatim(tmp_path, task_dir):
    """Model output is data: stored as text, never interpreted."""
    hostile = '<script>window.pwned=1</script>\x1b[2J"; DROP TABLE runs; --\u202e'
    write_jsonl(task_dir / "rows.jsonl", [{"q": hostile, "a": "x"}])
    (task_dir / "echo.yaml").write_text(
        'name: echo\ndataset: {files: {test: rows.jsonl}}\noutput_type: generate\n'
        'prompt: "Q: {{q}}\\nA:"\ntarget: "{{a}}"\nmetrics: [exact_match, f1]\n')
    result, out = run(tmp_path, "-m", "fake", "-t", "echo", "--include-path", str(task_dir))
    assert result.exit_code == 0, result.output
    sample, = read_samples(next(out.iterdir()))
    assert sample.response == " " + hostile.split("Q: ")[-1] or hostile in sample.response
