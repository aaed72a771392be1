"""The OpenAI-compatible adapter against a tiny in-process fake server on 127.0.0.1 (no model, seconds)."""
import asyncio
import json
import random
import subprocess
import sys

import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.errors import ModelError
from harness.models.api.model import api_seed, create_chat, create_completions
from harness.models.api.http import RetryPolicy, Transport, TransportStats, make_client
from harness.models.fake import fake_generation
from harness.models.resolve import load_model
from harness.requests import Generate, Loglikelihood, Rolling, Sampling
from harness.results import read_result, read_samples
from tests.fixtures.fake_openai import MODEL_ID, FakeOpenAIServer, is_top_token, token_logprob, tokenize

PROMPTS = ["Question: Capital of Italy?\nAnswer:", "English: Good morning.\nGerman:", "One\nTwo\nThree\nFour:"]


def expected_score(context: str, continuation: str) -> tuple[float, bool]:
    """Independent of the adapter: sum the fake's per-token numbers over the continuation's tokens."""
    text = context + continuation
    pieces = [(o, t) for o, t in tokenize(text) if o >= len(context)]
    return (sum(token_logprob(text[:o], t) for o, t in pieces), all(is_top_token(text[:o], t) for o, t in pieces))


@pytest.fixture
def server():
    with FakeOpenAIServer(hang_s=1.0) as fake:
        yield fake


def completions(server, options=""):
    return create_completions(f"{MODEL_ID}?base_url={server.base_url}{options}")


def test_generation_through_both_endpoints_in_request_order(server):
    requests = [Generate(p, ("\n",), 8) for p in PROMPTS] * 4  # duplicates are sent once
    expected = [fake_generation(r.prompt, r.until, r.max_tokens) for r in requests]
    assert expected[0] == " Capital of Italy?" and expected[1] == " Good morning."
    done = []
    assert completions(server, "&max_concurrency=3").generate(requests, progress=done.append) == expected
    assert sum(done) == len(requests) == 12
    assert server.paths["/v1/completions"] == 3
    chat = create_chat(f"{MODEL_ID}?base_url={server.base_url}")
    assert chat.generate(requests) == expected
    assert server.paths["/v1/chat/completions"] == 3


def test_sampled_requests_send_temperature_top_p_and_a_seed_per_repeat(server):
    model = completions(server)
    draws = [Generate(PROMPTS[1], ("\n",), 8, Sampling(0.8, 0.95, 0, seed, index)) for seed in (1, 2) for index in (0, 1)]
    model.generate([Generate(PROMPTS[1], ("\n",), 8), *draws])
    model.generate(draws[:1])  # a rerun of the same draw
    greedy = [b for b in server.bodies if "seed" not in b]
    assert len(greedy) == 1 and greedy[0]["temperature"] == 0.0 and "top_p" not in greedy[0]
    sampled = [b for b in server.bodies if "seed" in b]
    assert [(b["temperature"], b["top_p"]) for b in sampled] == [(0.8, 0.95)] * 5 and "top_k" not in sampled[0]
    assert {b["seed"] for b in sampled[:4]} == {api_seed(d.sampling) for d in draws}  # 4 draws, 4 server seeds
    assert len({api_seed(d.sampling) for d in draws}) == 4
    assert sampled[-1]["seed"] == api_seed(draws[0].sampling)  # a rerun sends the same seed


def test_concurrency_is_bounded_by_max_concurrency(server):
    requests = [Generate(f"Line {i}\nNext:", (), 4) for i in range(24)]
    completions(server, "&max_concurrency=4").generate(requests)
    assert 2 <= server.max_in_flight <= 4


def test_loglikelihood_from_echo_logprobs(server):
    requests = [Loglikelihood("Question: What is the capital of France?\nAnswer:", c) for c in (" Paris", " Lyon city")]
    requests.append(Loglikelihood("The sky is", " blue"))
    got = completions(server).loglikelihood(requests)
    assert got == [pytest.approx(expected_score(r.context, r.continuation)) for r in requests]
    assert all(lp < 0 for lp, _ in got) and len({g for _, g in got}) >= 1
    rolling = completions(server).loglikelihood_rolling([Rolling("Hello big world")])
    assert rolling == [pytest.approx(token_logprob("Hello", " big") + token_logprob("Hello big", " world"))]


def test_empty_context_with_and_without_bos(server):
    with pytest.raises(ModelError, match="bos="):
        completions(server).loglikelihood([Loglikelihood("", "Hello world")])
    (lp, _), = completions(server, "&bos=<s>").loglikelihood([Loglikelihood("", "Hello world")])
    assert lp == pytest.approx(token_logprob("<s>", "Hello") + token_logprob("<s>Hello", " world"))


