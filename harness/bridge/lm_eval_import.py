"""`evalh import`: turn an lm-eval output (results_*.json + samples_*.jsonl) into an evalh run folder."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

from harness.version import __version__
from harness.bridge.lm_eval_results import convert, read_lm_eval_output
from harness.evaluation import new_run_dir
from harness.models.base import ModelInfo
from harness.results import RunResult, write_result


def _model_info(results: dict, name: str | None) -> ModelInfo:
    config = results.get("config", {})
    args = config.get("model_args") or ""
    args_text = args if isinstance(args, str) else json.dumps(args, sort_keys=True)
    display = name or results.get("model_name") or args_text or str(config.get("model", "lm-eval model"))
    params = config.get("model_num_parameters")
    basis = f"{config.get('model')}|{args_text}|{config.get('model_sha', '')}|{config.get('model_dtype', '')}"
    return ModelInfo(
        name=str(display), adapter=f"lm-eval:{config.get('model', '?')}", source=args_text or str(display),
        parameters=int(params) if isinstance(params, (int, float)) and params > 0 else None,
        fingerprint=hashlib.sha256(basis.encode()).hexdigest()[:32],
        dtype=str(config.get("model_dtype") or "") or None, revision=config.get("model_revision") or None,
        extra={"imported_from": "lm-eval", "model_sha": config.get("model_sha", "")},
    )


def import_lm_eval(path: Path, output_dir: Path, name: str | None = None) -> tuple[Path, RunResult]:
    """Write `output_dir/<run id>/results.json` and samples.jsonl from an lm-eval output file or folder."""
    results, samples = read_lm_eval_output(Path(path))
    tasks, records = convert(results, samples)
    info = _model_info(results, name)
    run_dir = new_run_dir(Path(output_dir), info.name)
    versions = {"lm_eval": str(results.get("lm_eval_version", "")), "transformers": str(results.get("transformers_version", ""))}
    created = results.get("date")
    result = RunResult(
        run_id=run_dir.name,
        created_at=datetime.fromtimestamp(created, timezone.utc).isoformat(timespec="seconds")
        if isinstance(created, (int, float)) else datetime.now(timezone.utc).isoformat(timespec="seconds"),
        evalh_version=__version__, config={"imported_from": str(path), "lm_eval_config": results.get("config", {})},
        model=info, tasks=tasks, versions={k: v for k, v in versions.items() if v},
        timings={"total_s": float(results.get("total_evaluation_time_seconds", 0) or 0)},
    )
    with (run_dir / "samples.jsonl").open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(record.model_dump_json() + "\n")
    write_result(run_dir, result)
    return run_dir, result
