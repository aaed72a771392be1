"""What every tracker logs, drawn from a run folder: flat metrics, parameters, sample rows, a report."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from harness.results import RunResult

SAMPLE_COLUMNS = ("task", "sample_id", "prompt", "target", "response", "scores")


def flat_metrics(result: RunResult) -> dict[str, float]:
    """`task/metric` -> value, with `_stderr`, `_ci_low`, `_ci_high` beside it where the run has them."""
    flat: dict[str, float] = {}
    for task in result.tasks.values():
        for metric, value in task.metrics.items():
            key = f"{task.name}/{metric}"
            for suffix, number in (("", value.value), ("_stderr", value.stderr), ("_ci_low", value.ci_low),
                                   ("_ci_high", value.ci_high)):
                if number is not None:
                    flat[key + suffix] = float(number)
    return flat


def run_params(result: RunResult) -> dict[str, str]:
    """The run's config and model identity as flat strings (what trackers show as parameters)."""
    params = {key: str(value) for key, value in result.config.items() if value not in (None, [], {})}
    params.update({"model.name": result.model.name, "model.fingerprint": result.model.fingerprint,
                   "model.dtype": str(result.model.dtype), "model.parameters": str(result.model.parameters),
                   "run_id": result.run_id, "evalh_version": result.evalh_version})
    return params


def sample_rows(run_dir: Path, limit: int = 10_000) -> Iterator[list[str]]:
    """Rows of the samples table (SAMPLE_COLUMNS), read from samples.jsonl; at most `limit` rows."""
    path = run_dir / "samples.jsonl"
    if not path.exists():
        return
    with path.open(encoding="utf-8") as handle:
        for count, line in enumerate(handle):
            if count >= limit:
                return
            sample = json.loads(line)
            yield [str(sample.get("task", "")), str(sample.get("sample_id", "")), str(sample.get("prompt", "")),
                   json.dumps(sample.get("target"), ensure_ascii=False), str(sample.get("response") or ""),
                   json.dumps(sample.get("scores"), ensure_ascii=False)]


def write_run_report(run_dir: Path, out_dir: Path) -> list[Path]:
    """leaderboard.html and summary.md of this one run (no plots), to attach as artifacts."""
    from harness.report.writer import write_report

    files = write_report([str(run_dir)], out_dir, title=f"evalh: {run_dir.name}", plots=False,
                         include_failed=True)
    return [files.html, files.markdown]
