"""Shared fixtures: where the real data lives, a private cache, and helpers to run the CLI."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def no_user_response_cache(monkeypatch):
    """Tests never read or fill the user's response cache; cache tests turn it on explicitly."""
    monkeypatch.setenv("EVALH_CACHE", "0")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real benchmark data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def one_thread():
    """torch on one intra-op thread for the test. evalh's bf16 numbers equal lm-eval's bit for bit under the
    conditions where that was measured: one thread (on CPUs with and without AMX). At more threads some CPUs
    split a kernel's work by the row count of a batch, and two layouts of the same rows round differently."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def task_dir(tmp_path: Path) -> Path:
    """An empty folder for a test's own task YAML files."""
    folder = tmp_path / "mytasks"
    folder.mkdir()
    return folder


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    import json

    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def pytest_report_header(config) -> list[str]:
    """Every test log names the conditions bit-level results depend on: the CPU's bf16 flags and threads."""
    import torch

    from harness.hardware import describe

    return [describe(torch.get_num_threads())]
