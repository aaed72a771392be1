"""Dialogue tasks run through the runner like any task: their turns and judgements are stages of requests
answered from the memo, then the response cache, then the model (and the judge)."""
from __future__ import annotations

import json
from pathlib import Path

from harness.config import RunConfig
from harness.evaluation import evaluate
from harness.models.fake import FakeModel
from harness.models.resolve import LoadOptions, load_model
from harness.runner import Runner
from harness.tasks.loader import build_index


class _Loader:
    """load_model, remembering every model it returned and whether it was closed."""

    def __init__(self) -> None:
        self.models: list = []
        self.closed: list = []

    def __call__(self, name: str, options: LoadOptions):
        model = load_model(name, options)
        close = model.close
        model.close = lambda: (self.closed.append(model), close())
        self.models.append(model)
        return model


def _run(tmp_path: Path, label: str, shared_data: Path) -> tuple[dict, list[dict], _Loader]:
    loader = _Loader()
    config = RunConfig(models=["fake"], tasks=["mt_bench"], judge="fake:seed=2", limit=3, cache=True,
                       cache_dir=str(tmp_path / "cache"), data_dir=str(shared_data),
                       output_dir=str(tmp_path / label))
    evaluation = evaluate(config, load=loader)
    assert evaluation.ok, evaluation.errors
    (run_dir, _result), = evaluation.runs
    result = json.loads((run_dir / "results.json").read_text())
    samples = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    return result, samples, loader


def test_a_second_mt_bench_run_is_answered_entirely_from_the_cache(tmp_path, shared_data):
    first, first_samples, first_loader = _run(tmp_path, "first", shared_data)
    second, second_samples, second_loader = _run(tmp_path, "second", shared_data)
    judge, model = first_loader.models  # the judge is loaded first, once for the run
    assert (len(model.calls), len(judge.calls)) == (6, 6)  # 3 questions x 2 turns, each turn judged
    assert first["timings"]["cache_misses"] == 12 and first["timings"]["cache_hits"] == 0
    assert second["timings"]["cache_misses"] == 0 and second["timings"]["cache_hits"] == 12
    assert [len(m.calls) for m in second_loader.models] == [0, 0]
    assert second_samples == first_samples
    assert second["tasks"]["mt_bench"]["metrics"] == first["tasks"]["mt_bench"]["metrics"]


def test_a_task_named_judge_is_loaded_once_and_closed_with_the_runner(shared_data):
    spec = build_index().tasks["mt_bench"]
    spec = spec.model_copy(update={"metric_options": {"mt_bench_score": {"judge": "fake:seed=3"}}})
    loader, model = _Loader(), FakeModel()
    runner = Runner(model, data_dir=shared_data, limit=2, load=loader)
    first, _ = runner.run_task(spec)
    again, _ = runner.run_task(spec)
    assert len(loader.models) == 1 and first.metrics["mt_bench_score"].details["judge"] == "fake:seed=3"
    assert len(model.calls) == 4 and len(loader.models[0].calls) == 4  # the second run is answered by the memo
    assert again.metrics == first.metrics
    runner.close()
    assert loader.closed == loader.models
