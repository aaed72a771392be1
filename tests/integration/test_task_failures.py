"""Any exception inside a task is that task's recorded error: the other tasks and models finish, exit code 2."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.models.fake import FakeModel
from harness.results import read_result
from tests.conftest import write_jsonl

GENERATE = 'output_type: generate\nprompt: "{{q}}"\ntarget: "{{a}}"\nmetrics: [exact_match]\n'


def run(tmp_path: Path, *args: str):
    result = CliRunner().invoke(main, ["run", "--output-dir", str(tmp_path / "runs"), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result


def results_by_model(tmp_path: Path) -> dict:
    return {r.model.name + r.model.fingerprint: r for r in map(read_result, (tmp_path / "runs").iterdir())}


@pytest.fixture
def bad_tasks(task_dir: Path) -> Path:
    (task_dir / "long.csv").write_text("q,a\n2+2?,4\n3+3?,6,surplus\n", encoding="utf-8")
    (task_dir / "long_row.yaml").write_text("name: long_row\ndataset: {files: {test: long.csv}}\n" + GENERATE)
    (task_dir / "ints.json").write_text("[1,2,3]", encoding="utf-8")
    (task_dir / "json_ints.yaml").write_text("name: json_ints\ndataset: {files: {test: ints.json}}\n" + GENERATE)
    write_jsonl(task_dir / "good.jsonl", [{"q": "2+2?", "a": "4"}, {"q": "3+3?", "a": "6"}])
    (task_dir / "cached.yaml").write_text("name: cached\ndataset: {files: {test: good.jsonl}}\n" + GENERATE)
    return task_dir


def test_bad_files_fail_their_task_and_every_model_finishes_the_rest(tmp_path, bad_tasks):
    result = run(tmp_path, "-m", "fake", "-m", "fake:seed=2", "-t", "long_row,json_ints,starter_mc",
                 "--include-path", str(bad_tasks))
    assert result.exit_code == 2, result.output
    runs = list(map(read_result, (tmp_path / "runs").iterdir()))
    assert len(runs) == 2
    for done in runs:
        assert set(done.tasks) == {"starter_mc"}
        assert sorted(e.name for e in done.errors) == ["json_ints", "long_row"]
        assert all(e.type and e.message for e in done.errors)


def test_a_cache_row_that_is_not_json_fails_only_its_task(tmp_path, bad_tasks):
    cache_args = ["--cache", "--cache-dir", str(tmp_path / "cache"), "--include-path", str(bad_tasks)]
    assert run(tmp_path, "-m", "fake", "-t", "cached", *cache_args).exit_code == 0
    with sqlite3.connect(tmp_path / "cache" / "responses.sqlite") as db:
        db.execute("UPDATE responses SET response = '{not json'")
    for folder in (tmp_path / "runs").iterdir():
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
    result = run(tmp_path, "-m", "fake", "-t", "cached,starter_mc", *cache_args)
    assert result.exit_code == 2, result.output
    [done] = map(read_result, (tmp_path / "runs").iterdir())
    assert set(done.tasks) == {"starter_mc"}
    [error] = done.errors
    assert error.name == "cached" and error.type


def test_an_unexpected_exception_is_recorded_with_type_and_place(tmp_path, monkeypatch):
    def broken(self, requests, progress=None):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(FakeModel, "generate", broken)
    result = run(tmp_path, "-m", "fake", "-m", "fake:seed=3", "-t", "starter_extractive_qa,starter_mc")
    assert result.exit_code == 2, result.output
    runs = list(map(read_result, (tmp_path / "runs").iterdir()))
    assert len(runs) == 2
    for done in runs:
        assert set(done.tasks) == {"starter_mc"}
        [error] = done.errors
        assert (error.scope, error.name, error.type) == ("task", "starter_extractive_qa", "ZeroDivisionError")
        assert error.message == "task starter_extractive_qa: unexpected ZeroDivisionError: division by zero"
        assert error.where.endswith("in broken") and "test_task_failures.py" in error.where


def test_keyboard_interrupt_still_stops_the_run(tmp_path, monkeypatch):
    def interrupted(self, requests, progress=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(FakeModel, "generate", interrupted)
    result = CliRunner().invoke(main, ["run", "--output-dir", str(tmp_path / "runs"), "-m", "fake",
                                       "-t", "starter_extractive_qa,starter_mc"])
    assert isinstance(result.exception, KeyboardInterrupt) or result.exit_code == 1
    [done] = map(read_result, (tmp_path / "runs").iterdir())
    assert "starter_mc" not in done.tasks
