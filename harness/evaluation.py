"""`evaluate(config)`: the library entry point the CLI calls. One run folder per model.

Every finished task is written at once (results.json rewritten atomically, samples appended), so a
failure later in the run never loses finished work. Failures of one task or one model are recorded and
the rest of the run goes on.
"""
from __future__ import annotations

import platform
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from harness.version import __version__
from harness.cache import ResponseCache, default_cache_path
from harness.config import RunConfig
from harness.bridge.lm_eval_run import PREFIX as LM_EVAL_PREFIX, LmEvalTask
from harness.errors import ConfigError, EvalhError
from harness.models.base import ModelAdapter
from harness.paths import writable_folder
from harness.models.resolve import LoadOptions, load_model
from harness.results import RunError, RunResult, write_result
from harness.runner import Runner
from harness.tasks.loader import build_index
from harness.tasks.sampling import GenerationOptions
from harness.tasks.schema import TaskSpec
from harness.tracking import check_trackers, log_runs

ModelLoader = Callable[[str, LoadOptions], ModelAdapter]
SLOW_OPEN_SECONDS = 2.0
"""Opening a model that takes longer than this is announced."""
_VERSIONED = ("torch", "transformers", "tokenizers", "datasets", "sacrebleu", "rouge-score", "numpy", "lm_eval")


