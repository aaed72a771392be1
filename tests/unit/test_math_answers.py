"""MATH answers: evalh's extraction and normalisation equal lm-eval's minerva_math functions (read from the
installed lm-eval) on every MATH-500 solution and on model-like outputs; the metrics' missing packages
are clear errors; sympy equivalence where its LaTeX parser is installed."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from harness.errors import TaskError
from harness.metrics import get_metric
from harness.metrics.math_answers import (get_unnormalized_answer, last_boxed_only_string, normalize_final_answer,
                                          remove_boxed)
from harness.tasks.preprocess import minerva_math

HAS_PARSER = importlib.util.find_spec("antlr4") is not None
HAS_MATH_VERIFY = importlib.util.find_spec("math_verify") is not None


@pytest.fixture(scope="module")
def lm_eval_minerva() -> dict:
    """lm-eval's minerva_math/utils.py functions, without the import block that needs math_verify."""
    import lm_eval

    source = (Path(lm_eval.__file__).parent / "tasks/minerva_math/utils.py").read_text()
    start, end = source.index("try:\n    import antlr4"), source.index("# taken from")
    namespace: dict = {}
    exec(compile(source[:start] + source[end:], "minerva_utils", "exec"), namespace)  # noqa: S102 - lm-eval's code
    return namespace


def test_gold_answers_equal_lm_evals_on_every_math500_solution(shared_data, lm_eval_minerva):
    rows = [json.loads(line) for line in (shared_data / "HuggingFaceH4/MATH-500/default/test.jsonl").open()]
    theirs = lm_eval_minerva
    assert len(rows) == 500
    for row in rows:
        expected = theirs["normalize_final_answer"](theirs["remove_boxed"](theirs["last_boxed_only_string"](row["solution"])))
        assert minerva_math(row)["answer"] == expected, row["problem"][:60]


OUTPUTS = [  # a model's output, the answer after extraction and normalisation
    ("So x = 5.\nFinal Answer: The final answer is $5$. I hope it is correct.", "5"),
    ("Final Answer: The final answer is $\\frac{1}{2}$. I hope it is correct.", "\\frac{1}{2}"),
    ("Final Answer: The final answer is $\\frac12$. I hope it is correct.", "\\frac{1}{2}"),
    ("Final Answer: The final answer is 10 \\text{ inches}", "[invalidanswer]"),  # cut short: no ". I hope"
    ("Final Answer: The final answer is 10 \\text{ inches}. ", "10"),  # the closing words are added
    ("Final Answer: The final answer is $100,000$. I hope it is correct.", "100000"),
    ("Final Answer: The final answer is $(0,1)$. I hope it is correct.", "(0,1)"),
    ("The answer is \\boxed{7}.", "[invalidanswer]"),  # minerva reads the Final Answer line only
    ("", "[invalidanswer]"),
    ("Final Answer: The final answer is $\\sqrt2$. I hope it is correct.", "\\sqrt{2}"),
]


@pytest.mark.parametrize("output, expected", OUTPUTS)
def test_final_answers_of_model_outputs(output, expected, lm_eval_minerva):
    ours = normalize_final_answer(get_unnormalized_answer(output))
    theirs = lm_eval_minerva["normalize_final_answer"](lm_eval_minerva["get_unnormalized_answer"](output))
    assert ours == theirs == expected


def test_boxed_answers():
    assert remove_boxed(last_boxed_only_string("a \\boxed{1} then \\boxed{\\frac{2}{3}}.")) == "\\frac{2}{3}"
    assert last_boxed_only_string("no box") is None
    assert last_boxed_only_string("\\boxed{unbalanced") is None


def test_a_solution_without_a_boxed_answer_is_a_clear_error():
    with pytest.raises(ValueError, match="no \\\\boxed"):
        minerva_math({"solution": "It is 4."})


@pytest.mark.skipif(HAS_PARSER, reason="antlr4 is installed: the metric loads")
def test_without_sympys_latex_parser_the_metric_names_what_to_install():
    with pytest.raises(TaskError, match=r"evalh\[math\]"):
        get_metric("minerva_exact_match", task="minerva_math500")


@pytest.mark.skipif(HAS_MATH_VERIFY, reason="math-verify is installed: the metric loads")
def test_without_math_verify_the_metric_names_what_to_install():
    with pytest.raises(TaskError, match=r"math-verify"):
        get_metric("math_verify", task="minerva_math500")


@pytest.mark.skipif(not HAS_PARSER, reason="needs antlr4-python3-runtime==4.11 (pip install 'evalh[math]')")
@pytest.mark.parametrize("a, b, same", [("\\frac{1}{2}", "0.5", True), ("2x+2", "2(x+1)", True), ("3", "4", False),
                                        ("(0,1)", "(0,1)", True), ("[invalidanswer]", "5", False)])
def test_sympy_equivalence(a, b, same):
    from harness.metrics.math import is_equiv

    assert is_equiv(a, b) is same
