"""humaneval and mbpp: their prompts, the canonical solutions pass, an empty completion passes none, and
malformed model output scores 0 with its reason in the samples, never an error of the run."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness.metrics import Outcome, get_metric
from harness.runner import Runner
from harness.tasks.build import build_items
from harness.tasks.datasets import load_rows
from harness.tasks.loader import load_task_file
from tests.conftest import REPO
from tests.fixtures.scripted import ScriptedModel


def _items(name: str, data: Path, limit: int | None = None):
    spec = load_task_file(REPO / "tasks" / "code" / f"{name}.yaml")
    rows = load_rows(spec, data_dir=data)[:limit]
    return spec, build_items(spec, rows)


def _score(spec, items, responses):
    metric = get_metric("pass@1", spec.metric_options.get("pass@1"), spec.name)
    return metric.score_all([Outcome(item, response=r) for item, r in zip(items, responses)])


def test_humaneval_canonical_solutions_pass_164_of_164(shared_data):
    spec, items = _items("humaneval", shared_data)
    scored = _score(spec, items, [item.row["canonical_solution"] for item in items])
    failed = {item.sample_id: d["reasons"] for item, (s, d) in zip(items, scored) if s != 1.0}
    assert len(items) == 164 and failed == {}


def test_mbpp_canonical_solutions_pass_but_the_two_the_reference_fails(shared_data):
    # Task 367's tests use a tree built by its test_setup_code, which lm-eval (like the MBPP paper's
    # harness) does not run; task 123 sums amicable numbers below 10000, several seconds of CPU,
    # past code_eval's 3 s on most machines.
    spec, items = _items("mbpp", shared_data)
    scored = _score(spec, items, [item.row["code"] for item in items])
    failed = {item.sample_id: d["reasons"][0] for item, (s, d) in zip(items, scored) if s != 1.0}
    assert len(items) == 500
    assert failed.pop("367") == "NameError: name 'root' is not defined"
    assert failed in ({}, {"123": "timed out after 3 s (wall clock)"})


def test_an_empty_completion_passes_none(shared_data):
    for name, limit in (("humaneval", None), ("mbpp", 100)):
        spec, items = _items(name, shared_data, limit)
        scored = _score(spec, items, [""] * len(items))
        assert [s for s, _ in scored] == [0.0] * len(items), name
        assert all(d["reasons"][0].startswith("empty completion; ") for _, d in scored)


def test_mbpp_prompt_is_lm_evals_three_shot_prompt(shared_data):
    spec, items = _items("mbpp", shared_data, 1)
    runner = Runner(ScriptedModel(lambda p: ""), data_dir=shared_data)
    sampler = runner._sampler(spec, [items[0].row])
    prompt = build_items(spec, [items[0].row], sampler)[0].prompt
    first = ("You are an expert Python programmer, and here is your task: Write a function to find the similar "
             "elements from the given two tuple lists. Your code should pass these tests:\n\n"
             "assert similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5)\n"
             "assert similar_elements((1, 2, 3, 4),(5, 4, 3, 7)) == (3, 4)\n"
             "assert similar_elements((11, 12, 14, 13),(17, 15, 14, 13)) == (13, 14)\n[BEGIN]\n"
             "def similar_elements(test_tup1, test_tup2):\r\n  res = tuple(set(test_tup1) & set(test_tup2))\r\n"
             "  return (res) \n[DONE]\n\n")
    assert prompt.startswith(first)
    assert prompt.count("[DONE]\n\n") == 3 and prompt.endswith(
        "Write a python function to remove first and last occurrence of a given character from the string. Your code "
        "should pass these tests:\n\nassert remove_Occ(\"hello\",\"l\") == \"heo\"\n"
        "assert remove_Occ(\"abcda\",\"a\") == \"bcd\"\nassert remove_Occ(\"PHP\",\"P\") == \"H\"\n[BEGIN]\n")


def test_malformed_output_scores_zero_with_its_reason_and_the_run_goes_on(shared_data):
    answers = iter(["    return (", "", "    while True:\n        pass\n",
                    "    import os\n    os.system('rm -rf ~')\n", "    return a + b\n"])
    model = ScriptedModel(lambda prompt: next(answers))
    spec = load_task_file(REPO / "tasks" / "code" / "humaneval.yaml")
    result, samples = Runner(model, data_dir=shared_data, limit=5).run_task(spec)
    reasons = [s.details["pass@1"]["reasons"][0] for s in samples]
    assert [s.scores["pass@1"] for s in samples] == [0.0] * 5
    assert reasons[0].startswith("SyntaxError")
    assert reasons[1].startswith("empty completion; ")
    assert reasons[2] == "timed out after 3 s (wall clock)"
    assert reasons[3] == "PermissionError: sandbox: starting or signalling a process (os.system) refused"
    assert reasons[4].startswith("NameError")  # HumanEval/4 has no a and b
    assert result.metrics["pass@1"].value == 0.0 and result.metrics["pass@1"].n == 5


def test_humaneval_instruct_runs_the_code_before_the_closing_fence(shared_data):
    """A chat model continues the answer prefix with the function body, closes the block and explains;
    the code up to the fence runs against the tests. Without the cut, the prose is a SyntaxError."""
    spec, items = _items("humaneval_instruct", shared_data, 20)
    solutions = {item.row["prompt"]: item.row["canonical_solution"] for item in items}
    prose = "```\n\nThis function passes the tests because it handles every case."

    def answer(prompt: str) -> str:
        problem = next(p for p in solutions if prompt.endswith(p + "\n"))
        return solutions[problem] + prose

    result, samples = Runner(ScriptedModel(answer), data_dir=shared_data, limit=20).run_task(spec)
    assert result.metrics["pass@1,create_test"].value == 1.0 and result.metrics["pass@1,create_test"].n == 20
    assert samples[0].response.endswith(prose) and not samples[0].details["filtered"]["create_test"].endswith(prose)
    uncut = _score(spec, items, [item.row["canonical_solution"] + prose for item in items])
    assert {s for s, _ in uncut} == {0.0} and uncut[0][1]["reasons"][0].startswith("SyntaxError")