def test_chat_only_servers_say_not_supported():
    with FakeOpenAIServer(chat_only=True) as fake:
        chat = create_chat(f"{MODEL_ID}?base_url={fake.base_url}")
        with pytest.raises(ModelError, match="not supported through the chat endpoint"):
            chat.loglikelihood([Loglikelihood("a", " b")])
        with pytest.raises(ModelError, match="HTTP 404: no route /v1/completions"):
            create_completions(f"{MODEL_ID}?base_url={fake.base_url}").loglikelihood([Loglikelihood("a", " b")])


def test_retries_recover_from_every_fault_and_count_once(server):
    server.faults = ["429", "500", "drop", "hang", "500"]
    model = completions(server, "&timeout=0.4&max_concurrency=1&backoff=0.01")
    requests = [Loglikelihood(f"Item {i} is", " fine") for i in range(6)]
    assert model.loglikelihood(requests) == [pytest.approx(expected_score(r.context, r.continuation)) for r in requests]
    stats = model.stats.as_dict()
    assert stats["requests"]["completions"] == 6 and stats["attempts"]["completions"] == 11
    assert stats["retries"] == {"429": 1, "500": 2, "connection (RemoteProtocolError)": 1, "timeout": 1}
    assert sum(server.answered.values()) == 6 and set(server.answered.values()) == {1}


def test_other_4xx_fail_fast_with_the_servers_message(server):
    server.faults = ["400"]
    with pytest.raises(ModelError, match="HTTP 400: injected 400"):
        completions(server).generate([Generate("x\ny:", (), 4)])
    assert server.paths["/v1/completions"] == 1


def test_gives_up_after_max_retries(server):
    server.faults = ["500"] * 5
    with pytest.raises(ModelError, match="gave up after 3 attempts .last: 500"):
        completions(server, "&max_retries=2&backoff=0.01").generate([Generate("x\ny:", (), 4)])
    assert server.paths["/v1/completions"] == 3


def test_retry_after_is_honoured_over_backoff(server):
    server.faults = ["429"]
    waits = []

    async def record(seconds):
        waits.append(seconds)

    async def go():
        async with make_client(server.base_url, {}, 1, 5.0) as client:
            transport = Transport(client, RetryPolicy(backoff=30.0), TransportStats(), random.Random(0), sleep=record)
            return await transport.request("POST", "chat/completions", {
                "model": MODEL_ID, "messages": [{"role": "user", "content": "a\nb:"}]})

    assert asyncio.run(go())["choices"][0]["message"]["content"] == " a"
    assert waits == [0.0]  # the server's Retry-After: 0, not 15-30 s of backoff


def test_works_when_the_caller_runs_an_event_loop(server):
    async def inside():
        return completions(server).generate([Generate(PROMPTS[1], ("\n",), 8)])

    assert asyncio.run(inside()) == [" Good morning."]


def test_model_info_names_server_model_and_version(server):
    info = completions(server).info()
    assert info.name == f"openai-completions:{MODEL_ID}" and info.adapter == "openai-completions"
    assert info.source == server.base_url and info.extra["server"] == f"127.0.0.1:{server.httpd.server_address[1]}"
    assert info.extra["server_version"] == "version:9.9.9" and info.context_length == 4096
    assert completions(server).info().fingerprint == info.fingerprint  # the same server: the same cache keys
    with FakeOpenAIServer() as other:  # the same model name on another port may be another model
        assert completions(other).info().fingerprint != info.fingerprint
    assert create_chat(f"?base_url={server.base_url}").model == MODEL_ID  # no name: the server's first model


def test_unknown_model_and_unreachable_server():
    with FakeOpenAIServer() as fake:
        with pytest.raises(ModelError, match=f"serves {MODEL_ID}, not 'gpt-9'"):
            create_completions(f"gpt-9?base_url={fake.base_url}")
        port = fake.httpd.server_address[1]
    with pytest.raises(ModelError, match="gave up after 2 attempts"):
        create_completions(f"m?base_url=http://127.0.0.1:{port}/v1&max_retries=1&timeout=1")


def test_api_key_is_sent_but_never_recorded(tmp_path, monkeypatch):
    secret = "sk-evalh-test-0123456789"
    monkeypatch.setenv("MY_SERVER_KEY", secret)
    monkeypatch.setenv("EVALH_API_KEY_ENV", "MY_SERVER_KEY")
    with FakeOpenAIServer(require_key=secret) as fake:
        monkeypatch.setenv("EVALH_BASE_URL", fake.base_url)
        result = CliRunner().invoke(main, ["run", "--model", f"openai-completions:{MODEL_ID}", "--tasks",
                                           "starter_mc,starter_extractive_qa", "--limit", "3",
                                           "--output-dir", str(tmp_path / "runs"),
                                           "--cache", "--cache-dir", str(tmp_path / "cache")])
        assert result.exit_code == 0, result.output
        assert any(h.get("Authorization") == f"Bearer {secret}" for h in fake.headers_seen)
        model = load_model(f"openai-completions:{MODEL_ID}")
    assert secret not in result.output and secret not in repr(model) and secret not in model.info().model_dump_json()
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert any(p.name == "results.json" for p in files) and any(p.suffix == ".sqlite" for p in files)
    for path in files:  # results, samples and the response cache
        assert secret.encode() not in path.read_bytes(), path


