"""Run shards on a Ray cluster: a pool of workers per model, each loading the model once.

Resources are declared per worker: a model placed on a GPU (`--device cuda`, or `auto` on a cluster with
GPUs) asks for one GPU per worker, so it only lands where one is, and a machine with several GPUs gets one
worker per GPU; otherwise each worker asks for `cpus_per_worker` CPUs. A worker whose process dies is
restarted by Ray (max_restarts) and its shard retried (max_task_retries); shards already answered are
never recomputed (the runner commits each call's responses to the response cache).
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.errors import ConfigError, ModelError
from harness.models.base import ModelInfo, Progress
from harness.models.resolve import LoadOptions

RETRIES = 3


@dataclass(frozen=True)
class Placement:
    """How many workers a model gets and what each one asks Ray for."""

    workers: int
    num_cpus: float
    num_gpus: float


def plan_placement(device: str, cluster: dict[str, float], shards: int, cpus_per_worker: float = 1.0) -> Placement:
    """Workers and per-worker resources for one model on a cluster with `cluster` resources (pure)."""
    gpus = int(cluster.get("GPU", 0))
    wants_gpu = device.startswith("cuda") or (device == "auto" and gpus > 0)
    if wants_gpu:
        if gpus < 1:
            raise ConfigError(f"--device {device} needs a GPU, but the Ray cluster has none ({_describe(cluster)})")
        return Placement(workers=gpus, num_cpus=min(cpus_per_worker, cluster.get("CPU", 1) / gpus), num_gpus=1)
    cpus = cluster.get("CPU", 1)
    if cpus < cpus_per_worker:
        raise ConfigError(f"a worker needs {cpus_per_worker} CPUs but the Ray cluster has {cpus}")
    return Placement(workers=max(1, min(shards, int(cpus // cpus_per_worker))), num_cpus=cpus_per_worker, num_gpus=0)


def _describe(cluster: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in sorted(cluster.items()) if k in ("CPU", "GPU")) or "no resources"


class ModelWorker:
    """The body of a Ray actor: loads one model and answers shard calls."""

    def __init__(self, spec: str, options: LoadOptions, loader: Callable[..., Any] | None) -> None:
        from harness.models.resolve import load_model

        device = options.device
        if device.startswith("cuda") and os.environ.get("CUDA_VISIBLE_DEVICES"):
            device = "cuda"  # Ray exposes this worker's GPU as device 0
        self.model = (loader or load_model)(spec, LoadOptions(**{**options.__dict__, "device": device}))
        self.session: Any = None

    def call(self, method: str, part: list[Any]) -> list[Any]:
        return getattr(self.session or self.model, method)(part)

    def open_task(self, task: list[Any]) -> None:
        """Answer calls through a session of the whole task until `close_task` (a restarted worker has
        none, and lays out its own part)."""
        self.close_task()
        self.session = self.model.open(task)

    def order(self, requests: list[Any]) -> list[Any]:
        return self.session.order(requests) if self.session else requests

    def close_task(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None

    def info(self) -> ModelInfo:
        return self.model.info()

    def ask(self, method: str, *args: Any) -> Any:
        """Any other method of the model contract (chat formats), answered by this worker's model."""
        return getattr(self.model, method)(*args)

    def pid(self) -> int:
        return os.getpid()

    def gpu_ids(self) -> list:
        import ray

        return list(ray.get_gpu_ids())


def import_ray():
    try:
        import ray
    except ImportError:
        raise ConfigError("--executor ray needs Ray: pip install 'evalh[ray]'") from None
    return ray


class RayBackend:
    """A pool of ModelWorker actors for one model; shards are spread over them."""

    def __init__(self, spec: str, options: LoadOptions, *, shards: int, address: str | None = None,
                 loader: Callable[..., Any] | None = None, cpus_per_worker: float = 1.0) -> None:
        ray = import_ray()
        if not ray.is_initialized():
            ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        self.ray, self.spec = ray, spec
        placement = plan_placement(options.device, ray.cluster_resources(), shards, cpus_per_worker)
        actor = ray.remote(ModelWorker).options(num_cpus=placement.num_cpus, num_gpus=placement.num_gpus,
                                                max_restarts=RETRIES, max_task_retries=RETRIES)
        self.workers = [actor.remote(spec, options, loader) for _ in range(placement.workers)]
        self.placement = placement

    def run(self, method: str, shards: list[list[Any]], progress: Progress) -> list[list[Any]]:
        futures = [self.workers[k % len(self.workers)].call.remote(method, part) for k, part in enumerate(shards)]
        index = {f: k for k, f in enumerate(futures)}
        results: list[list[Any] | None] = [None] * len(futures)
        pending = list(futures)
        while pending:
            done, pending = self.ray.wait(pending, num_returns=1)
            try:
                results[index[done[0]]] = self.ray.get(done[0])
            except self.ray.exceptions.RayError as exc:
                raise ModelError(f"model {self.spec}: a Ray worker failed after {RETRIES} retries: {exc}") from None
            if progress:
                progress(len(shards[index[done[0]]]))
        return results  # type: ignore[return-value]

    def info(self) -> ModelInfo:
        info = self.ray.get(self.workers[0].info.remote())
        extra = {**info.extra, "executor": "ray", "workers": len(self.workers), "num_gpus_per_worker": self.placement.num_gpus}
        return info.model_copy(update={"extra": extra})

    def ask(self, method: str, *args: Any) -> Any:
        return self.ray.get(self.workers[0].ask.remote(method, *args))

    def open_task(self, task: list[Any]) -> None:
        self.ray.get([worker.open_task.remote(task) for worker in self.workers])

    def order(self, requests: list[Any]) -> list[Any]:
        return self.ray.get(self.workers[0].order.remote(requests))

    def close_task(self) -> None:
        self.ray.get([worker.close_task.remote() for worker in self.workers])

    def load(self, before: Callable[[], None]) -> bool:
        """Workers load their copies of the model in their own processes, on first use."""
        return False

    def close(self) -> None:
        for worker in self.workers:
            self.ray.kill(worker)
        self.workers = []
