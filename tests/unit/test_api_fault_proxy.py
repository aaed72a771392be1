"""The fault-injecting proxy in front of the fake server: same answers, every request delivered exactly once.

The same check against the real llama.cpp server is in tests/integration/test_api_llama_cpp.py.
"""

from harness.models.api.model import create_completions
from harness.requests import Generate, Loglikelihood
from tests.fixtures.fake_openai import MODEL_ID, FakeOpenAIServer
from tests.fixtures.fault_proxy import FaultProxy

OPTIONS = "&max_concurrency=4&timeout=1&backoff=0.01"


def test_faults_change_nothing_but_the_retry_count():
    lls = [Loglikelihood(f"Question {i}: pick one.\nAnswer:", f" choice {c}") for i in range(12) for c in "AB"]
    gens = [Generate(f"Q{i}: say something\nA:", ("\n",), 6) for i in range(12)]
    with FakeOpenAIServer() as server:
        clean = create_completions(f"{MODEL_ID}?base_url={server.base_url}{OPTIONS}")
        want_ll, want_gen = clean.loglikelihood(lls), clean.generate(gens)
        with FaultProxy(server.httpd.server_address[1], every=2, hang_s=1.5, delay_s=(0.05, 0.2)) as proxy:
            faulty = create_completions(f"{MODEL_ID}?base_url={proxy.base_url}{OPTIONS}")
            got_ll, got_gen = faulty.loglikelihood(lls), faulty.generate(gens)
    assert got_ll == want_ll and got_gen == want_gen
    stats = faulty.stats.as_dict()
    # every distinct request was sent once by the adapter and delivered exactly once by the proxy
    assert stats["requests"]["completions"] == len(lls) + len(gens) == 36
    assert len(proxy.delivered) == 36 and set(proxy.delivered.values()) == {1}
    # each injected fault cost exactly one retry; attempts seen by the proxy = attempts made by the adapter
    assert sum(proxy.faults.values()) - proxy.faults["delay"] == sum(stats["retries"].values())
    assert sum(proxy.received.values()) == stats["attempts"]["completions"]
    # 36 first attempts, every second one faulted: 18 faults, the 7 kinds in turn (the second hang became a delay)
    assert dict(proxy.faults) == {"429": 3, "500": 3, "503": 3, "drop": 3, "drop_after": 2, "hang": 1, "delay": 3}
    assert stats["retries"] == {"429": 3, "500": 3, "503": 3, "connection (RemoteProtocolError)": 5, "timeout": 1}
    assert sum(proxy.forwarded.values()) == 36 + 2  # drop_after: the server did the work twice, scored once
