"""Answer filters against tables of model outputs, and against lm-eval's own filters on the same outputs."""
from __future__ import annotations

import re

import pytest

from harness.tasks.filters import build_chain, cut_at, regex, strip_reasoning, take_first

STRICT = [{"function": "regex", "regex_pattern": r"The answer is (\-?[0-9\.\,]+).", "group_select": 0},
          {"function": "take_first"}]
FLEXIBLE = [{"function": "regex", "regex_pattern": r"(-?[$0-9.,]{2,})|(-?[0-9]+)", "group_select": -1},
            {"function": "take_first"}]

OUTPUTS = [  # a model's output, strict-match, flexible-extract (SmolLM2-like outputs and edge cases)
    (" Janet sells 16 - 3 - 4 = 9 duck eggs a day. She makes 9 * 2 = $18 every day. The answer is 18.\n\n",
     "18", "18."),
    (" 2 + 3 = 5. The answer is 5.", "5", "5."),
    (" The answer is 1,200.", "1,200", "1,200."),
    (" The answer is -7.", "-7", "-7."),
    (" It takes 2 bolts of blue fiber and 2 / 2 = 1 bolt of white fiber. So 2 + 1 = 3", "[invalid]", "3"),
    (" He paid $80,000 and then $50,000.", "[invalid]", "$50,000."),
    (" I do not know.", "[invalid]", "[invalid]"),
    ("", "[invalid]", "[invalid]"),
    (" The answer is $5.", "[invalid]", "$5."),
    (" The answer is 42", "4", "42"),  # the pattern's final "." is any character: it eats the "2"
    (" The answer is 3.5 hours.", "3.5", "3.5"),
]


@pytest.mark.parametrize("output, strict, flexible", OUTPUTS)
def test_gsm8k_filters_on_model_outputs(output, strict, flexible):
    assert build_chain(STRICT, "strict")([output]) == [strict]
    assert build_chain(FLEXIBLE, "flexible")([output]) == [flexible]


@pytest.mark.parametrize("chain", [STRICT, FLEXIBLE])
def test_the_filters_equal_lm_evals_filters(chain):
    from lm_eval.filters.extraction import RegexFilter
    from lm_eval.filters.selection import TakeFirstFilter

    options = {k: v for k, v in chain[0].items() if k != "function"}
    theirs = list(TakeFirstFilter().apply(RegexFilter(**options).apply([[o] for o, _, _ in OUTPUTS], []), []))
    assert [build_chain(chain, "x")([o])[0] for o, _, _ in OUTPUTS] == theirs


def test_regex_options():
    assert regex(r"(\d+)", group_select=1)(["1 and 2 and 3"]) == ["2"]
    assert regex(r"#### (\d+)", fallback="none")(["no"]) == ["none"]
    assert regex(r"(a)|(b)")(["b"]) == ["b"]  # first non-empty group of the match


def test_take_first_keeps_the_first_response():
    assert take_first()(["a", "b"]) == ["a"] and take_first()([]) == []


@pytest.mark.parametrize("output, expected", [
    ("<think>2+2 is 4, so</think>\n\nThe answer is 4.", "The answer is 4."),
    ("<think>a</think> b </think> The answer is 5.", "The answer is 5."),  # after the last marker
    ("The answer is 6.", "The answer is 6."),  # no reasoning block: kept whole
    ("<think>still thinking when the budget ran out", "<think>still thinking when the budget ran out"),
])
def test_strip_reasoning_as_lm_evals_think_end_token(output, expected):
    assert strip_reasoning()([output]) == [expected]


def test_strip_reasoning_with_a_start_marker_empties_an_unfinished_block():
    assert strip_reasoning(start="<think>")(["<think>still thinking"]) == [""]
    assert strip_reasoning(start="<think>")(["Answer: 3"]) == ["Answer: 3"]


