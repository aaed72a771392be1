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
def task_dir(tmp_path: Path) -> Path:
    """An empty folder for a test's own task YAML files."""
    folder = tmp_path / "mytasks"
    folder.mkdir()
    return folder


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    import json

    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path
