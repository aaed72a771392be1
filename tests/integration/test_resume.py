"""Resume: a run killed with SIGKILL mid-task, started again, computes only what is missing and
writes results identical to an uninterrupted run's.

The run goes through `harness.evaluate` (what `evalh run` calls) in a subprocess, with a slowed-down
fake model injected as the loader; the fake appends the size of every answered call to a log, so the
test counts exactly how many requests each run sent to the model.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from harness.cache import ResponseCache
from harness.results import read_result

FLUSH_EVERY = 16
DELAY_S = 0.005  # per request: ~1.9 s for the 384 unique requests of TASKS
TASKS = ["starter_bias_pairs", "starter_extractive_qa", "starter_mc", "starter_translation_en_de"]  # run in this order
_WORKER = r"""
import json, os, sys, time
import harness.runner
from harness.config import RunConfig
from harness.evaluation import evaluate
from harness.models.fake import FakeModel

harness.runner.FLUSH_EVERY = int(os.environ["FLUSH_EVERY"])
DELAY, LOG = float(os.environ["DELAY_S"]), os.environ["SENT_LOG"]


class SlowFake(FakeModel):
    def _answered(self, requests, out):
        time.sleep(DELAY * len(requests))
        with open(LOG, "a") as handle:
            handle.write(f"{len(requests)}\n")
        return out

    def loglikelihood(self, requests, progress=None):
        return self._answered(requests, super().loglikelihood(requests, progress))

    def generate(self, requests, progress=None):
        return self._answered(requests, super().generate(requests, progress))

    def loglikelihood_rolling(self, requests, progress=None):
        return self._answered(requests, super().loglikelihood_rolling(requests, progress))


evaluate(RunConfig(**json.loads(sys.argv[1])), load=lambda name, options: SlowFake(name=name))
"""


def _start(tmp_path: Path, label: str, cache_dir: Path) -> tuple[subprocess.Popen, Path, Path]:
    out, log = tmp_path / f"runs-{label}", tmp_path / f"sent-{label}.log"
    config = {"models": ["fake"], "tasks": TASKS, "output_dir": str(out), "cache": True,
              "cache_dir": str(cache_dir)}
    env = {**os.environ, "FLUSH_EVERY": str(FLUSH_EVERY), "DELAY_S": str(DELAY_S), "SENT_LOG": str(log)}
    proc = subprocess.Popen([sys.executable, "-c", _WORKER, json.dumps(config)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, out, log


def _sent(log: Path) -> list[int]:
    return [int(line) for line in log.read_text().split()] if log.exists() else []


def _finished_tasks(out: Path) -> int:
    try:
        return len(json.loads(next(out.iterdir()).joinpath("results.json").read_text())["tasks"])
    except (StopIteration, OSError, ValueError):
        return 0


def _run_to_end(tmp_path: Path, label: str, cache_dir: Path) -> tuple[Path, Path]:
    proc, out, log = _start(tmp_path, label, cache_dir)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    return next(out.iterdir()), log


def _kill_mid_third_task(tmp_path: Path, cache_dir: Path) -> tuple[Path, list[int]]:
    proc, out, log = _start(tmp_path, "killed", cache_dir)
    deadline = time.monotonic() + 120
    while _finished_tasks(out) < 2:  # bias pairs (96 requests), extractive QA (48) are written
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[1]
        time.sleep(0.005)
    at_two = sum(_sent(log))
    while sum(_sent(log)) <= at_two:  # a chunk into starter_mc (192 requests: 12 chunks, ~1 s)
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[1]
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    return next(out.iterdir()), _sent(log)


def _comparable(run_dir: Path) -> dict:
    result = read_result(run_dir)
    tasks = {name: task.model_dump(exclude={"seconds"}) for name, task in result.tasks.items()}
    return {"tasks": tasks, "model": result.model.model_dump(), "errors": result.errors}


def test_killed_run_resumes_with_only_missing_requests_and_identical_results(tmp_path):
    started = time.monotonic()
    full_dir, full_log = _run_to_end(tmp_path, "full", tmp_path / "cache-full")
    total = sum(_sent(full_log))
    assert total == 96 + 48 + 192 + 48 and read_result(full_dir).timings["cache_misses"] == total

    killed_dir, killed_sent = _kill_mid_third_task(tmp_path, tmp_path / "cache")
    assert sorted(read_result(killed_dir).tasks) == ["starter_bias_pairs", "starter_extractive_qa"]
    with ResponseCache.open(tmp_path / "cache" / "responses.sqlite") as cache:
        cached = cache.info().total
    answered = sum(killed_sent)
    assert answered - FLUSH_EVERY <= cached <= answered  # at most the batch in flight is lost
    # killed inside the third task: its first chunk may or may not have been committed yet
    assert 96 + 48 <= cached < total

    resumed_dir, resumed_log = _run_to_end(tmp_path, "resumed", tmp_path / "cache")
    resumed_sent = sum(_sent(resumed_log))
    assert resumed_sent == total - cached  # only the missing requests went to the model
    timings = read_result(resumed_dir).timings
    assert (timings["cache_hits"], timings["cache_misses"]) == (cached, total - cached)
    assert _comparable(resumed_dir) == _comparable(full_dir)
    assert (resumed_dir / "samples.jsonl").read_bytes() == (full_dir / "samples.jsonl").read_bytes()
    print(f"resume test: {time.monotonic() - started:.1f}s; full run {total} requests, killed run answered "
          f"{answered} ({cached} committed), resumed run sent {resumed_sent}")