def test_a_chain_strips_reasoning_before_extracting():
    chain = build_chain([{"function": "strip_reasoning"}, *STRICT], "x")
    assert chain(["<think>The answer is 3. No wait</think> The answer is 4."]) == ["4"]


CHAT_CODE = [  # a chat model's continuation of "```python\n{prompt}\n", and the code kept
    ("    return sorted(set(l))\n```\n\nThis removes duplicates, then sorts.", "    return sorted(set(l))\n"),
    ("    return x + y\n", "    return x + y\n"),  # stopped before closing the block
    ("```", ""),
    ("    s = '```'\n    return s\n```", "    s = '"),  # the first fence ends the code, as in lm-eval
    ("", ""),
]


@pytest.mark.parametrize("output, code", CHAT_CODE)
def test_cut_at_keeps_the_code_before_the_closing_fence_as_lm_evals_humaneval_instruct(output, code):
    # lm-eval's build_predictions_instruct: r if r.find("```") == -1 else r[: r.find("```")]
    assert cut_at("```")([output]) == [code] == [output if output.find("```") == -1 else output[:output.find("```")]]


@pytest.mark.parametrize("steps, message", [
    ([{"function": "cut_at", "marker": ""}], "bad options"),
    ([{"function": "regexp"}], "unknown filter function 'regexp'"),
    ([{"function": "regex", "pattern": "x"}], "bad options"),
    ([{"function": "regex", "regex_pattern": "(unclosed"}], "bad regex_pattern '(unclosed'"),
])
def test_bad_filter_steps_are_clear_errors(steps, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        build_chain(steps, "filter set 'mine'")


def test_a_task_file_with_a_bad_filter_names_the_file_and_the_step(tmp_path):
    from harness.errors import TaskError
    from harness.tasks.loader import load_task_file

    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\ndataset: {files: {test: rows.jsonl}}\noutput_type: generate\nprompt: '{{q}}'\n"
                    "target: '{{a}}'\nmetrics: [exact_match]\nfilters:\n  strict: [{function: regexp}]\n")
    with pytest.raises(TaskError) as error:
        load_task_file(path)
    assert "mine.yaml" in str(error.value) and "filter set 'strict', step 0: unknown filter function 'regexp'" \
        in str(error.value)


MAJORITY = [  # responses (already extracted) -> the majority vote, lm-eval's rule: most common, ties to the first seen
    (["18", "18", "17"], "18"),
    (["17", "18", "18", "17"], "17"),
    (["[invalid]", "[invalid]", "5"], "[invalid]"),
    (["5", "[invalid]", "[invalid]", "5", "5"], "5"),
    (["3"], "3"),
    (["1", "2", "3", "4", "2", "3"], "2"),
]


@pytest.mark.parametrize("responses,vote", MAJORITY)
def test_majority_vote_on_a_hand_made_table(responses, vote):
    assert build_chain([{"function": "majority_vote"}], "t")(responses) == [vote]


def test_majority_vote_equals_lm_evals_filter():
    from lm_eval.filters.selection import MajorityVoteFilter, TakeKFilter

    table = [r for r, _ in MAJORITY]
    assert [r[0] for r in MajorityVoteFilter().apply(table, None)] == [v for _, v in MAJORITY]
    maj2 = build_chain([{"function": "take_first_k", "k": 2}, {"function": "majority_vote"}], "t")
    assert [maj2(r) for r in table] == list(MajorityVoteFilter().apply(TakeKFilter(k=2).apply(table, None), None))


def test_maj_at_k_chain_extracts_then_votes():
    chain = build_chain([{"function": "take_first_k", "k": 3},
                         {"function": "regex", "regex_pattern": r"The answer is (\-?[0-9\.\,]*[0-9]+)"},
                         {"function": "majority_vote"}, {"function": "take_first"}], "t")
    outputs = ["So 4. The answer is 4.", "The answer is 5.", "The answer is 4.", "The answer is 5.", "The answer is 5."]
    assert chain(outputs) == ["4"] and chain([]) == []
