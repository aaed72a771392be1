"""`--tasks lm_eval:<name>`: run a task from lm-eval's registry (or a user's lm-eval YAML) on an evalh adapter."""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.bridge.lm_eval_model import lm_for
from harness.bridge.lm_eval_results import convert
from harness.errors import TaskError
from harness.models.base import ModelAdapter
from harness.requests import Request
from harness.results import SampleRecord, TaskResult
from harness.tasks.sampling import GenerationOptions

PREFIX = "lm_eval:"


@dataclass(frozen=True)
class LmEvalTask:
    """A task of lm-eval's registry (or of a user's lm-eval YAML under `include_paths`): `lm_eval:<task>`."""

    task: str
    include_paths: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return PREFIX + self.task


def run_lm_eval_task(spec: LmEvalTask, model: ModelAdapter, *, ask: Callable[[Sequence[Request]], list] | None = None,
                     limit: int | float | None = None, num_fewshot: int | None = None, seed: int = 1234,
                     apply_chat_template: bool = False, data_dir: Path | None = None,
                     generation: GenerationOptions | None = None) -> tuple[TaskResult, list[SampleRecord]]:
    """Evaluate an lm-eval task with lm-eval's own prompts and metrics; results in evalh's form. lm-eval's
    requests are answered by `ask` (the runner's: memo, response cache, sessions), else by `model`. With
    `data_dir`, the task reads its dataset from that hub mirror, never from the hub. `generation` carries
    the run's --gen-kwargs (lm-eval's own), --samples (the task's `repeats`), --think-end-token,
    --system-instruction and --fewshot-as-multiturn."""
    name, include_paths = spec.task, spec.include_paths
    options = generation or GenerationOptions()
    started = time.perf_counter()
    declared = None
    if data_dir is not None:
        from harness.bridge.lm_eval_mirror import precheck

        declared = precheck(name, include_paths, data_dir, num_fewshot)
    try:
        import lm_eval
        from lm_eval.tasks import TaskManager
    except ImportError:
        raise TaskError(f"task {PREFIX}{name}: lm-eval is not installed (pip install 'evalh[lmeval]')") from None
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    manager = _task_manager(TaskManager, name, include_paths, declared)
    if name not in manager.all_tasks:
        from harness.errors import did_you_mean

        raise TaskError(f"task {PREFIX}{name}: not in lm-eval's registry{did_you_mean(name, manager.all_tasks)}")
    task: str | dict = name
    if data_dir is not None or options.samples is not None:
        from harness.bridge.lm_eval_mirror import mirrored_config, task_config

        task = task_config(manager, name)
        if data_dir is not None:
            task = mirrored_config(task, data_dir, name, num_fewshot)
        if options.samples is not None:
            task = {**task, "repeats": options.samples}
    multiturn = apply_chat_template if options.fewshot_as_multiturn is None else options.fewshot_as_multiturn
    try:
        results = lm_eval.simple_evaluate(
            model=lm_for(model, ask, seed, options.think_end_token), tasks=[task], num_fewshot=num_fewshot,
            limit=limit, log_samples=True, task_manager=manager, apply_chat_template=apply_chat_template,
            fewshot_as_multiturn=multiturn, system_instruction=options.system_instruction,
            gen_kwargs=lm_eval_gen_kwargs(options.gen_kwargs), random_seed=seed, fewshot_random_seed=seed,
            bootstrap_iters=1000,
        )
    except Exception as exc:  # lm-eval raises anything from dataset loading to template errors
        raise TaskError(f"task {PREFIX}{name}: lm-eval failed: {type(exc).__name__}: {exc}") from None
    tasks, records = convert(results, results.get("samples", {}), round(time.perf_counter() - started, 3))
    if name not in tasks:
        raise TaskError(f"task {PREFIX}{name}: lm-eval returned no results (is it a group? name its tasks)")
    result = tasks[name].model_copy(update={"name": PREFIX + name})
    if isinstance(task, dict) and task.get("metadata", {}).get("mirrored_from"):
        source = f"lm-eval: {task['metadata']['mirrored_from']} (mirror under {data_dir})"
        result.dataset = result.dataset.model_copy(update={"source": source})
    return result, [r.model_copy(update={"task": PREFIX + name}) for r in records if r.task == name]


def lm_eval_gen_kwargs(parsed: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """--gen-kwargs (parsed by harness.tasks.sampling) in lm-eval's keys, for its `gen_kwargs`."""
    if not parsed:
        return None
    return {("max_gen_toks" if key == "max_tokens" else key): value for key, value in parsed.items()}


def _task_manager(manager_class, name: str, include_paths: tuple[str, ...], declared: Path | None = None):
    """A TaskManager that knows task `name`: over the one folder declaring it when a text search finds it
    (seconds), else over all of lm-eval's tasks and `include_paths` (the full index; tens of seconds)."""
    from harness.bridge.lm_eval_mirror import task_file

    declared = declared or task_file(name, include_paths)
    if declared is not None:
        manager = manager_class(include_path=[str(declared.parent)], include_defaults=False)
        if name in manager.all_tasks:
            return manager
    return manager_class(include_path=list(include_paths) or None)
