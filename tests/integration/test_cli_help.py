"""The CLI explains itself: `run --help` examples that parse, `list tasks FILTER` with counts from a mirror,
`cache info` by model name, and `cache clear` of an unknown model refused instead of deleting nothing."""
from __future__ import annotations

import shlex

from click.testing import CliRunner

from harness.cli import main
from harness.cli.run import run as run_command
from harness.config import RunConfig
from harness.evaluation import evaluate


def test_run_help_shows_examples_that_parse():
    done = CliRunner().invoke(main, ["run", "--help"])
    assert done.exit_code == 0 and "Examples:" in done.output
    examples = [line.split("#")[0].split() for line in done.output.splitlines() if line.strip().startswith("evalh run")]
    assert len(examples) >= 4
    for words in examples:  # every flag of every example is one `run` accepts
        run_command.make_context("run", words[2:])


def test_list_tasks_filters_and_counts_items_from_the_mirror(tmp_path):
    mirror = tmp_path / "data" / "allenai" / "ai2_arc" / "ARC-Easy"
    mirror.mkdir(parents=True)
    (mirror / "test.jsonl").write_text('{"id": "1"}\n{"id": "2"}\n\n{"id": "3"}\n')
    runner = CliRunner()
    done = runner.invoke(main, ["list", "tasks", "arc", "--data-dir", str(tmp_path / "data")])
    assert done.exit_code == 0, done.output
    lines = {line.split()[0]: line for line in done.output.splitlines()}
    assert set(lines) == {"arc_easy", "arc_challenge", "group"}
    assert " 3 items " in lines["arc_easy"] and "? items" in lines["arc_challenge"]  # no mirror file for it
    bare = runner.invoke(main, ["list", "tasks", "arc_e*"], env={"EVALH_DATA_DIR": ""})
    assert bare.exit_code == 0 and bare.output.splitlines()[0].startswith("arc_easy ") and "? items" in bare.output
    assert "--data-dir" in bare.stderr
    missing = runner.invoke(main, ["list", "tasks", "no_such_task"])
    assert missing.exit_code != 0 and "no task or group matches 'no_such_task'" in missing.output


def test_cache_info_by_model_name_and_clear_of_an_unknown_model_fails(tmp_path):
    cache_dir = str(tmp_path / "cache")
    evaluation = evaluate(RunConfig(models=["fake"], tasks=["starter_mc"], limit=3, cache=True, cache_dir=cache_dir,
                                    output_dir=str(tmp_path / "runs")))
    assert evaluation.ok
    runner = CliRunner()
    info = runner.invoke(main, ["cache", "info", "--cache-dir", cache_dir])
    assert "  fake  fake:seed=0: 12 (loglikelihood 12)" in info.output.splitlines()
    unknown = runner.invoke(main, ["cache", "clear", "--model-fingerprint", "smollm2", "--cache-dir", cache_dir])
    assert unknown.exit_code != 0 and "no cached responses for model or fingerprint 'smollm2'" in unknown.output
    assert "entries: 12" in runner.invoke(main, ["cache", "info", "--cache-dir", cache_dir]).output
    by_name = runner.invoke(main, ["cache", "clear", "--model-fingerprint", "fake", "--cache-dir", cache_dir])
    assert by_name.exit_code == 0 and "deleted 12 cached response(s) of fake (fake:seed=0)" in by_name.output
