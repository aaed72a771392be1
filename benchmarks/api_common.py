"""Shared by the api_* benchmarks: starter-task requests, and a llama.cpp server unless --base-url is given."""
from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # for tests.fixtures (the server launcher) when run as a script
    sys.path.insert(0, str(REPO))

from harness.requests import Generate, Loglikelihood  # noqa: E402
from harness.tasks.build import build_items  # noqa: E402
from harness.tasks.datasets import load_rows  # noqa: E402
from harness.tasks.loader import build_index  # noqa: E402

GENERATE_TASKS = ("starter_extractive_qa", "starter_translation_en_fr", "starter_translation_en_de",
                  "starter_summarization")
SCORE_TASKS = ("starter_mc",)


def starter_requests(tasks: tuple[str, ...], limit: int) -> list:
    """The requests of the first `limit` items of each task, in task order (no few-shot examples)."""
    index = build_index()
    out: list = []
    for name in tasks:
        spec = index.tasks[name]
        items = build_items(spec, load_rows(spec)[:limit])
        out.extend(r for item in items for r in item.requests)
    return list(dict.fromkeys(out))


def generate_requests(limit: int) -> list[Generate]:
    return [r for r in starter_requests(GENERATE_TASKS, limit) if isinstance(r, Generate)]


def score_requests(limit: int) -> list[Loglikelihood]:
    return [r for r in starter_requests(SCORE_TASKS, limit) if isinstance(r, Loglikelihood)]


@contextlib.contextmanager
def server_url(base_url: str | None, threads: int | None = None) -> Iterator[str]:
    """`base_url` as given, or a llama.cpp server on 127.0.0.1 serving SmolLM2 (stopped on exit)."""
    if base_url:
        yield base_url
        return
    from tests.fixtures.llama_server import LlamaServer, llama_cpp_missing, smollm2_gguf

    missing = llama_cpp_missing()
    if missing:
        raise SystemExit(f"cannot start a server: {missing}; or pass --base-url")
    with LlamaServer(smollm2_gguf(), threads=threads) as server:
        print(f"llama.cpp server ready at {server.base_url} in {server.ready_s:.1f} s", file=sys.stderr)
        yield server.base_url
