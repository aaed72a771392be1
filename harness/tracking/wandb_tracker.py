"""Weights & Biases: one W&B run per evalh run (project from WANDB_PROJECT, default 'evalh').

W&B's own settings apply: WANDB_MODE=offline writes the run under WANDB_DIR for a later `wandb sync`.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import wandb

from harness.results import RunResult
from harness.tracking.common import SAMPLE_COLUMNS, flat_metrics, run_params, sample_rows, write_run_report


class WandbTracker:
    """Config as the run's config, metrics (with stderr and CI) in the summary and one history step,
    samples as a `wandb.Table`, results.json, samples.jsonl and the report as an `evalh-run` artifact."""

    def log_run(self, run_dir: Path, result: RunResult) -> str:
        run = wandb.init(project=os.environ.get("WANDB_PROJECT", "evalh"), name=result.run_id,
                         config=run_params(result), job_type="eval", reinit="create_new")
        try:
            metrics = flat_metrics(result)
            run.log({**metrics, "samples": wandb.Table(columns=list(SAMPLE_COLUMNS), data=list(sample_rows(run_dir)))})
            run.summary.update(metrics)
            artifact = wandb.Artifact(f"evalh-{result.run_id}", type="evalh-run")
            for name in ("results.json", "samples.jsonl"):
                if (run_dir / name).exists():
                    artifact.add_file(str(run_dir / name))
            with tempfile.TemporaryDirectory() as tmp:
                for path in write_run_report(run_dir, Path(tmp)):
                    artifact.add_file(str(path), name=f"report/{path.name}")
                run.log_artifact(artifact)
                where = run.url or f"{Path(run.dir).parent} (offline)"
        finally:
            run.finish()
        return f"logged {len(metrics)} values to {where}"
