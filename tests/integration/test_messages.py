"""Messages that name the right thing: unwritable output folders (before a model loads), non-UTF-8 files by
line, few-shot counts, and a broken task file asked for by the name it declares."""
from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from harness.cli import main
from harness.config import RunConfig
from harness.evaluation import evaluate
from harness.models.fake import FakeModel

GENERATE = 'output_type: generate\nprompt: "{{q}}"\ntarget: "{{a}}"\nmetrics: [exact_match]\n'


def invoke(*args: str):
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def test_an_unwritable_output_dir_is_reported_before_the_model_loads(tmp_path):
    (tmp_path / "file").write_text("")
    loaded = []
    config = RunConfig(models=["fake"], tasks=["starter_mc"], output_dir=str(tmp_path / "file" / "runs"), cache=False)
    out = evaluate(config, load=lambda name, options: loaded.append(name) or FakeModel())
    assert loaded == []
    [error] = out.errors
    assert error.message.startswith(f"--output-dir {tmp_path / 'file' / 'runs'}: cannot write there")
    result = invoke("run", "-m", "fake", "-t", "starter_mc", "--output-dir", str(tmp_path / "file" / "runs"))
    assert result.exit_code == 2 and "cannot write there" in result.output and "Traceback" not in result.output


def test_an_unwritable_report_folder_is_a_clear_error(tmp_path):
    assert invoke("run", "-m", "fake", "-t", "starter_mc", "--limit", "2", "--output-dir",
                  str(tmp_path / "runs")).exit_code == 0
    (tmp_path / "file").write_text("")
    result = invoke("report", str(tmp_path / "runs"), "-o", str(tmp_path / "file" / "report"), "--no-plots")
    assert result.exit_code == 2
    assert f"--output-dir/-o {tmp_path / 'file' / 'report'}: cannot write there" in result.output


def test_non_utf8_data_is_named_by_line_and_column(tmp_path, task_dir):
    (task_dir / "rows.jsonl").write_bytes(b'{"q": "a", "a": "b"}\n{"q": "caf\xe9", "a": "b"}\n')
    (task_dir / "latin.yaml").write_text("name: latin\ndataset: {files: {test: rows.jsonl}}\n" + GENERATE)
    result = invoke("run", "-m", "fake", "-t", "latin", "--include-path", str(task_dir), "--output-dir",
                    str(tmp_path / "runs"))
    assert result.exit_code == 2
    assert f"{task_dir / 'rows.jsonl'}:2: not valid UTF-8 (byte 0xe9 at column 11)" in result.output


def test_a_non_utf8_task_file_is_named_by_line(tmp_path, task_dir):
    (task_dir / "latin.yaml").write_bytes(b"name: latin\ndescription: caf\xe9\n")
    result = invoke("run", "-m", "fake", "-t", "latin", "--include-path", str(task_dir), "--output-dir",
                    str(tmp_path / "runs"))
    assert result.exit_code == 2
    assert f"{task_dir / 'latin.yaml'}:2: not valid UTF-8 (byte 0xe9 at column 17)" in result.output


def test_fewshot_from_the_evaluation_split_counts_the_item_itself(tmp_path):
    result = invoke("run", "-m", "fake", "-t", "starter_mc", "--num-fewshot", "48", "--output-dir", str(tmp_path / "runs"))
    assert result.exit_code == 2
    assert ("48-shot needs 48 examples besides each item, but the few-shot split is the evaluation split and has "
            "48 rows, so only 47 are left") in result.output


def test_a_broken_task_file_is_found_by_the_name_it_declares(tmp_path, task_dir):
    (task_dir / "some_file.yaml").write_text("name: my_task\ndataset: {files: {test: x.jsonl}\n" + GENERATE)
    result = invoke("run", "-m", "fake", "-t", "my_task", "--include-path", str(task_dir), "--output-dir",
                    str(tmp_path / "runs"))
    assert result.exit_code == 2
    assert f"{task_dir / 'some_file.yaml'}:" in result.output and "malformed YAML" in result.output
    assert "unknown task" not in result.output
