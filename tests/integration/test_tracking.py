"""--log-to wandb / mlflow: the run's metrics, intervals, samples and files reach the tracker's own store,
read back with the tracker's own formats (W&B's offline run file, MLflow's client)."""
import json
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.config import RunConfig
from harness.evaluation import evaluate
from harness.results import read_result

ARGS = ["run", "--model", "fake", "--tasks", "starter_mc,starter_extractive_qa", "--limit", "5", "--no-cache"]


def _run(tmp_path: Path, tracker: str) -> tuple[Path, dict[str, float]]:
    done = CliRunner().invoke(main, [*ARGS, "--output-dir", str(tmp_path / "runs"), "--log-to", tracker])
    assert done.exit_code == 0, done.output
    run_dir, = (tmp_path / "runs").iterdir()
    result = read_result(run_dir)
    expected = {}
    for task in result.tasks.values():
        for name, metric in task.metrics.items():
            expected[f"{task.name}/{name}"] = metric.value
            expected[f"{task.name}/{name}_ci_low"] = metric.ci_low
            expected[f"{task.name}/{name}_ci_high"] = metric.ci_high
    return run_dir, expected


def _wandb_records(path: Path):
    """The records of a W&B run file: a LevelDB-style log (32 KiB blocks, 7-byte record headers) of
    wandb_internal_pb2.Record messages after a 7-byte ':W&B' file header."""
    from wandb.proto import wandb_internal_pb2

    data, pos, block, pending = path.read_bytes(), 7, 32768, b""
    assert data[:4] == b":W&B"
    while pos + 7 <= len(data):
        left = block - pos % block
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7]) if left >= 7 else (0, 0, 0)
        if left < 7 or (kind == 0 and length == 0):  # block trailer or padding
            pos += left
            continue
        pending += data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):  # a FULL record or the LAST piece of one
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            pending = b""
            yield record


def test_wandb_offline_run_holds_the_metrics(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    for key, value in {"WANDB_MODE": "offline", "WANDB_DIR": str(tmp_path), "WANDB_SILENT": "true",
                       "WANDB_PROJECT": "evalh-test"}.items():
        monkeypatch.setenv(key, value)
    run_dir, expected = _run(tmp_path, "wandb")
    run_file, = tmp_path.glob("wandb/offline-run-*/run-*.wandb")
    summary, config, artifacts, history_keys = {}, {}, {}, set()
    for record in _wandb_records(run_file):
        kind = record.WhichOneof("record_type")
        if kind == "summary":
            summary.update({u.key: json.loads(u.value_json) for u in record.summary.update if u.key})
        elif kind == "run":
            config.update({u.key: json.loads(u.value_json) for u in record.run.config.update})
        elif kind == "config":
            config.update({u.key: json.loads(u.value_json) for u in record.config.update})
        elif kind == "history":
            history_keys.update(item.nested_key[0] if item.nested_key else item.key for item in record.history.item)
        elif kind == "artifact":
            artifacts[record.artifact.type] = [e.path for e in record.artifact.manifest.contents]
    assert {k: summary[k] for k in expected} == pytest.approx(expected)
    assert config["model.name"] == "fake" and config["run_id"] == run_dir.name
    assert "samples" in history_keys and "run_table" in artifacts  # the samples table
    assert sorted(artifacts["evalh-run"]) == ["report/leaderboard.html", "report/summary.md", "results.json",
                                              "samples.jsonl"]


def test_mlflow_file_store_holds_the_metrics(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    uri = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 asks for this to use a local file store
    run_dir, expected = _run(tmp_path, "mlflow")
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("evalh")
    run, = client.search_runs([experiment.experiment_id])
    assert {k: run.data.metrics[k] for k in expected} == pytest.approx(expected)
    assert run.data.params["model.name"] == "fake" and run.info.run_name == run_dir.name
    files = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"results.json", "samples.jsonl", "samples.table.json", "report"} <= files
    table = json.loads(Path(client.download_artifacts(run.info.run_id, "samples.table.json", str(tmp_path))).read_text())
    assert len(table["data"]) == 10 and table["columns"][:2] == ["task", "sample_id"]


def test_missing_tracker_package_is_named_before_the_model_loads(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a))
    loaded = []
    evaluation = evaluate(RunConfig(models=["fake"], tasks=["starter_mc"], output_dir=str(tmp_path), log_to=["mlflow"]),
                          load=lambda name, options: loaded.append(name))
    assert not loaded and not evaluation.runs and not any(tmp_path.iterdir())
    error, = evaluation.errors
    assert "pip install 'evalh[mlflow]'" in error.message
