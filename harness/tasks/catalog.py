"""Cheap facts about a task for listings, without loading a model or the hub."""
from __future__ import annotations

from harness.tasks.schema import TaskSpec


def item_count(spec: TaskSpec) -> int | None:
    """Rows in the evaluation split when it is a local file; None when unknown without loading."""
    ds = spec.dataset
    if ds.files is not None:
        path = spec.base_dir / ds.files[ds.split]
        if path.suffix == ".jsonl" and path.is_file():
            with path.open("rb") as handle:
                return sum(1 for line in handle if line.strip())
    if ds.parallel is not None:
        path = spec.base_dir / ds.parallel.source
        if path.is_file():
            with path.open("rb") as handle:
                return sum(1 for _ in handle)
    return None
