"""Cheap facts about a task for listings, without loading a model or the hub."""
from __future__ import annotations

from pathlib import Path

from harness.tasks.schema import TaskSpec


def item_count(spec: TaskSpec, data_dir: Path | None = None) -> int | None:
    """Items in the evaluation split when they can be counted locally; None when unknown without the hub.

    Local files and parallel text are counted directly; a hub task is counted from its mirror file under
    `data_dir`, raw files under the data dir and YAML probes by reading them.
    """
    ds = spec.dataset
    if ds.documents is not None or ds.data_dir_files is not None or ds.probe is not None:
        return _loaded_count(spec, data_dir)
    if ds.files is not None:
        path = _readable(spec, spec.base_dir / ds.files[ds.split], data_dir)
        if path is not None and path.suffix == ".jsonl" and path.is_file():
            return _count_lines(path, skip_blank=True)
    if ds.parallel is not None:
        path = _readable(spec, spec.base_dir / ds.parallel.source, data_dir)
        if path is not None and path.is_file():
            return _count_lines(path, skip_blank=False)
    if ds.sacrebleu is not None and data_dir is not None and (Path(data_dir) / ds.sacrebleu.testset).is_dir():
        return _loaded_count(spec, data_dir)
    if ds.hub is not None and data_dir is not None:
        mirror = Path(data_dir) / ds.hub / (ds.config or "default") / f"{ds.split}.jsonl"
        if mirror.is_file():
            return _count_lines(mirror, skip_blank=True)
    return None


def _readable(spec: TaskSpec, path: Path, data_dir: Path | None) -> Path | None:
    """`path` when the task may read it (harness.tasks.access), else None: a listing never opens a device."""
    from harness.errors import DataError
    from harness.tasks.access import DataAccess, confine

    try:
        return confine(path, DataAccess(Path(data_dir) if data_dir else None).roots(spec.base_dir), spec.name)
    except DataError:
        return None


def _count_lines(path: Path, skip_blank: bool) -> int:
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip() or not skip_blank)


def _loaded_count(spec: TaskSpec, data_dir: Path | None) -> int | None:
    """Rows after loading (documents joined, raw files read), or None when they are not available locally."""
    from harness.errors import EvalhError
    from harness.tasks.datasets import load_rows

    ds = spec.dataset
    if ds.hub is not None:
        mirror = None if data_dir is None else Path(data_dir) / ds.hub / (ds.config or "default") / f"{ds.split}.jsonl"
        if mirror is None or not mirror.is_file():
            return None  # never reach for the hub from a listing
    if ds.data_dir_files is not None and data_dir is None:
        return None
    try:
        return len(load_rows(spec, data_dir=data_dir))
    except EvalhError:
        return None
