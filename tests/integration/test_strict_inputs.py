"""Data that would be silently wrong is refused by name: ragged CSV rows, non-object JSON rows, repeated
doc ids, results files of another schema version, and bad samples lines."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.errors import DataError
from harness.tasks.datasets import load_rows
from harness.tasks.schema import TaskSpec
from tests.conftest import write_jsonl


def spec(folder: Path, file: str, **over) -> TaskSpec:
    fields = dict(name="t", dataset={"files": {"test": file}}, output_type="generate", prompt="{{q}}",
                  target="{{a}}", metrics=["exact_match"])
    fields.update(over)
    return TaskSpec(**fields, source_file=folder / "t.yaml")


@pytest.mark.parametrize("body, line, cells", [("q,a\n1,2\n3\n", 3, 1), ("q,a\n1,2\n\n3,4,5\n", 4, 3)])
def test_a_csv_row_of_the_wrong_width_is_an_error_naming_its_line(tmp_path, body, line, cells):
    (tmp_path / "rows.csv").write_text(body, encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load_rows(spec(tmp_path, "rows.csv"))
    assert f"rows.csv:{line}: {cells} cell(s), but the header has 2 (q, a)" in str(caught.value)


def test_a_regular_csv_reads_as_text_cells(tmp_path):
    (tmp_path / "rows.csv").write_text('q,a\n"a, b",2\n\n3,\n', encoding="utf-8")
    assert load_rows(spec(tmp_path, "rows.csv")) == [{"q": "a, b", "a": "2"}, {"q": "3", "a": ""}]


def test_a_json_list_of_numbers_is_an_error(tmp_path):
    (tmp_path / "rows.json").write_text("[1,2,3]", encoding="utf-8")
    with pytest.raises(DataError, match=r"rows.json: expected a JSON list of objects, but item 0 is int '1'"):
        load_rows(spec(tmp_path, "rows.json"))


def test_repeated_doc_ids_are_refused_at_load_with_the_ids_named(tmp_path):
    write_jsonl(tmp_path / "rows.jsonl", [{"id": 1, "q": "a", "a": "b"}, {"id": 2, "q": "c", "a": "d"},
                                          {"id": 1, "q": "e", "a": "f"}, {"id": 2, "q": "g", "a": "h"}])
    with pytest.raises(DataError) as caught:
        load_rows(spec(tmp_path, "rows.jsonl", doc_id="id"))
    assert "task t, split 'test': doc_id field 'id' repeats: '1' (rows 0, 2); '2' (rows 1, 3)" in str(caught.value)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("strict")
    found = []
    for seed in (0, 1):
        out = root / f"runs{seed}"
        result = CliRunner().invoke(main, ["run", "-m", f"fake:seed={seed}", "-t", "starter_mc", "--limit", "4",
                                           "--output-dir", str(out), "--no-cache"])
        assert result.exit_code == 0, result.output
        found.append(next(out.iterdir()))
    return found[0], found[1]


def copy_run(run: Path, into: Path) -> Path:
    into.mkdir()
    for name in ("results.json", "samples.jsonl"):
        (into / name).write_bytes((run / name).read_bytes())
    return into


@pytest.mark.parametrize("command", ["report", "compare"])
def test_another_schema_version_is_refused_by_report_and_compare(tmp_path, two_runs, command):
    future = copy_run(two_runs[1], tmp_path / "future")
    data = json.loads((future / "results.json").read_text())
    data["schema_version"] = 999
    (future / "results.json").write_text(json.dumps(data))
    args = [str(future), "-o", str(tmp_path / "report")] if command == "report" else [str(two_runs[0]), str(future)]
    result = CliRunner().invoke(main, [command, *args])
    assert result.exit_code == 2
    assert f"{future / 'results.json'}: schema_version 999, but this evalh" in result.output
    assert "reads version 1" in result.output


def test_compare_refuses_repeated_sample_ids(tmp_path, two_runs):
    runs = [copy_run(run, tmp_path / name) for run, name in zip(two_runs, ("base", "cand"))]
    for run in runs:
        lines = (run / "samples.jsonl").read_text().splitlines()
        records = [json.loads(line) for line in lines]
        for record in records:
            record["sample_id"] = str(record["index"] % 2)  # what rows with repeated doc ids produced
        (run / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    result = CliRunner().invoke(main, ["compare", *map(str, runs)])
    assert result.exit_code == 2, result.output
    assert "has 4 samples but only 2 distinct sample ids (repeated: ['0', '1'])" in result.output


def test_a_bad_samples_line_is_named_by_its_number(tmp_path, two_runs):
    run = copy_run(two_runs[0], tmp_path / "run")
    lines = (run / "samples.jsonl").read_text().splitlines()
    lines[2] = "{broken"
    (run / "samples.jsonl").write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(main, ["report", str(run), "-o", str(tmp_path / "report"), "--no-plots"])
    assert result.exit_code == 2
    assert f"{run / 'samples.jsonl'}:3: not a valid sample" in result.output