@dataclass
class Evaluation:
    """What a call to `evaluate` produced: one RunResult per loaded model, and every error."""

    runs: list[tuple[Path, RunResult]] = field(default_factory=list)
    errors: list[RunError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and all(not result.errors for _, result in self.runs)


def evaluate(config: RunConfig, *, load: ModelLoader = load_model, log: Callable[[str], None] = lambda _: None) -> Evaluation:
    """Run every model in `config` on every task; write results; return them."""
    out = Evaluation()
    try:
        check_trackers(config.log_to)  # a missing tracking package is found before any model loads
        index = build_index(config.include_paths)
    except EvalhError as exc:
        out.errors.append(_logged(RunError(scope="run", name="tasks", message=str(exc)), log))
        return out
    bridged = [LmEvalTask(n.removeprefix(LM_EVAL_PREFIX), tuple(config.include_paths))
               for n in config.tasks if n.startswith(LM_EVAL_PREFIX)]
    specs, unknown = index.resolve([n for n in config.tasks if not n.startswith(LM_EVAL_PREFIX)])
    task_errors = [RunError(scope="task", name=name, message=str(err)) for name, err in unknown.items()]
    out.errors.extend(task_errors)
    for error in task_errors:
        log(f"error: {error.message}")
    if not specs and not bridged:  # nothing to run: no model is loaded and no run folder written
        return out
    try:
        writable_folder(config.output_dir, "--output-dir")
    except EvalhError as exc:
        out.errors.append(_logged(RunError(scope="run", name="output", message=str(exc)), log))
        return out
    options = LoadOptions.from_config(config)
    try:
        cache = open_cache(config)
    except EvalhError as exc:
        out.errors.append(RunError(scope="run", name="cache", message=str(exc)))
        log(f"error: {exc}")
        return out
    try:
        _run_models(config, out, [*specs, *bridged], task_errors, options, cache, load, log)
    finally:
        if cache is not None:
            cache.close()
    for message in log_runs(config.log_to, out.runs, log):
        out.errors.append(_logged(RunError(scope="run", name="tracking", message=message), log))
    return out


def open_cache(config: RunConfig) -> ResponseCache | None:
    """The response cache `config` asks for (None with `cache: false`); raises CacheError for a bad file."""
    if not config.cache:
        return None
    return ResponseCache.open(default_cache_path(config.cache_dir))


def _run_models(config: RunConfig, out: Evaluation, specs: list[TaskSpec | LmEvalTask], task_errors: list[RunError],
                options: LoadOptions, cache: ResponseCache | None, load: ModelLoader,
                log: Callable[[str], None]) -> None:
    judge = _load_judge(config, specs, options, load, out, log)
    for model_name in config.models:
        started = time.perf_counter()
        # Most models defer their weights (and a GGUF file's conversion) to the first request the cache
        # misses: the runner says "loading" and times that load. Opening one reads its files and imports
        # its libraries, said only when it takes a while (a hub model is loaded at once).
        slow = threading.Timer(SLOW_OPEN_SECONDS, log, [f"opening model {model_name} ..."])
        slow.daemon = True
        slow.start()
        try:
            model = place_model(model_name, options, config, load)
        except Exception as exc:  # noqa: BLE001 - one model's failure never stops the others
            out.errors.append(_logged(RunError.from_exception("model", model_name, exc), log))
            continue
        finally:
            slow.cancel()
        load_seconds = time.perf_counter() - started
        reason = model.info().extra.get("dtype_reason")
        if reason:
            log(f"{model_name}: {model.info().dtype} ({reason})")
        try:
            out.runs.append(_run_model(config, model, specs, task_errors, load_seconds, log, cache, judge, load))
        except Exception as exc:  # noqa: BLE001 - e.g. an unwritable output folder; the next model still runs
            out.errors.append(_logged(RunError.from_exception("model", model_name, exc), log))
        finally:
            model.close()  # frees Ray workers for the next model


def _load_judge(config: RunConfig, specs: list, options: LoadOptions, load: ModelLoader, out: Evaluation,
                log: Callable[[str], None]) -> ModelAdapter | None:
    """The --judge model, loaded once, when a dialogue task will need it; a failure is recorded, not raised."""
    if not config.judge or not any(isinstance(s, TaskSpec) and s.output_type == "dialogue" for s in specs):
        return None
    try:
        log(f"loading judge {config.judge} ...")
        return load(config.judge, options.without_model_args())
    except Exception as exc:  # noqa: BLE001 - recorded; the dialogue tasks then fail, the others run
        out.errors.append(_logged(RunError.from_exception("model", f"judge {config.judge}", exc), log))
        return None


def place_model(name: str, options: LoadOptions, config: RunConfig, load: ModelLoader) -> ModelAdapter:
    """Load the model here, or as a pool of Ray workers (--executor ray); either way, sharded as asked."""
    from harness.executors.sharded import LocalBackend, ShardedModel

    if config.executor == "ray":
        from harness.executors.ray_backend import RayBackend

        if any(t.startswith(LM_EVAL_PREFIX) for t in config.tasks):
            raise ConfigError("lm_eval: tasks run in process; use --executor local for them")
        loader = None if load is load_model else load
        backend = RayBackend(name, options, shards=config.shards, address=config.ray_address, loader=loader)
        return ShardedModel(backend, config.shards)
    model = load(name, options)
    return model if config.shards <= 1 else ShardedModel(LocalBackend(model), config.shards)


def _run_model(config: RunConfig, model: ModelAdapter, specs: list[TaskSpec | LmEvalTask], task_errors: list[RunError],
               load_seconds: float, log: Callable[[str], None],
               cache: ResponseCache | None = None, judge: ModelAdapter | None = None,
               load: ModelLoader = load_model) -> tuple[Path, RunResult]:
    info = model.info()
    run_dir = new_run_dir(Path(config.output_dir), info.name)
    result = RunResult(
        run_id=run_dir.name, status="incomplete", created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        evalh_version=__version__, config=config.model_dump(), model=info, errors=list(task_errors),
        timings={"model_load_s": round(load_seconds, 3)}, versions=_versions(),
        host={"platform": platform.platform(), "python": platform.python_version(), "machine": platform.machine()},
    )
    write_result(run_dir, result)
    runner = Runner(model, judge=judge, load=load, load_options=LoadOptions.from_config(config), data_dir=Path(config.data_dir) if config.data_dir else None,
                    limit=config.limit, num_fewshot=config.num_fewshot, seed=config.seed, progress=config.progress,
                    apply_chat_template=config.apply_chat_template, cache=cache,
                    allowed=[Path(p) for p in config.allow_paths], log=log,
                    generation=generation_options(config))
    started = time.perf_counter()
    samples_path = run_dir / "samples.jsonl"
    samples_path.touch()
    try:
        for spec in specs:
            before = dict(runner.cache_stats)
            try:
                task_result, samples = runner.run_task(spec)
            except Exception as exc:  # noqa: BLE001 - any failure is this task's; only KeyboardInterrupt ends a run
                result.errors.append(_logged(RunError.from_exception("task", spec.name, exc), log))
                write_result(run_dir, result)
                continue
            with samples_path.open("a", encoding="utf-8") as handle:
                for sample in samples:
                    handle.write(sample.model_dump_json() + "\n")
            result.tasks[task_result.name] = task_result
            _record_timings(result, runner, started, load_seconds, cache)
            write_result(run_dir, result)
            log(f"{task_result.name}: done in {task_result.seconds:.1f}s{_cache_note(runner, before, cache)}")
    finally:
        runner.close()  # judges the runner loaded for its tasks
    _record_timings(result, runner, started, load_seconds, cache)
    result.status = "complete" if result.tasks else "failed"
    write_result(run_dir, result)
    return run_dir, result


def generation_options(config: RunConfig) -> GenerationOptions:
    """The run's generation and prompt settings, as the runner takes them."""
    return GenerationOptions(gen_kwargs=config.gen_kwargs, samples=config.samples,
                             think_end_token=config.think_end_token, system_instruction=config.system_instruction,
                             fewshot_as_multiturn=config.fewshot_as_multiturn)


def _logged(error: RunError, log: Callable[[str], None]) -> RunError:
    """`error`, after logging it as it happens (with where it was raised, for an unexpected exception)."""
    label = "" if error.name in error.message else f"{error.scope} {error.name}: "
    log(f"error: {label}{error.message}" + (f" (at {error.where})" if error.where else ""))
    return error


def _record_timings(result: RunResult, runner: Runner, started: float, load_seconds: float,
                    cache: ResponseCache | None) -> None:
    """Wall time so far; with a cache, requests answered by it (cache_hits) and sent to the model (cache_misses)."""
    result.timings["total_s"] = round(time.perf_counter() - started + load_seconds, 3)
    result.timings["model_load_s"] = round(load_seconds + runner.load_seconds, 3)  # opening + deferred weights
    if cache is not None:
        result.timings["cache_hits"] = runner.cache_stats["hits"]
        result.timings["cache_misses"] = runner.cache_stats["misses"]


def _cache_note(runner: Runner, before: dict[str, int], cache: ResponseCache | None) -> str:
    if cache is None:
        return ""
    hits, misses = (runner.cache_stats[k] - before[k] for k in ("hits", "misses"))
    return f" ({hits} requests from the cache, {misses} computed)"


def new_run_dir(output_dir: Path, model_name: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(model_name).name or model_name).strip("-.")[:60] or "model"
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    output_dir.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        candidate = output_dir / (f"{stamp}-{slug}" + (f"-{n}" if n > 1 else ""))
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise EvalhError(f"cannot create a run folder under {output_dir}")


def _versions() -> dict[str, str]:
    found = {"evalh": __version__, "python": platform.python_version()}
    for name in _VERSIONED:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found
