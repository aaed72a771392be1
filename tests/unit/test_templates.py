import pytest

from harness.errors import DataError
from harness.tasks.templates import render_text, render_value

ROW = {"question": "Why?", "choices": {"text": ["a", "b"], "label": ["A", "B"]}, "answerKey": "B", "n": "1e3"}


def test_text_template_renders_fields():
    assert render_text("Question: {{question}}\nAnswer:", ROW, "t") == "Question: Why?\nAnswer:"


@pytest.mark.parametrize("source, expected", [
    ("{{choices.text}}", ["a", "b"]),                 # a list stays a list
    ("{{choices.label.index(answerKey)}}", 1),        # lm-eval's ARC target expression
    ("{{n}}", "1e3"),                                  # text is never literal_eval'd into a number
    ("{{question}} {{answerKey}}", "Why? B"),
    (3, 3),
    (["{{answerKey}}", "x"], ["B", "x"]),
])
def test_native_values(source, expected):
    assert render_value(source, ROW, "t") == expected


def test_missing_field_names_task_and_fields():
    with pytest.raises(DataError, match=r"task x, row 3, field 'prompt': 'missing' is undefined \(the row has fields: answerKey, choices, n, question\)"):
        render_text("{{missing}}", ROW, "task x, row 3, field 'prompt'")


def test_templates_cannot_reach_python_internals():
    with pytest.raises(DataError, match="unsafe"):
        render_value("{{ ().__class__.__base__.__subclasses__() }}", ROW, "t")


def test_missing_field_in_a_value_template_is_an_error():
    with pytest.raises(DataError, match="'a' is undefined"):
        render_value("{{a}}", ROW, "t")