def test_cli_run_end_to_end_matches_direct_computation(tmp_path, server):
    spec = f"openai-completions:{MODEL_ID}?base_url={server.base_url}&max_concurrency=4"
    result = CliRunner().invoke(main, ["run", "--model", spec, "--tasks", "starter_mc,starter_extractive_qa",
                                       "--limit", "5", "--output-dir", str(tmp_path), "--no-cache"])
    assert result.exit_code == 0, result.output
    run_dir, = tmp_path.iterdir()
    run, samples = read_result(run_dir), read_samples(run_dir)
    assert run.model.adapter == "openai-completions" and len(samples) == 10
    for sample in samples:
        if sample.task == "starter_mc":
            want = [expected_score(sample.prompt, " " + c)[0] for c in sample.choices]
            assert sample.logprobs == pytest.approx(want)
            assert sample.scores["acc"] == float(max(range(len(want)), key=want.__getitem__) == sample.target)
        else:
            assert sample.response == fake_generation(sample.prompt, ("\n",), 16)
    assert run.tasks["starter_mc"].metrics["acc"].value == pytest.approx(
        sum(s.scores["acc"] for s in samples if s.task == "starter_mc") / 5)


def test_importing_the_adapter_is_light():
    code = ("import sys, harness.models.api.model\n"
            "print(json.dumps([m for m in ('torch', 'transformers', 'httpx') if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", "import json\n" + code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_run_options_give_the_server_and_concurrency_unless_the_name_says_otherwise():
    from harness.models.api.model import _run_options
    from harness.models.api.settings import parse_settings
    from harness.models.resolve import LoadOptions

    defaults = _run_options(LoadOptions(base_url="http://127.0.0.1:9/v1", max_concurrency=7, api_timeout=3.5))
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:8/v1"}
    settings = parse_settings("openai-completions", "m", "d", env=env, defaults=defaults)
    assert (settings.base_url, settings.max_concurrency, settings.policy.timeout) == ("http://127.0.0.1:9/v1", 7, 3.5)
    named = parse_settings("openai-completions", "m?max_concurrency=2", "d", env=env, defaults=defaults)
    assert named.max_concurrency == 2
    assert parse_settings("openai-completions", "m", "d", env=env).base_url == "http://127.0.0.1:8/v1"


def test_environment_settings_reach_a_model_created_without_options(monkeypatch):
    from harness.models.api.model import _run_options
    from harness.models.api.settings import parse_settings

    monkeypatch.setenv("EVALH_BASE_URL", "http://127.0.0.1:7/v1")
    monkeypatch.setenv("EVALH_API_TIMEOUT", "4.5")
    settings = parse_settings("openai-completions", "m", "d", {}, defaults=_run_options(None))
    assert (settings.base_url, settings.policy.timeout) == ("http://127.0.0.1:7/v1", 4.5)


def test_two_servers_serving_one_model_name_never_share_cached_answers(tmp_path):
    """Same model name, other answers, one response cache: each run reports its own server's responses."""
    from harness.results import read_samples

    cache = ["--cache", "--cache-dir", str(tmp_path / "cache")]
    with FakeOpenAIServer() as first, FakeOpenAIServer(answer_prefix=" second:") as second:
        runs = {}
        for name, fake in (("first", first), ("second", second)):
            spec = f"openai-completions:{MODEL_ID}?base_url={fake.base_url}"
            result = CliRunner().invoke(main, ["run", "--model", spec, "--tasks", "starter_extractive_qa",
                                               "--limit", "3", "--output-dir", str(tmp_path / name), *cache])
            assert result.exit_code == 0, result.output
            runs[name], = (tmp_path / name).iterdir()
        assert sum(second.answered.values()) == 3  # asked, not answered from the first server's cache entries
    first_run, second_run = read_result(runs["first"]), read_result(runs["second"])
    assert first_run.model.fingerprint != second_run.model.fingerprint
    assert second_run.timings["cache_hits"] == 0
    assert all(not s.response.startswith(" second:") for s in read_samples(runs["first"]))
    assert all(s.response.startswith(" second:") for s in read_samples(runs["second"]))
    assert second_run.model.extra["base_url"] == second.base_url
