"""Convert lm-eval results (in memory, or files written by `lm_eval --output_path --log_samples`) to evalh's.

lm-eval keys metrics as "acc,none" (metric, filter); evalh names them "acc", or "acc/<filter>" for a
filter other than "none". Per-sample records keep the context(s), continuations, log-likelihoods or
generations, targets and per-sample metric values, so reports can compare imported and native runs.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from harness.errors import EvalhError
from harness.metrics import METRIC_NAMES, get_metric
from harness.metrics.semantics import Semantics
from harness.results import DatasetInfo, MetricValue, SampleRecord, TaskResult


def metric_name(key: str) -> str:
    metric, _, filt = key.partition(",")
    return metric if filt in ("", "none") else f"{metric}/{filt}"


def _semantics(metric: str, higher: dict[str, bool]) -> Semantics:
    """An evalh built-in metric of this name declares its semantics; others get lm-eval's direction and no range."""
    if metric in METRIC_NAMES:
        return get_metric(metric).semantics
    return Semantics(None, None, higher_is_better=higher.get(metric, True))


def task_metrics(task_results: dict[str, Any], n: int, higher: dict[str, bool]) -> dict[str, MetricValue]:
    """MetricValues from one task's entry in lm-eval's `results` (value, stderr, normal 95% CI kept inside the
    metric's range where evalh knows it)."""
    out = {}
    for key, value in task_results.items():
        if "," not in key or "_stderr," in key or not isinstance(value, (int, float)):
            continue
        metric, _, filt = key.partition(",")
        stderr = task_results.get(f"{metric}_stderr,{filt}")
        stderr = float(stderr) if isinstance(stderr, (int, float)) else None
        semantics = _semantics(metric, higher)
        ci = ((semantics.clip(value - 1.96 * stderr), semantics.clip(value + 1.96 * stderr)) if stderr is not None
              else (None, None))
        out[metric_name(key)] = MetricValue(value=float(value), stderr=stderr, ci_low=ci[0], ci_high=ci[1], n=n,
                                            method="lm-eval", **semantics.fields())
    return out


def _arguments(sample: dict[str, Any]) -> list[list[Any]]:
    args = sample.get("arguments") or []
    if isinstance(args, dict):  # the file format: {"gen_args_0": {"arg_0": ctx, "arg_1": cont}, ...}
        return [[a[k] for k in sorted(a, key=lambda s: int(s.split("_")[1]))] for _, a in
                sorted(args.items(), key=lambda kv: int(kv[0].rsplit("_", 1)[1]))]
    return [list(a) for a in args]


def _first(value: Any) -> Any:
    while isinstance(value, (list, tuple)) and value and isinstance(value[0], (list, tuple)):
        value = value[0]
    return value


def sample_record(task: str, sample: dict[str, Any]) -> SampleRecord:
    """One lm-eval logged sample as an evalh SampleRecord."""
    args = _arguments(sample)
    prompt = str(args[0][0]) if args and args[0] else ""
    resps = sample.get("filtered_resps") or []
    record: dict[str, Any] = {}
    is_choice = bool(args) and len(args[0]) >= 2 and isinstance(args[0][1], str)
    if is_choice:
        pairs = [_first(r) if isinstance(r, (list, tuple)) else r for r in resps]
        record["choices"] = [str(a[1]) for a in args]
        record["logprobs"] = [float(p[0]) for p in pairs]
        record["is_greedy"] = [str(p[1]) == "True" for p in pairs]
    elif resps:
        first = resps[0]
        record["response"] = str(first[0] if isinstance(first, (list, tuple)) else first)
    scores = {m: float(sample[m]) for m in sample.get("metrics", []) if isinstance(sample.get(m), (int, float, bool))}
    doc_id = int(sample.get("doc_id", 0))
    prompt_hash = sample.get("prompt_hash") or hashlib.sha256(prompt.encode()).hexdigest()
    return SampleRecord(task=task, sample_id=str(doc_id), index=doc_id, prompt_hash=str(prompt_hash)[:16],
                        prompt=prompt, target=sample.get("target"), scores=scores,
                        row=sample.get("doc") if isinstance(sample.get("doc"), dict) else {}, **record)


def convert(results: dict[str, Any], samples: dict[str, list[dict]], seconds: float = 0.0
            ) -> tuple[dict[str, TaskResult], list[SampleRecord]]:
    """Task results and sample records from lm-eval's results dict and its logged samples."""
    tasks: dict[str, TaskResult] = {}
    records: list[SampleRecord] = []
    for name, entry in results.get("results", {}).items():
        n_info = results.get("n-samples", {}).get(name, {})
        task_samples = samples.get(name, [])
        n = int(n_info.get("effective", len(task_samples)))
        config = results.get("configs", {}).get(name, {})
        higher = results.get("higher_is_better", {}).get(name, {})
        fingerprint = hashlib.sha256("".join(sorted(str(s.get("doc_hash", "")) for s in task_samples)).encode())
        tasks[name] = TaskResult(
            name=name, version=str(results.get("versions", {}).get(name, "")), output_type=str(config.get("output_type", "")),
            groups=["lm_eval"], num_fewshot=int(results.get("n-shot", {}).get(name, 0) or 0),
            metrics=task_metrics(entry, n, higher),
            dataset=DatasetInfo(source=f"lm-eval: {config.get('dataset_path', '?')} {config.get('dataset_name') or ''}".strip(),
                                fingerprint="sha256:" + fingerprint.hexdigest(),
                                rows_total=int(n_info.get("original", n)), rows_used=n),
            seconds=seconds,
        )
        records.extend(sample_record(name, s) for s in task_samples)
    return tasks, records


def read_lm_eval_output(path: Path) -> tuple[dict[str, Any], dict[str, list[dict]]]:
    """lm-eval's results_<date>.json and the samples_<task>_<date>.jsonl files beside it."""
    path = Path(path)
    if path.is_dir():
        found = sorted(path.rglob("results_*.json"))
        if not found:
            raise EvalhError(f"{path}: no lm-eval results_*.json file in this folder")
        path = found[-1]
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise EvalhError(f"{path}: not a readable lm-eval results file: {exc}") from None
    if "results" not in results:
        raise EvalhError(f"{path}: not an lm-eval results file (no 'results' key)")
    date = re.sub(r"^results_", "", path.stem)
    samples: dict[str, list[dict]] = {}
    for task in results["results"]:
        for file in path.parent.glob(f"samples_{task}_{date}.jsonl"):
            with file.open(encoding="utf-8") as handle:
                samples[task] = [json.loads(line) for line in handle if line.strip()]
    return results, samples
