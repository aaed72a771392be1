"""MLflow: one MLflow run per evalh run, in the experiment MLFLOW_EXPERIMENT_NAME (default 'evalh').

MLflow's own settings apply: MLFLOW_TRACKING_URI names the server or store (http://..., databricks,
or a local file store, file:DIR, which MLflow 3 accepts with MLFLOW_ALLOW_FILE_STORE=true).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import mlflow

from harness.results import RunResult
from harness.tracking.common import SAMPLE_COLUMNS, flat_metrics, run_params, sample_rows, write_run_report

_PARAM_LENGTH = 6000  # MLflow's limit on a parameter value


class MlflowTracker:
    """Config as params, metrics (with stderr and CI) as metrics, samples as a logged table
    (samples.table.json), results.json, samples.jsonl and the report as artifacts."""

    def log_run(self, run_dir: Path, result: RunResult) -> str:
        mlflow.set_experiment(os.environ.get("MLFLOW_EXPERIMENT_NAME", "evalh"))
        with mlflow.start_run(run_name=result.run_id) as run:
            mlflow.log_params({k: v[:_PARAM_LENGTH] for k, v in run_params(result).items()})
            metrics = flat_metrics(result)
            mlflow.log_metrics({_metric_key(k): v for k, v in metrics.items()})
            rows = list(sample_rows(run_dir))
            mlflow.log_table({column: [row[i] for row in rows] for i, column in enumerate(SAMPLE_COLUMNS)},
                             artifact_file="samples.table.json")
            for name in ("results.json", "samples.jsonl"):
                if (run_dir / name).exists():
                    mlflow.log_artifact(str(run_dir / name))
            with tempfile.TemporaryDirectory() as tmp:
                for path in write_run_report(run_dir, Path(tmp)):
                    mlflow.log_artifact(str(path), artifact_path="report")
        return f"logged {len(metrics)} values to run {run.info.run_id} at {mlflow.get_tracking_uri()}"


def _metric_key(key: str) -> str:
    """MLflow keys allow letters, digits, _ - . space : / only."""
    return "".join(c if c.isalnum() or c in "_-. :/" else "_" for c in key)
