"""Experiment tracking: `--log-to wandb` / `--log-to mlflow` send a finished run to W&B or MLflow.

A tracker receives a run folder after its model is done and logs the run's config, every metric with its
interval, a table of samples, and the run's files plus a rendered report as artifacts. The tracking
libraries are imported only when a run logs to them, so `evalh --help` and runs without `--log-to` stay
fast; `check_trackers` finds a missing package before any model loads and names the extra to install.
"""
from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from harness.errors import ConfigError
from harness.results import RunResult

TRACKERS = {"wandb": ("wandb", "wandb"), "mlflow": ("mlflow", "mlflow")}
"""--log-to name -> (module evalh imports, pip extra of evalh that installs it)."""


class Tracker(Protocol):
    """Logs one finished run folder."""

    def log_run(self, run_dir: Path, result: RunResult) -> str:
        """Log the run; return where it went (for the console)."""


def check_trackers(names: Sequence[str]) -> None:
    """Raise ConfigError for an unknown tracker or one whose package is not installed (without importing it)."""
    for name in names:
        if name not in TRACKERS:
            raise ConfigError(f"--log-to {name}: unknown tracker (choose from {', '.join(TRACKERS)})")
        module, extra = TRACKERS[name]
        if importlib.util.find_spec(module) is None:
            raise ConfigError(f"--log-to {name} needs the '{module}' package: pip install 'evalh[{extra}]'")


def make_tracker(name: str) -> Tracker:
    """The tracker called `name` (its library is imported here, not before)."""
    if name == "wandb":
        from harness.tracking.wandb_tracker import WandbTracker

        return WandbTracker()
    from harness.tracking.mlflow_tracker import MlflowTracker

    return MlflowTracker()


def log_runs(names: Sequence[str], runs: Sequence[tuple[Path, RunResult]], log: Callable[[str], None]) -> list[str]:
    """Send every run to every tracker; returns the errors (a tracker's failure never loses the run's files)."""
    errors = []
    for name in names:
        try:
            tracker = make_tracker(name)
        except Exception as exc:  # noqa: BLE001 - the run folders are written; report and go on
            errors.append(f"--log-to {name}: {type(exc).__name__}: {exc}")
            continue
        for run_dir, result in runs:
            try:
                log(f"{name}: {tracker.log_run(run_dir, result)}")
            except Exception as exc:  # noqa: BLE001
                errors.append(f"--log-to {name}: {run_dir.name}: {type(exc).__name__}: {exc}")
    return errors
