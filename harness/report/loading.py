"""Find and read runs for reports: run folders, results.json files, globs, or folders of run folders."""
from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import EvalhError
from harness.results import RunResult, SampleRecord, read_result, read_samples


@dataclass
class LoadedRun:
    """One run as a report sees it: its folder, its results and (when present) its samples."""

    path: Path
    result: RunResult
    samples: list[SampleRecord] = field(default_factory=list)
    has_samples: bool = False

    @property
    def label(self) -> str:
        return self.result.model.name

    def samples_of(self, task: str) -> list[SampleRecord]:
        return [s for s in self.samples if s.task == task]


def expand_run_paths(specs: list[str] | tuple[str, ...]) -> list[Path]:
    """Run folders named by `specs`, in order, without duplicates.

    Each spec is a run folder, a results.json file, a glob of either, or a folder whose subfolders are runs
    (e.g. `runs/`). A spec that matches nothing is an error naming it.
    """
    found: list[Path] = []
    for spec in specs:
        matches = sorted(glob.glob(spec)) if glob.has_magic(spec) else [spec]
        runs = [run for match in matches for run in _runs_under(Path(match))]
        if not runs:
            raise EvalhError(f"{spec}: no evalh run found (expected a run folder, a results.json file, "
                             "or a folder of run folders)")
        found.extend(r for r in runs if r not in found)
    return found


def _runs_under(path: Path) -> list[Path]:
    if path.is_file():
        return [path.parent.resolve()] if path.name.endswith(".json") else []
    if (path / "results.json").is_file():
        return [path.resolve()]
    if path.is_dir():
        return sorted(child.resolve() for child in path.iterdir() if (child / "results.json").is_file())
    return []


def load_run(run_dir: Path, *, with_samples: bool = True) -> LoadedRun:
    """Read one run folder; a missing samples.jsonl leaves `samples` empty (has_samples False)."""
    result = read_result(run_dir / "results.json")
    samples_path = run_dir / "samples.jsonl"
    if not with_samples or not samples_path.is_file():
        return LoadedRun(run_dir, result)
    try:
        samples = read_samples(run_dir)
    except ValueError as exc:  # json or pydantic: name the file, not a traceback
        raise EvalhError(f"{samples_path}: not a valid samples file: {str(exc).splitlines()[0]}") from None
    return LoadedRun(run_dir, result, samples, True)


def load_runs(specs: list[str] | tuple[str, ...], *, with_samples: bool = True) -> list[LoadedRun]:
    """Every run named by `specs` (see expand_run_paths), read."""
    return [load_run(path, with_samples=with_samples) for path in expand_run_paths(specs)]
