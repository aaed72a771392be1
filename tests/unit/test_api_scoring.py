"""Pure parts of the OpenAI-compatible adapter: echo-logprob scoring, settings, retry arithmetic."""
import random

import pytest

from harness.errors import ModelError
from harness.models.api.http import RetryPolicy, error_message, retry_after_seconds
from harness.models.api.scoring import offset_shift, score_continuation, score_rolling, span_indices
from harness.models.api.settings import parse_settings, public_url


def echo(tokens, logprobs, tops=None, offsets=None):
    if offsets is None:
        offsets, at = [], 0
        for token in tokens:
            offsets.append(at)
            at += len(token)
    return {"choices": [{"text": "".join(tokens), "logprobs": {
        "tokens": tokens, "text_offset": offsets, "token_logprobs": logprobs,
        "top_logprobs": tops or [None] * len(tokens)}}]}


PARIS = echo(["The", " capital", " of", " France", " is", " Paris", "."],
             [None, -5.0, -1.0, -2.0, -0.5, -0.26, -1.5],
             [None, {" capital": -5.0, " city": -1.0}, None, None, None, {" Paris": -0.26, " Lyon": -3.0},
              {".": -1.5}])


def test_continuation_is_the_tokens_between_the_offsets():
    # " Paris" starts at offset 24 = len(context); "." (offset 30) is the generated token and is not scored
    assert score_continuation(PARIS, "The capital of France is", " Paris") == (-0.26, True)
    total, greedy = score_continuation(PARIS, "The capital of", " France is Paris")
    assert total == pytest.approx(-2.0 - 0.5 - 0.26) and greedy
    total, greedy = score_continuation(PARIS, "The", " capital of")
    assert total == pytest.approx(-6.0) and not greedy      # " city" beat " capital"


def test_a_token_straddling_the_boundary_counts_as_context():
    response = echo(["The", " capital", " of", " France", " is", " Paris"], [None, -1.0, -1.0, -1.0, -1.0, -2.0])
    # context ends inside " is" (offset 21..24): " is" belongs to the context, only " Paris" is scored
    assert score_continuation(response, "The capital of France i", "s Paris")[0] == -2.0


def test_empty_context_needs_a_bos_prefix():
    response = echo(["Hello", " world"], [None, -3.0])
    with pytest.raises(ModelError, match="empty context"):
        score_continuation(response, "", "Hello world")
    # a server that echoes the BOS text scores every real token
    with_bos = echo(["<s>", "Hello", " world"], [None, -4.0, -3.0])
    assert score_continuation(with_bos, "", "Hello world", prefix="<s>") == (-7.0, True)
    # llama.cpp leaves the BOS out of the echoed tokens and offsets: detected from the tokens
    without = echo(["Hello", " world"], [-4.0, -3.0])
    assert offset_shift(["Hello", " world"], "<s>Hello world", "<s>") == -3
    assert score_continuation(without, "", "Hello world", prefix="<s>") == (-7.0, True)


def test_logprobs_shifted_by_one_token_are_refused():
    # llama-cpp-python without a BOS: "The capital of France is Paris" + generated "." but no "." in the logprobs
    shifted = echo(["The", " capital", " of", " France", " is", " Paris"], [None, -9.6, -10.5, -11.2, -11.8, -8.5])
    shifted["choices"][0]["text"] += "."
    with pytest.raises(ModelError, match="shifted by one token"):
        score_continuation(shifted, "The capital of France is", " Paris")
    # the same server with the BOS text in front: aligned, offsets without the BOS, "." present
    aligned = echo(["The", " capital", " of", " France", " is", " Paris", "."], [None, -15.7, -0.75, -4.2, -1.6, -0.27, -0.5])
    aligned["choices"][0]["text"] = "<|im_start|>The capital of France is Paris."
    assert score_continuation(aligned, "The capital of France is", " Paris", prefix="<|im_start|>") == (-0.27, True)


