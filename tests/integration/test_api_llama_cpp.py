"""evalh through a real OpenAI-compatible server: llama-cpp-python serving SmolLM2 on 127.0.0.1.

The server is started once for the module and stopped at its end (the fixture checks that it exited).
One run of starter tasks goes straight to the server, one through a fault-injecting proxy; both must
give the same scores, with every sample scored once. Skipped only when llama_cpp is not importable.
"""
import pytest
from harness import RunConfig, evaluate
from harness.errors import ModelError
from harness.models.api.model import create_chat, create_completions
from harness.models.resolve import load_model
from harness.requests import Generate, Loglikelihood
from harness.results import read_result, read_samples
from tests.fixtures.fault_proxy import FaultProxy
from tests.fixtures.llama_server import ALIAS, LlamaServer, llama_cpp_missing, smollm2_gguf

pytestmark = [pytest.mark.slow, pytest.mark.skipif(llama_cpp_missing() is not None, reason=str(llama_cpp_missing()))]
TASKS = "starter_mc,starter_extractive_qa"
LIMIT = 4  # llama-cpp-python sorts the whole vocabulary in Python per echoed token: ~2-4 s per scored prompt here
BOS = "<|im_start|>"  # SmolLM2's BOS text: without it llama-cpp-python's echo logprobs are off by one token


@pytest.fixture(scope="module")
def server():
    with LlamaServer(smollm2_gguf()) as running:
        yield running
    assert running.process.poll() is not None  # stopped


def spec(base_url: str, extra: str = "") -> str:
    return f"openai-completions:{ALIAS}?base_url={base_url}&bos={BOS}&max_concurrency=2&timeout=30{extra}"


def run_starter(tmp_path, model_spec: str):
    """`evalh run` on TASKS through the library (as the CLI does), keeping the adapter for its counters."""
    loaded = []

    def load(name, options):
        loaded.append(load_model(name, options))
        return loaded[-1]

    config = RunConfig(models=[model_spec], tasks=TASKS.split(","), limit=LIMIT, output_dir=str(tmp_path),
                       cache=False)  # both runs must reach the server
    evaluation = evaluate(config, load=load)
    assert evaluation.ok, evaluation.errors or evaluation.runs[0][1].errors
    (run_dir, _), = evaluation.runs
    return read_result(run_dir), read_samples(run_dir), loaded[0]


@pytest.fixture(scope="module")
def clean_run(server, tmp_path_factory):
    return run_starter(tmp_path_factory.mktemp("clean"), spec(server.base_url))


def test_smollm2_knows_paris_through_the_server(server):
    model = load_model(spec(server.base_url))
    (paris, greedy), (london, _) = model.loglikelihood(
        [Loglikelihood("The capital of France is", " Paris"), Loglikelihood("The capital of France is", " London")])
    assert -1.0 < paris < 0 and london < -3.0 and greedy   # MODELS.md (torch): -0.26 vs -4.4
    info = model.info()
    assert info.extra["server"] == f"127.0.0.1:{server.port}" and info.extra["served_model"] == ALIAS
    assert info.source == server.base_url and len(info.fingerprint) == 32


def test_starter_tasks_through_the_server(clean_run):
    run, samples, _ = clean_run
    assert run.model.adapter == "openai-completions" and set(run.tasks) == set(TASKS.split(","))
    assert len(samples) == 2 * LIMIT and not run.errors
    mc = [s for s in samples if s.task == "starter_mc"]
    assert all(len(s.logprobs) == len(s.choices) and max(s.logprobs) < 0 for s in mc)
    assert run.tasks["starter_mc"].metrics["acc"].value >= 0.5          # chance is 0.25
    qa = run.tasks["starter_extractive_qa"].metrics
    assert qa["f1"].value > 0.2 and all(s.response is not None for s in samples if s.task == "starter_extractive_qa")


def test_faults_change_nothing(server, clean_run, tmp_path):
    """429 + Retry-After, 500/503, dropped connections (before and after the server did the work), a hang past
    the timeout, delays: the run completes, with every request delivered once and the same scores."""
    with FaultProxy(server.port, every=2, hang_s=16.0, max_hangs=1) as proxy:
        run, samples, adapter = run_starter(tmp_path, spec(proxy.base_url, "&timeout=15&backoff=0.2"))
    clean, clean_samples, clean_adapter = clean_run
    assert not run.errors and len(samples) == len(clean_samples)
    key = lambda s: (s.task, s.sample_id)  # noqa: E731
    assert sorted(map(key, samples)) == sorted(map(key, clean_samples))  # each sample once
    by_key = {key(s): s for s in clean_samples}
    for sample in samples:
        twin = by_key[key(sample)]
        assert sample.scores == twin.scores and sample.response == twin.response
        assert sample.logprobs == pytest.approx(twin.logprobs, abs=1e-3)
    for name, task in run.tasks.items():
        assert {m: v.value for m, v in task.metrics.items()} == pytest.approx(
            {m: v.value for m, v in clean.tasks[name].metrics.items()}, abs=1e-9)
    stats, distinct = adapter.stats.as_dict(), len(proxy.received)
    # the adapter sent each distinct request once, as in the clean run; the proxy delivered each exactly once
    assert stats["requests"]["completions"] == clean_adapter.stats.as_dict()["requests"]["completions"]
    assert stats["requests"]["completions"] == distinct and len(proxy.delivered) == distinct
    assert set(proxy.delivered.values()) == {1}
    # every attempt the adapter made reached the proxy, and every injected fault cost a retry
    assert stats["attempts"]["completions"] == sum(proxy.received.values())
    assert proxy.faults["hang"] == 1 and {"429", "500", "503", "drop", "drop_after"} <= set(proxy.faults)
    assert stats["retries"]["429"] == proxy.faults["429"] and stats["retries"]["timeout"] >= 1
    assert sum(stats["retries"].values()) >= sum(proxy.faults.values()) - proxy.faults["delay"]
    print(f"\nfault run: {distinct} distinct requests, {sum(proxy.received.values())} attempts, "
          f"faults {dict(proxy.faults)}, retries {stats['retries']}, answers lost to timeouts {proxy.lost}")


def test_llama_cpp_quirks_are_explained(server):
    """Without the BOS text the server's logprobs are shifted; an empty context cannot be scored at all."""
    with pytest.raises(ModelError, match="shifted by one token"):
        create_completions(f"{ALIAS}?base_url={server.base_url}").loglikelihood([Loglikelihood("The sky is", " blue")])
    with pytest.raises(ModelError, match="empty context"):
        load_model(spec(server.base_url)).loglikelihood([Loglikelihood("", "The sky is blue.")])


def test_chat_endpoint_generates_and_refuses_loglikelihood(server):
    chat = create_chat(f"{ALIAS}?base_url={server.base_url}&timeout=60")
    answer, = chat.generate([Generate("What is the capital of France? Answer in one word.", ("\n",), 16)])
    assert "paris" in answer.lower()
    with pytest.raises(ModelError, match="not supported through the chat endpoint"):
        chat.loglikelihood([Loglikelihood("a", " b")])
