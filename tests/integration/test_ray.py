"""Scale-out on Ray: the same plan gives the same results as a local run, even when a worker dies."""
import os
from pathlib import Path

import pytest

from harness.config import RunConfig
from harness.errors import ConfigError
from harness.evaluation import evaluate
from harness.executors.ray_backend import RayBackend, plan_placement
from harness.executors.sharded import shard_ranges
from harness.models.resolve import LoadOptions
from harness.results import read_samples

REPO = Path(__file__).resolve().parents[2]
TASKS = ["starter_mc", "starter_bias_pairs", "starter_translation_en_de", "starter_extractive_qa"]


def test_shard_ranges_cover_everything_once():
    assert [list(r) for r in shard_ranges(10, 4)] == [[0, 1, 2], [3, 4, 5], [6, 7], [8, 9]]
    assert [list(r) for r in shard_ranges(2, 4)] == [[0], [1]]
    assert shard_ranges(0, 4) == []


@pytest.mark.parametrize("device, cluster, shards, expected", [
    ("cpu", {"CPU": 8}, 4, (4, 1.0, 0)),
    ("cpu", {"CPU": 2}, 4, (2, 1.0, 0)),
    ("auto", {"CPU": 2}, 4, (2, 1.0, 0)),
    ("cuda", {"CPU": 16, "GPU": 4}, 2, (4, 1.0, 1)),      # one worker per GPU, whatever the shards
    ("auto", {"CPU": 16, "GPU": 2}, 8, (2, 1.0, 1)),
    ("cuda", {"CPU": 2, "GPU": 4}, 4, (4, 0.5, 1)),
])
def test_gpu_placement_logic(device, cluster, shards, expected):
    placement = plan_placement(device, cluster, shards)
    assert (placement.workers, placement.num_cpus, placement.num_gpus) == expected


def test_a_gpu_model_never_lands_on_a_cluster_without_gpus():
    with pytest.raises(ConfigError, match="needs a GPU, but the Ray cluster has none"):
        plan_placement("cuda", {"CPU": 64}, 4)


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    ray = pytest.importorskip("ray", reason="Ray is an optional extra (pip install 'evalh[ray]')")
    marker_dir = tmp_path_factory.mktemp("ray")
    os.environ["EVALH_TEST_DEATH_MARKER"] = str(marker_dir / "died")
    ray.init(num_cpus=2, num_gpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(REPO), "EVALH_TEST_DEATH_MARKER": str(marker_dir / "died")}})
    yield ray
    ray.shutdown()


def test_declared_gpus_give_one_worker_per_gpu(ray_cluster):
    """Two logical GPUs declared to Ray (no hardware): two workers, each with its own GPU id."""
    backend = RayBackend("fake", LoadOptions(device="cuda"), shards=4)
    try:
        assert len(backend.workers) == 2
        ids = ray_cluster.get([w.gpu_ids.remote() for w in backend.workers])
        assert sorted(i for ws in ids for i in ws) == [0, 1] and all(len(ws) == 1 for ws in ids)
    finally:
        backend.close()


def _run(tmp_path: Path, name: str, **options):
    config = RunConfig(models=["fake", "fake:seed=1"], tasks=TASKS, output_dir=str(tmp_path / name),
                       device="cpu", **options)
    evaluation = evaluate(config)
    assert evaluation.ok, evaluation.errors
    return {r.model.name: (r, read_samples(d)) for d, r in evaluation.runs}


def _same(a, b):
    for model in a:
        (ra, sa), (rb, sb) = a[model], b[model]
        assert {t: {m: v.value for m, v in r.metrics.items()} for t, r in ra.tasks.items()} == \
               {t: {m: v.value for m, v in r.metrics.items()} for t, r in rb.tasks.items()}
        strip = lambda s: s.model_dump()  # noqa: E731
        assert [strip(x) for x in sa] == [strip(x) for x in sb]


def test_ray_run_sharded_four_ways_equals_local_run(ray_cluster, tmp_path):
    local = _run(tmp_path, "local", cache=False)
    remote = _run(tmp_path, "ray", executor="ray", shards=4, cache=False)
    _same(local, remote)
    assert next(iter(remote.values()))[0].model.extra["executor"] == "ray"


def _chat_run(tmp_path: Path, shared_data: Path, name: str, **options):
    """MT-Bench (two turns, judged) and a chat-template task on a fake with a chat template of its own."""
    from tests.integration import ray_loaders

    config = RunConfig(models=["fake"], tasks=["mt_bench", "starter_mc"], judge="fake:seed=2", limit=4,
                       apply_chat_template=True, data_dir=str(shared_data), output_dir=str(tmp_path / name),
                       device="cpu", cache=False, **options)
    evaluation = evaluate(config, load=ray_loaders.templated_fake)
    assert evaluation.ok, evaluation.errors
    return {r.model.name: (r, read_samples(d)) for d, r in evaluation.runs}


def test_chat_formats_reach_the_model_through_shards(tmp_path, shared_data):
    """A wrapper forwards the whole model contract: the second turn of a dialogue and a chat-template
    prompt are in the model's own format with or without shards."""
    local = _chat_run(tmp_path, shared_data, "local")
    _same(local, _chat_run(tmp_path, shared_data, "shards", shards=2))
    samples = local["fake"][1]
    dialogue = next(s for s in samples if s.task == "mt_bench")
    assert dialogue.row["_dialogue"]["turns"][1]["answer"] is not None
    assert all(s.prompt.startswith("[USER] ") for s in samples if s.task == "starter_mc")


def test_chat_formats_reach_the_model_on_ray(ray_cluster, tmp_path, shared_data):
    local = _chat_run(tmp_path, shared_data, "local")
    _same(local, _chat_run(tmp_path, shared_data, "ray", executor="ray", shards=2))


def test_a_worker_killed_mid_run_changes_nothing(ray_cluster, tmp_path):
    from tests.integration import ray_loaders

    marker = Path(os.environ["EVALH_TEST_DEATH_MARKER"])
    local = _run(tmp_path, "local", cache=False)
    config = RunConfig(models=["fake"], tasks=TASKS, output_dir=str(tmp_path / "dying"), device="cpu",
                       executor="ray", shards=4, cache=False)
    evaluation = evaluate(config, load=ray_loaders.dying_fake)
    assert evaluation.ok, evaluation.errors
    assert marker.exists(), "the worker was meant to die once"
    (run_dir, result), = evaluation.runs
    samples = read_samples(run_dir)
    keys = [(s.task, s.sample_id) for s in samples]
    assert len(keys) == len(set(keys)) == 48 * 3 + 48  # every sample scored exactly once
    _same({"fake": local["fake"]}, {"fake": (result, samples)})