def test_rolling_skips_the_unconditioned_first_token_and_the_generated_one():
    response = echo(["Hello", " world", "!"], [None, -3.0, -9.0])
    assert score_rolling(response, "Hello world") == -3.0


def test_a_response_without_prompt_logprobs_is_an_error():
    with pytest.raises(ModelError, match="no prompt logprobs"):
        score_continuation({"choices": [{"text": "x", "logprobs": None}]}, "a", "b")


def test_span_indices():
    assert list(span_indices([0, 3, 11, 14], 11, 14)) == [2]
    assert list(span_indices([0, 3, 11, 14], 12, 20)) == [3]
    assert list(span_indices([0, 3], 5, 9)) == []


@pytest.mark.parametrize("value, seconds", [("2", 2.0), ("0.5", 0.5), ("-3", 0.0), (None, None), ("soon", None),
                                            ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0)])
def test_retry_after(value, seconds):
    now = 1445412480.0  # 2015-10-21 07:28:00 GMT
    assert retry_after_seconds(value, now=now) == seconds


def test_backoff_is_exponential_with_jitter_and_capped():
    policy, rng = RetryPolicy(backoff=1.0, max_backoff=5.0, max_retry_after=30.0), random.Random(1)
    delays = [policy.delay(k, None, rng) for k in range(5)]
    for k, delay in enumerate(delays):
        assert 0.5 * min(5.0, 2**k) <= delay <= min(5.0, 2**k)
    assert policy.delay(0, 7.0, rng) == 7.0 and policy.delay(0, 99.0, rng) == 30.0


def test_error_message_takes_the_servers_words():
    assert error_message(400, b'{"error": {"message": "prompt too long"}}') == "HTTP 400: prompt too long"
    assert error_message(422, b'{"detail": [{"msg": "field required"}]}').startswith("HTTP 422: [{")
    assert error_message(404, b"nope") == "HTTP 404: nope"


def test_settings_from_spec_and_run_options():
    run = {"base_url": "http://127.0.0.1:9/v1", "max_concurrency": 3, "timeout": 30}
    s = parse_settings("openai-completions", "m?timeout=2.5&max_retries=1", "d", {}, defaults=run)
    assert (s.model, s.base_url, s.max_concurrency, s.policy.timeout, s.policy.max_retries) == (
        "m", "http://127.0.0.1:9/v1", 3, 2.5, 1)
    s = parse_settings("openai-chat", "m?base_url=http://user:pw@127.0.0.1:8000&bos=<|im_start|>", "d", {})
    assert s.base_url == "http://user:pw@127.0.0.1:8000/v1" and s.public_url == "http://127.0.0.1:8000/v1"
    assert s.server == "127.0.0.1:8000" and s.bos == "<|im_start|>" and s.api_key_env == "OPENAI_API_KEY"
    assert parse_settings("openai-chat", "m", "d", {"OPENAI_BASE_URL": "http://h/v1"},
                          defaults={"api_key_env": "MY_KEY"}).api_key_env == "MY_KEY"
    assert parse_settings("openai-chat", "m", "d", {"EVALH_BASE_URL": "http://h/v1", "OPENAI_BASE_URL": "http://o/v1"}
                          ).base_url == "http://o/v1"  # EVALH_* reach the adapter only through the run's config
    assert public_url("https://k@h:1/v1?key=secret") == "https://h:1/v1"


@pytest.mark.parametrize("rest, message", [("m", "no server given"), ("m?base_url=ftp://x", "not an http"),
                                           ("m?base_url=http://h&color=red", "unknown option"),
                                           ("m?base_url=http://h&max_concurrency=0", "at least 1"),
                                           ("m?base_url=http://h&timeout=fast", "not a float")])
def test_bad_settings_are_model_errors(rest, message):
    with pytest.raises(ModelError, match=message):
        parse_settings("openai-completions", rest, "d", {})
