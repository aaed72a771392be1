"""Synthetic runs for report benchmarks and tests: realistic shapes, no model.

Written through the real RunResult/SampleRecord models, with metric values computed from the samples
(means with stderr; corpus BLEU/chrF with sacrebleu), so reports and compare treat them as real runs.
"""
from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from pathlib import Path

from harness.metrics import get_metric
from harness.metrics.base import mean_value
from harness.metrics.semantics import Semantics
from harness.models.base import ModelInfo
from harness.results import DatasetInfo, MetricValue, RunResult, SampleRecord, TaskResult, write_result

SIZES = {"tiny-135m": 134_515_008, "small-360m": 361_821_120, "mid-1.7b": 1_711_376_384, "big-7b": 7_241_732_096}
KINDS = ("mc", "qa", "translation", "summarization", "bias")
_WORDS = ("the river city market garden winter light stone paper window music doctor teacher engine "
          "bridge ocean mountain letter train school village forest kitchen morning story answer").split()


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n)).capitalize() + "."


def _metric(name: str, values: Sequence[float]) -> MetricValue:
    """The value the built-in metric `name` reports for these per-sample scores (its semantics included)."""
    return mean_value(list(values), get_metric(name).semantics, seed=0)


def _corpus(kind: str, hyps: list[str], refs: list[str]) -> MetricValue:
    from sacrebleu.metrics import BLEU, CHRF

    scorer = BLEU() if kind == "bleu" else CHRF()
    score = scorer.corpus_score(hyps, [refs])
    return MetricValue(value=score.score, ci_low=max(0.0, score.score - 2), ci_high=min(100.0, score.score + 2),
                       n=len(hyps), method="bootstrap", **Semantics(0.0, 100.0).fields(),
                       details={"signature": str(scorer.get_signature())})


def _item(kind: str, task: str, i: int, skill: float, rng: random.Random, item_rng: random.Random) -> SampleRecord:
    """One sample; item_rng (seeded by task and index) makes prompts identical across models."""
    sid = f"{task}-{i:04d}"
    context = _sentence(item_rng, 40)
    prompt = f"{context}\n\nQuestion: {_sentence(item_rng, 8)}\nAnswer:"
    common = {"task": task, "sample_id": sid, "index": i, "row": {"id": sid}}
    common["prompt_hash"] = hashlib.sha256(f"{task}|{prompt}".encode()).hexdigest()[:16]
    if kind in ("mc", "bias"):
        choices = [_sentence(item_rng, 5) for _ in range(4 if kind == "mc" else 2)]
        logprobs = [round(-rng.uniform(1, 9), 4) for _ in choices]
        if rng.random() < skill:
            logprobs[0] = max(logprobs) + 0.5
        best = logprobs.index(max(logprobs))
        scores = ({"acc": float(best == 0), "acc_norm": float(best == 0)} if kind == "mc" else
                  {"pct_stereotype": float(best == 0), "likelihood_diff": abs(logprobs[0] - logprobs[1])})
        return SampleRecord(**common, prompt=prompt if kind == "mc" else "", target=0, choices=choices,
                            logprobs=logprobs, is_greedy=[False] * len(choices), scores=scores)
    target = _sentence(item_rng, 12)
    words = target.split()
    keep = [w if rng.random() < skill else rng.choice(_WORDS) for w in words]
    response = " " + " ".join(keep)
    if kind == "qa":
        exact = float(keep == words)
        return SampleRecord(**common, prompt=prompt, target=[target], response=response,
                            scores={"exact_match": exact, "f1": sum(a == b for a, b in zip(keep, words)) / len(words)})
    overlap = sum(a == b for a, b in zip(keep, words)) / len(words)
    name = "bleu" if kind == "translation" else "rouge1"
    return SampleRecord(**common, prompt=prompt, target=[target], response=response,
                        scores={name: 100 * overlap if name == "bleu" else overlap})


def _task_result(kind: str, task: str, samples: list[SampleRecord]) -> TaskResult:
    names = list(samples[0].scores)
    metrics: dict[str, MetricValue] = {}
    for name in names:
        if name in ("bleu", "chrf"):
            refs = [s.target[0] for s in samples]
            metrics["bleu"] = _corpus("bleu", [s.response or "" for s in samples], refs)
            metrics["chrf"] = _corpus("chrf", [s.response or "" for s in samples], refs)
        else:
            metrics[name] = _metric(name, [s.scores[name] for s in samples])
    fingerprint = hashlib.sha256("".join(s.prompt_hash for s in samples).encode()).hexdigest()[:16]
    return TaskResult(name=task, version="1", output_type="multiple_choice" if kind in ("mc", "bias") else "generate",
                      groups=["synthetic", "bias"] if kind == "bias" else ["synthetic"], metrics=metrics,
                      dataset=DatasetInfo(source=f"synthetic:{task}", fingerprint=fingerprint, rows_total=len(samples),
                                          rows_used=len(samples)), seconds=1.0)


def write_synthetic_runs(out_dir: Path, *, models: dict[str, int] | None = None, tasks: int = 10,
                         samples: int = 200, seed: int = 0) -> list[Path]:
    """One run folder per model under out_dir; bigger models score higher. Returns the folders."""
    folders, models = [], models or SIZES
    ranks = sorted(models.values())
    for name, params in models.items():
        run_dir = out_dir / f"20250101-000000-{name}"
        run_dir.mkdir(parents=True, exist_ok=True)
        skill = min(0.95, 0.25 + 0.12 * ranks.index(params))  # bigger models know more
        result = RunResult(run_id=run_dir.name, created_at="2025-01-01T00:00:00+00:00", evalh_version="synthetic",
                           config={"limit": None, "seed": seed},
                           model=ModelInfo(name=name, adapter="synthetic", source="synthetic", parameters=params,
                                           fingerprint=f"synthetic-{name}"),
                           timings={"model_load_s": 1.0, "total_s": 10.0 * tasks}, versions={"evalh": "synthetic"})
        rng = random.Random(f"{seed}-{name}")
        lines = []
        for t in range(tasks):
            kind, task = KINDS[t % len(KINDS)], f"synthetic_{KINDS[t % len(KINDS)]}_{t}"
            records = [_item(kind, task, i, skill, rng, random.Random(f"{seed}-{task}-{i}")) for i in range(samples)]
            result.tasks[task] = _task_result(kind, task, records)
            lines += [r.model_dump_json() for r in records]
        (run_dir / "samples.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        write_result(run_dir, result)
        folders.append(run_dir)
    return folders
