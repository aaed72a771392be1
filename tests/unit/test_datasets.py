import json
from pathlib import Path

import pytest

from harness.errors import DataError
from harness.tasks.build import FewshotSampler, build_items
from harness.tasks.datasets import fingerprint, load_rows
from harness.tasks.loader import build_index
from harness.tasks.schema import TaskSpec
from tests.conftest import write_jsonl


def spec(tmp_path: Path, **over) -> TaskSpec:
    fields = dict(name="t", dataset={"files": {"test": "rows.jsonl"}}, output_type="multiple_choice",
                  prompt="Q: {{q}}\nA:", choices="{{opts}}", target="{{gold}}", metrics=["acc"])
    fields.update(over)
    return TaskSpec(**fields, source_file=tmp_path / "t.yaml")


def test_mirror_rows_equal_the_file(shared_data: Path):
    arc = build_index().tasks["arc_easy"]
    rows = load_rows(arc, data_dir=shared_data)
    path = shared_data / "allenai/ai2_arc/ARC-Easy/test.jsonl"
    assert rows[:3] == [json.loads(line) for line in path.read_text().splitlines()[:3]]
    assert len(rows) == 2376
    items = build_items(arc, rows[:5])
    assert items[0].prompt.startswith("Question: ") and items[0].prompt.endswith("\nAnswer:")
    assert all(r.continuation.startswith(" ") for r in items[0].requests)


def test_wmt22_from_data_dir(shared_data: Path):
    wmt = build_index().tasks["wmt22_en_de"]
    rows = load_rows(wmt, data_dir=shared_data)
    assert len(rows) == 2037 and len(rows[0]["references"]) == 2  # references A and B


def test_missing_mirror_offline_fails_fast_with_hint(tmp_path: Path, monkeypatch):
    monkeypatch.setattr("harness.tasks.datasets.hub_reachable", lambda: False)
    arc = build_index().tasks["arc_easy"]
    with pytest.raises(DataError, match=r"task arc_easy: dataset allenai/ai2_arc \(ARC-Easy, test\).*--data-dir"):
        load_rows(arc, data_dir=tmp_path)


def test_row_missing_field_names_task_row_and_field(tmp_path: Path):
    write_jsonl(tmp_path / "rows.jsonl", [{"q": "a", "opts": ["x", "y"], "gold": 0}, {"opts": ["x"], "gold": 0}])
    task = spec(tmp_path)
    with pytest.raises(DataError, match=r"task t, row 1, field 'prompt': 'q' is undefined"):
        build_items(task, load_rows(task))


def test_bad_gold_is_explained(tmp_path: Path):
    write_jsonl(tmp_path / "rows.jsonl", [{"q": "a", "opts": ["x", "y"], "gold": 5}])
    task = spec(tmp_path)
    with pytest.raises(DataError, match=r"row 0, field 'target': index 5 is out of range for 2 choices"):
        build_items(task, load_rows(task))


def test_gold_may_be_choice_text(tmp_path: Path):
    write_jsonl(tmp_path / "rows.jsonl", [{"q": "a", "opts": ["x", "y"], "gold": "y"}])
    task = spec(tmp_path)
    assert build_items(task, load_rows(task))[0].gold == 1


def test_csv_txt_and_bad_json_lines(tmp_path: Path):
    (tmp_path / "rows.csv").write_text("q,a\nhi,there\n")
    assert load_rows(spec(tmp_path, dataset={"files": {"test": "rows.csv"}})) == [{"q": "hi", "a": "there"}]
    (tmp_path / "rows.txt").write_text("one\ntwo\n")
    assert load_rows(spec(tmp_path, dataset={"files": {"test": "rows.txt"}}))[1] == {"text": "two"}
    (tmp_path / "rows.jsonl").write_text('{"q": 1}\n{oops\n')
    with pytest.raises(DataError, match=r"rows.jsonl:2: not valid JSON"):
        load_rows(spec(tmp_path))


def test_parallel_files_must_align(tmp_path: Path):
    (tmp_path / "src.txt").write_text("a\nb\n")
    (tmp_path / "ref.txt").write_text("x\n")
    task = spec(tmp_path, dataset={"parallel": {"source": "src.txt", "references": ["ref.txt"]}},
                output_type="generate", choices=None, target="{{references}}", metrics=["bleu"])
    with pytest.raises(DataError, match=r"ref.txt has 1 lines but the source .*src.txt has 2"):
        load_rows(task)


def test_fingerprint_changes_with_data():
    assert fingerprint([{"a": 1}]) == fingerprint([{"a": 1}])
    assert fingerprint([{"a": 1}]) != fingerprint([{"a": 2}])


def test_fewshot_sampler_is_seeded_and_never_shows_the_item_itself():
    pool = [{"i": i} for i in range(20)]
    a = FewshotSampler(pool, 3, seed=1, sampler="random", same_split=True)
    b = FewshotSampler(pool, 3, seed=1, sampler="random", same_split=True)
    for row in pool:
        shots = a.examples(row)
        assert shots == b.examples(row) and len(shots) == 3 and row not in shots
    first = FewshotSampler(pool, 2, seed=1, sampler="first_n", same_split=False)
    assert first.examples(pool[0]) == pool[:2]
    with pytest.raises(DataError, match="25-shot needs 25"):
        FewshotSampler(pool, 25, seed=1, sampler="random", same_split=False)


def test_fewshot_prompt_layout(tmp_path: Path):
    rows = [{"q": f"q{i}", "opts": ["x", "y"], "gold": i % 2} for i in range(4)]
    write_jsonl(tmp_path / "rows.jsonl", rows)
    task = spec(tmp_path)
    sampler = FewshotSampler(rows, 1, seed=0, sampler="first_n", same_split=True)
    item = build_items(task, rows, sampler)[0]
    assert item.prompt == "Q: q1\nA: y\n\nQ: q0\nA:"
