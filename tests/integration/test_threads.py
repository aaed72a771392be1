"""torch's thread count is set by evalh (--threads, else OMP_NUM_THREADS, else the usable cores) and recorded
with the model."""
import pytest
import torch

from harness.config import RunConfig
from harness.evaluation import evaluate
from harness.hardware import default_threads


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("threads", [1, None])
def test_threads_are_set_and_recorded(tmp_path, restore_threads, threads):
    torch.set_num_threads(3)
    config = RunConfig(models=["tiny-random"], tasks=["starter_mc"], limit=2, output_dir=str(tmp_path), cache=False,
                       device="cpu", threads=threads)
    evaluation = evaluate(config)
    assert evaluation.ok, evaluation.errors
    (_, result), = evaluation.runs
    expected = threads or default_threads()
    assert torch.get_num_threads() == expected
    assert result.model.extra["threads"] == expected


def test_default_threads_follow_omp_num_threads(monkeypatch):
    from harness.hardware import usable_cores

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert default_threads() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "lots")
    assert default_threads() == usable_cores()
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert default_threads() == usable_cores()
