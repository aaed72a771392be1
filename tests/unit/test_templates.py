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


HOSTILE = [
    ('{{ "x" * 10**10 }}', "10000000000 items or characters"),
    ('{{ "{0:>2000000000}".format(1) }}', "a width or precision of 2000000000"),
    ('{{ "{:>{}}".format(1, 2000000000) }}', "a width or precision of 2000000000"),
    ('{{ "%2000000000s" % "a" }}', "a width or precision of 2000000000"),
    ('{{ "%2000000000s"|format("a") }}', "a width or precision of 2000000000"),
    ('{{ "a".ljust(2000000000) }}', "a width or precision of 2000000000"),
    ('{{ "a"|center(2000000000) }}', "a width or precision of 2000000000"),
    ('{{ 10**(10**8) }}', "has more than 4096 bits"),
    ('{% set ns = namespace(x=3) %}{% for i in range(40) %}{% set ns.x = ns.x * ns.x %}{% endfor %}{{ ns.x }}',
     "an integer of more than 4096 bits"),
    ('{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}',
     "more than 100000 loop iterations"),
    ('{% for c in "y" * 1000 %}{% for d in "y" * 1000 %}{{ c }}{% endfor %}{% endfor %}',
     "more than 100000 loop iterations"),
    ('{{ ("a" * 100000)|replace("a", "b" * 100000) }}', "replace would make a text longer than 1000000"),
    ('{{ ("a" * 40 ~ "b")|regex_replace("(a|aa)+$", "x") }}', "ran longer than 1.0 s"),  # exponential backtracking
]


@pytest.mark.parametrize("source, message", HOSTILE)
def test_templates_cannot_exhaust_time_or_memory(source, message):
    import time

    started = time.monotonic()
    for render in (render_text, render_value):
        with pytest.raises(DataError, match="TemplateLimitError") as caught:
            render(source, ROW, "task x, row 0, field 'prompt'")
        assert message in str(caught.value) and str(caught.value).startswith("task x, row 0, field 'prompt': ")
    assert time.monotonic() - started < 10


def test_limits_leave_ordinary_templates_alone():
    row = {"q": "Why?", "opts": ["a", "b"], "n": 3, "text": "a [b] c"}
    source = ('{% for o in opts %}{{ loop.index }}. {{ o|upper }}{% endfor %} {{ "-" * 3 }} {{ 2**10 }} '
              '{{ "{:>4}".format(q) }} {{ "%03d" % n }} {{ text|regex_replace("\\\\[.*?\\\\]", "") }} {{ q|center(8) }}')
    assert render_text(source, row, "t") == "1. A2. B --- 1024 Why? 003 a  c   Why?  "
    assert render_value("{{ opts + ['c'] }}", row, "t") == ["a", "b", "c"]
