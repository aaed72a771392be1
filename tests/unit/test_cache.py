"""The response cache: keys, exact round-trips, batching in the runner, sharing, and bad files."""
from __future__ import annotations

import hashlib
import math
import sqlite3
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cache import CacheError, ResponseCache, default_cache_path, request_hash
from harness.cli import main
from harness.config import load_config
from harness.models.fake import FakeModel
from harness.requests import Generate, Loglikelihood, Rolling, Sampling
from harness.runner import Runner
from harness.tasks.loader import build_index


@pytest.fixture
def cache(tmp_path: Path):
    with ResponseCache.open(tmp_path / "responses.sqlite") as opened:
        yield opened


class CountingFake(FakeModel):
    """The fake, remembering the size of every call it gets."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.batches: list[list] = []

    def loglikelihood(self, requests, progress=None):
        self.batches.append(list(requests))
        return super().loglikelihood(requests, progress)

    def generate(self, requests, progress=None):
        self.batches.append(list(requests))
        return super().generate(requests, progress)


def test_request_hash_is_sha256_of_canonical_json():
    want = hashlib.sha256(b'{"context":"a","continuation":" b","kind":"loglikelihood"}').hexdigest()
    assert request_hash(Loglikelihood("a", " b")) == want
    gen = b'{"kind":"generate","max_tokens":8,"prompt":"p\xc3\xa9","until":["\\n"]}'
    assert request_hash(Generate("p\u00e9", ("\n",), 8)) == hashlib.sha256(gen).hexdigest()
    # same text, other kind or other settings: other keys
    assert len({request_hash(Rolling("x")), request_hash(Generate("x")), request_hash(Generate("x", max_tokens=9))}) == 3


def test_sampled_generations_are_keyed_by_settings_seed_and_repeat(cache):
    base = Generate("p", ("\n",), 8)
    sampled = [Generate("p", ("\n",), 8, Sampling(0.8, 0.95, 0, seed, index)) for seed in (1, 2) for index in (0, 1)]
    sampled += [Generate("p", ("\n",), 8, Sampling(0.7, 0.95, 0, 1, 0)), Generate("p", ("\n",), 8, Sampling(0.8))]
    assert len({request_hash(r) for r in [base, *sampled]}) == 7
    cache.put_many("fp", [(r, f"text {k}") for k, r in enumerate(sampled)])
    assert cache.get_many("fp", [base, *sampled]) == {r: f"text {k}" for k, r in enumerate(sampled)}


def test_floats_round_trip_bit_for_bit(cache):
    values = [0.1 + 0.2, -5e-324, -1.7976931348623157e308, math.nextafter(-2.5, 0), -0.0, -math.inf, 1 / 3]
    pairs = [(Loglikelihood("c", str(k)), (v, k % 2 == 0)) for k, v in enumerate(values)]
    pairs += [(Rolling(str(k)), v) for k, v in enumerate(values)]
    assert cache.put_many("fp", pairs) == 14
    got = cache.get_many("fp", [r for r, _ in pairs])
    for request, response in pairs:
        want = response[0] if isinstance(request, Loglikelihood) else response
        value = got[request][0] if isinstance(request, Loglikelihood) else got[request]
        assert struct.pack("<d", value) == struct.pack("<d", want)
    assert got[Loglikelihood("c", "0")] == (values[0], True) and got[Loglikelihood("c", "1")][1] is False
    cache.put_many("fp", [(Rolling("nan"), math.nan), (Generate("g", ("\n",)), " Grüße\n\u2028")])
    assert math.isnan(cache.get_many("fp", [Rolling("nan")])[Rolling("nan")])
    assert cache.get_many("fp", [Generate("g", ("\n",))]) == {Generate("g", ("\n",)): " Grüße\n\u2028"}


def test_fingerprints_are_separate_and_lookups_span_many_keys(cache):
    requests = [Loglikelihood("ctx", f" {k}") for k in range(1000)]
    cache.put_many("model-a", [(r, (-float(k), False)) for k, r in enumerate(requests)])
    cache.put_many("model-b", [(r, (1.0, True)) for r in requests[:10]])
    got = cache.get_many("model-a", [*requests, Loglikelihood("other", " 1")])
    assert len(got) == 1000 and got[requests[999]] == (-999.0, False)
    assert len(cache.get_many("model-b", requests)) == 10 and cache.get_many("model-c", requests) == {}
    info = cache.info()
    assert info.entries == {"model-a": {"loglikelihood": 1000}, "model-b": {"loglikelihood": 10}} and info.total == 1010
    assert cache._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert cache.clear("model-b") == 10 and cache.info().total == 1000
    assert cache.clear() == 1000 and cache.info().entries == {}


def test_runner_commits_in_chunks_that_keep_an_items_choices_together(cache):
    spec = build_index().tasks["starter_mc"]
    model = CountingFake()
    result, samples = Runner(model, cache=cache, flush_every=10).run_task(spec)
    sizes = [len(b) for b in model.batches]
    assert sum(sizes) == 192 and sizes == [12] * 16  # 10 rounded up to whole 4-choice items
    assert all(len({r.context for r in b}) == 3 for b in model.batches)
    assert cache.info().total == 192
    # a fresh runner (empty memo) gets everything from the cache and scores the same
    again = CountingFake()
    runner = Runner(again, cache=cache)
    result2, samples2 = runner.run_task(spec)
    assert again.batches == [] and runner.cache_stats == {"hits": 192, "misses": 0}
    assert result2.metrics == result.metrics and samples2 == samples
    plain, plain_samples = Runner(FakeModel()).run_task(spec)
    assert plain.metrics == result.metrics and plain_samples == samples


def test_runner_without_cache_sends_one_call_per_kind():
    model = CountingFake()
    runner = Runner(model)
    runner.run_task(build_index().tasks["starter_mc"])
    assert [len(b) for b in model.batches] == [192] and runner.cache_stats == {"hits": 0, "misses": 192}


def test_generation_chunks_split_at_flush_every(cache):
    model = CountingFake()
    Runner(model, cache=cache, flush_every=20).run_task(build_index().tasks["starter_extractive_qa"])
    assert [len(b) for b in model.batches] == [20, 20, 8]


def test_cli_second_run_is_all_hits_and_cache_commands(tmp_path):
    cache_dir = tmp_path / "cache"
    args = ["run", "-m", "fake", "-m", "fake:seed=1", "-t", "starter_mc", "--limit", "5",
            "--cache", "--cache-dir", str(cache_dir), "--output-dir"]
    first = CliRunner().invoke(main, [*args, str(tmp_path / "a")])
    second = CliRunner().invoke(main, [*args, str(tmp_path / "b")])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    from harness.results import read_result

    timings = [read_result(p).timings for p in sorted((tmp_path / "b").iterdir())]
    assert [(t["cache_hits"], t["cache_misses"]) for t in timings] == [(20, 0), (20, 0)]
    info = CliRunner().invoke(main, ["cache", "info", "--cache-dir", str(cache_dir)])
    assert info.exit_code == 0 and "entries: 40" in info.output
    assert "fake:seed=0: 20 (loglikelihood 20)" in info.output and "fake:seed=1: 20" in info.output
    cleared = CliRunner().invoke(main, ["cache", "clear", "--model-fingerprint", "fake:seed=1",
                                        "--cache-dir", str(cache_dir)])
    assert cleared.exit_code == 0 and "deleted 20 cached response(s) of fake:seed=1" in cleared.output
    assert "entries: 20" in CliRunner().invoke(main, ["cache", "info", "--cache-dir", str(cache_dir)]).output


def test_no_cache_writes_no_file_and_env_relocates(tmp_path, monkeypatch):
    monkeypatch.setenv("EVALH_CACHE_DIR", str(tmp_path / "envcache"))
    out = CliRunner().invoke(main, ["run", "-m", "fake", "-t", "starter_mc", "--limit", "2", "--no-cache",
                                    "--output-dir", str(tmp_path / "runs")])
    assert out.exit_code == 0, out.output
    assert not (tmp_path / "envcache").exists()
    from harness.results import read_result

    assert "cache_hits" not in read_result(next((tmp_path / "runs").iterdir())).timings
    assert default_cache_path(load_config().cache_dir) == tmp_path / "envcache" / "responses.sqlite"
    config = load_config({}, env={"EVALH_CACHE": "0", "EVALH_CACHE_DIR": "/x"})
    assert (config.cache, config.cache_dir) == (False, "/x")


def test_corrupt_file_is_a_clear_error_and_clear_fixes_it(tmp_path):
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    bad = cache_dir / "responses.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CacheError, match="evalh cache clear.*--no-cache") as caught:
        ResponseCache.open(bad)
    assert str(bad) in str(caught.value)
    out = CliRunner().invoke(main, ["run", "-m", "fake", "-t", "starter_mc", "--limit", "2",
                                    "--cache", "--cache-dir", str(cache_dir), "--output-dir", str(tmp_path / "runs")])
    assert out.exit_code == 2 and str(bad) in out.output and "Traceback" not in out.output
    info = CliRunner().invoke(main, ["cache", "info", "--cache-dir", str(cache_dir)])
    assert info.exit_code == 1 and "evalh cache clear" in info.output and "Traceback" not in info.output
    cleared = CliRunner().invoke(main, ["cache", "clear", "--cache-dir", str(cache_dir)])
    assert cleared.exit_code == 0 and "unreadable; deleted" in cleared.output and not bad.exists()
    again = CliRunner().invoke(main, ["run", "-m", "fake", "-t", "starter_mc", "--limit", "2",
                                      "--cache", "--cache-dir", str(cache_dir), "--output-dir", str(tmp_path / "runs")])
    assert again.exit_code == 0, again.output


_WRITER = """
import sys
from harness.cache import ResponseCache
from harness.requests import Loglikelihood
path, name = sys.argv[1], sys.argv[2]
with ResponseCache.open(path) as cache:
    for batch in range(40):
        shared = [(Loglikelihood("shared", f" {batch}-{k}"), (-1.5, True)) for k in range(10)]
        own = [(Loglikelihood(name, f" {batch}-{k}"), (-2.5, False)) for k in range(10)]
        cache.put_many("fp", shared + own)
        assert len(cache.get_many("fp", [r for r, _ in shared])) == 10
"""


def test_two_processes_share_one_cache(tmp_path):
    path = tmp_path / "responses.sqlite"
    ResponseCache.open(path).close()
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(path), name], stderr=subprocess.PIPE, text=True)
             for name in ("one", "two")]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    with ResponseCache.open(path) as cache:
        assert cache.info().entries == {"fp": {"loglikelihood": 400 + 400 + 400}}
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
