"""harness.redact: credentials in URLs, headers, fields and the environment become ***; other text is kept."""
import json

import pytest

from harness.redact import redact, redact_value

NO_ENV: dict[str, str] = {}


@pytest.mark.parametrize("text, want", [
    ("http://user:pa55@127.0.0.1:8000/v1", "http://user:***@127.0.0.1:8000/v1"),
    ("loading model openai-completions:m?base_url=https://u:p%40ss@h.example/v1&x=1 ...",
     "loading model openai-completions:m?base_url=https://u:***@h.example/v1&x=1 ..."),
    ("https://ghp_token123@github.com/x", "https://***@github.com/x"),
    ("Authorization: Bearer sk-abcdefghijkl", "Authorization: Bearer ***"),
    ('{"Authorization": "Bearer abc.def"}', '{"Authorization": "Bearer ***"}'),
    ("HTTP 400: headers {'authorization': 'Basic dXNlcjpwYXNz'}", "HTTP 400: headers {'authorization': 'Basic ***'}"),
    ("authorization=rawtokenvalue", "authorization=***"),
    ("x-api-key: abc123, next", "x-api-key: ***, next"),
    ("?api_key=abc&limit=3", "?api_key=***&limit=3"),
    ('"password": "hunter22"', '"password": "***"'),
    ("invalid key sk-proj-ABCDEFGHIJKLMNOP given", "invalid key sk-*** given"),
    ("http://127.0.0.1:8000/v1 and 10:30 and a@b.c", "http://127.0.0.1:8000/v1 and 10:30 and a@b.c"),
    ("task mine, row 1, field 'target': 'a' is undefined", "task mine, row 1, field 'target': 'a' is undefined"),
])
def test_redact_known_values(text, want):
    assert redact(text, NO_ENV) == want


def test_values_of_secret_environment_variables_are_masked():
    env = {"OPENAI_API_KEY": "plain-secret-value", "HF_TOKEN": "hf_abcdefgh", "HOME": "/home/someone", "X_KEY": "1"}
    assert redact("echo plain-secret-value hf_abcdefgh /home/someone 1", env) == "echo *** *** /home/someone 1"


def test_redacted_json_stays_json():
    doc = {"config": {"base_url": "http://u:p@h:1/v1", "models": ["openai-chat:m?base_url=http://u:p@h/v1"]},
           "errors": [{"message": 'HTTP 400: echoed {"Authorization": "Bearer sk-0123456789ab"}'}]}
    text = redact(json.dumps(doc), NO_ENV)
    assert json.loads(text) == redact_value(doc, NO_ENV)
    assert "p@h" not in text and "0123456789ab" not in text


def test_redact_value_walks_nested_structures():
    assert redact_value({"a": ["http://u:pw@h/x", 3, ("Bearer t0k",)], "b": None}, NO_ENV) == \
        {"a": ["http://u:***@h/x", 3, ("Bearer ***",)], "b": None}
