from pathlib import Path

import pytest

from harness.errors import TaskError
from harness.tasks.loader import build_index, load_task_file

GOOD = """\
name: mine
groups: [custom]
dataset:
  files: {test: rows.jsonl}
output_type: multiple_choice
prompt: "Q: {{q}}"
choices: "{{opts}}"
target: "{{gold}}"
metrics: [acc]
"""


def test_builtin_tasks_load_and_groups_exist():
    index = build_index()
    assert not index.broken, index.broken
    for group in ("starter", "qa", "translation"):
        assert group in index.groups
    assert {"arc_easy", "wmt22_en_de"} <= set(index.tasks)
    assert len(index.groups["starter"]) == 6


def test_malformed_yaml_names_file_and_line(task_dir: Path):
    path = task_dir / "broken.yaml"
    path.write_text("name: broken\noutput_type: [unclosed\nmetrics: [acc]\n")
    with pytest.raises(TaskError, match=rf"{path}:\d+: malformed YAML"):
        load_task_file(path)


def test_unknown_field_names_file_line_and_field(task_dir: Path):
    path = task_dir / "typo.yaml"
    path.write_text(GOOD + "promt: oops\n")
    with pytest.raises(TaskError) as err:
        load_task_file(path)
    assert f"{path}:10: field 'promt'" in str(err.value)
    assert "Extra inputs are not permitted" in str(err.value)


def test_wrong_output_type_is_explained(task_dir: Path):
    path = task_dir / "bad.yaml"
    path.write_text(GOOD.replace("multiple_choice", "multiple-choice"))
    with pytest.raises(TaskError, match=rf"{path}:5: field 'output_type'"):
        load_task_file(path)


def test_an_answer_prefix_on_a_multiple_choice_task_is_explained(task_dir: Path):
    path = task_dir / "prefixed.yaml"
    path.write_text(GOOD + "answer_prefix: 'Answer:'\n")
    with pytest.raises(TaskError, match=r"'answer_prefix' opens a generated answer: a generate task only") as err:
        load_task_file(path)
    assert str(path) in str(err.value)


def test_include_path_adds_tasks_and_records_broken_files(task_dir: Path):
    (task_dir / "mine.yaml").write_text(GOOD)
    (task_dir / "broken.yaml").write_text("name: [\n")
    index = build_index([task_dir])
    assert "mine" in index.tasks and index.groups["custom"] == ["mine"]
    specs, errors = index.resolve(["custom", "broken", "arc_easz"])
    assert [s.name for s in specs] == ["mine"]
    assert "malformed YAML" in str(errors["broken"])            # asked for by its file name
    assert "did you mean: arc_easy" in str(errors["arc_easz"])


def test_missing_include_path_is_an_error(tmp_path: Path):
    with pytest.raises(TaskError, match="no such folder"):
        build_index([tmp_path / "nope"])


def test_resolve_expands_groups_in_order_without_repeats():
    index = build_index()
    specs, errors = index.resolve(["starter_mc", "starter"])
    names = [s.name for s in specs]
    assert names[0] == "starter_mc" and len(names) == len(set(names)) == 6 and not errors


def test_include_merges_a_base_under_the_files_own_fields(task_dir: Path):
    (task_dir / "_base.yaml").write_text(GOOD.replace("name: mine\n", "") + "generation: {max_tokens: 8}\n")
    (task_dir / "variant.yaml").write_text("include: _base.yaml\nname: variant\n"
                                          "dataset: {files: {dev: dev.jsonl}, split: dev}\nmetrics: [acc, acc_norm]\n")
    index = build_index([task_dir])
    assert not index.broken, index.broken
    spec = index.tasks["variant"]
    assert spec.dataset.files == {"test": "rows.jsonl", "dev": "dev.jsonl"} and spec.dataset.split == "dev"
    assert spec.metrics == ["acc", "acc_norm"] and spec.prompt == "Q: {{q}}"
    assert "_base" not in index.tasks and not index.broken  # a base is not a task


@pytest.mark.parametrize("include, message", [("/etc/passwd.yaml", "inside the task's folder"),
                                              ("../outside.yaml", "inside the task's folder"),
                                              ("loop.yaml", "includes itself")])
def test_include_stays_inside_the_folder_and_never_loops(task_dir: Path, include, message):
    path = task_dir / "loop.yaml"
    path.write_text(f"include: {include}\nname: loop\n")
    with pytest.raises(TaskError, match=message):
        load_task_file(path)


def test_matrix_gives_one_task_per_entry(task_dir: Path):
    path = task_dir / "family.yaml"
    path.write_text(GOOD.replace("name: mine", 'name: "mine_${lang}"').replace("Q: {{q}}", "${word}: {{q}}")
                    + "matrix:\n  - {lang: de, word: Frage}\n  - {lang: fr, word: Question}\n")
    index = build_index([task_dir])
    assert index.tasks["mine_de"].prompt == "Frage: {{q}}" and index.tasks["mine_fr"].prompt == "Question: {{q}}"
    assert index.groups["custom"] == ["mine_de", "mine_fr"]
    path.write_text(GOOD.replace("name: mine", 'name: "mine_${lang}"') + "matrix:\n  - {lnag: de}\n")
    with pytest.raises(TaskError, match=r"matrix entry 1: no variable 'lang' \(it has lnag\)"):
        load_task_file(path)
    path.write_text(GOOD + "matrix: []\n")
    with pytest.raises(TaskError, match="field 'matrix'"):
        load_task_file(path)
