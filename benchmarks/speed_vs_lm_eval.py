"""Speed of evalh against lm-eval 0.4.x on the same model, data and machine, with the agreement of scores.

The speed figures, in one invocation that runs the two harnesses alternately per case (evalh, lm-eval,
evalh, lm-eval, ...) and reports the median of the repeats; the targets are for float32 (the default):

1. arc0   arc_easy 0-shot (300 items):                              ratio evalh/lm-eval <= 0.3
2. arc5   arc_easy 5-shot, first 5 validation items (300):          ratio <= 0.1
2r. arc5r arc_easy 5-shot, lm-eval's random sampler (300):          ratio <= 0.25, identical prompts
          (1, 2, 2r: acc/acc_norm identical in fp32; in bf16 differing items are printed with margins)
3. wmt    wmt22 en-de, 100 lines, greedy, <= 64 new tokens:         ratio <= 0.3, identical outputs
4. cache the arc0 run again with a warm response cache:      <= 5% of the cold run (evalh only)
5. time outside model forward passes, share of evalh's wall time (cases 1-3): <= 10%

How it measures. Each harness loads the model once (SmolLM2-135M as a transformers folder, `--dtype`,
float32 by default) before any timing; the load is printed, not counted. evalh runs through
`harness.evaluate` with a loader that hands it the loaded adapter; lm-eval through `simple_evaluate` with
an `HFLM` built here. A forward pre/post hook on each harness's torch model counts the input positions it
computes (padding included) and the time spent inside forward passes. Work that a run would repeat only
once per process is done untimed first, for both: lm-eval's task index (TaskManager), the `datasets`
cache of its JSON files, and a warm-up run of every case with 2 items. Both use the same batch size
and the same torch thread count (`--threads`, default 1: on a small machine shared with other jobs,
OpenMP threads that spin-wait for a busy core made each forward pass 10-30x slower with 2 threads
than with 1 here).

Run:  .venv/bin/python benchmarks/speed_vs_lm_eval.py                 # full sizes, 3 repeats
      .venv/bin/python benchmarks/speed_vs_lm_eval.py --limit 60 --repeats 1 --cases arc0 wmt
      .venv/bin/python benchmarks/speed_vs_lm_eval.py --dtype float32 --cases arc0 arc5   # exact agreement
      .venv/bin/python benchmarks/speed_vs_lm_eval.py --dtype auto     # each harness at its own default dtype
      .venv/bin/python benchmarks/speed_vs_lm_eval.py --device cuda --model-dir FOLDER   # on a GPU
        (FOLDER: a transformers model folder; both harnesses run on the device, and the forward meters
        wait for it at each end of a forward pass)

In bfloat16 the arc cases also run evalh once in float32 (untimed): each item the harnesses disagree on
is printed with its margin in both and in float32, and each harness's predictions are counted against
float32's. In wmt, the decode steps are split into rows still generating and rows already finished.
With --noise-floor N (bfloat16), lm-eval also runs once more at batch size N (untimed) and the items it
predicts differently from its own first run are counted: the agreement bf16 allows even within one harness.
Figure 4 runs evalh with a response cache in a fresh temporary folder: once cold (filling it), then
--repeats times warm. The forward meters and agreement checks live in benchmarks/_speed_compare.py.

Exit status 0 (a report), unless a harness crashes.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _speed_compare import (ForwardMeter, RunStats, compare_generations, compare_mc,
                            compare_prompts, decode_work, lm_eval_self_agreement)
from compare_lm_eval import DEFAULT_DATA, REPO, TASK_PAIRS, default_model_folder  # sets HF_*_OFFLINE, sys.path

ARC_TEST = "allenai/ai2_arc/ARC-Easy/test.jsonl"
ARC_VALIDATION = "allenai/ai2_arc/ARC-Easy/validation.jsonl"
WMT_PROMPT = "English phrase: {{source}}\nGerman phrase:"
MAX_NEW_TOKENS = 64


@dataclass(frozen=True)
class Case:
    """One timed comparison: an evalh task and the lm-eval task that must do the same work."""

    key: str
    title: str
    evalh_task: str
    lm_task: str
    kind: str  # "mc" or "generate"
    target: float  # largest accepted ratio evalh/lm-eval


CASES = {
    "arc0": Case("arc0", "1. arc_easy 0-shot", "arc_easy", "evalh_speed_arc_easy", "mc", 0.3),
    "arc5": Case("arc5", "2. arc_easy 5-shot first_n", "speed_arc_easy_first5", "evalh_speed_arc_easy_first5",
                 "mc", 0.1),
    "arc5r": Case("arc5r", "2r. arc_easy 5-shot random sampler", "speed_arc_easy_random5",
                  "evalh_speed_arc_easy_random5", "mc", 0.25),
    "wmt": Case("wmt", "3. wmt22 en-de greedy", "speed_wmt22_en_de", "evalh_speed_wmt22_en_de", "generate", 0.3),
}
CACHE_TARGET = 0.05
OUTSIDE_FORWARD_TARGET = 0.10


@dataclass
class Bench:
    """Everything the runs share: paths, loaded models, meters, lm-eval's task index."""

    args: argparse.Namespace
    folder: Path
    tmp: Path
    evalh_model: Any = None
    evalh_meter: ForwardMeter | None = None
    lm: Any = None
    lm_meter: ForwardMeter | None = None
    task_manager: Any = None
    fp32_model: tuple[Any, ForwardMeter] | None = None
    load_s: dict[str, float] = field(default_factory=dict)

    def dtypes(self) -> tuple[str, str]:
        """The dtype each harness loaded the model in (with --dtype auto, each chose its own)."""
        return self.evalh_model.info().dtype, str(self.lm.model.dtype).removeprefix("torch.")

    @property
    def evalh_tasks(self) -> Path:
        return self.tmp / "evalh_tasks"

    @property
    def lm_tasks(self) -> Path:
        return self.tmp / "lm_eval_tasks"


# -- task files -----------------------------------------------------------------------------------
def write_task_files(bench: Bench) -> None:
    """evalh task YAMLs (include path) and lm-eval task YAMLs reading the same data."""
    import yaml

    from harness.tasks.datasets import load_rows
    from harness.tasks.loader import build_index

    data = bench.args.data_dir
    bench.evalh_tasks.mkdir()
    bench.lm_tasks.mkdir()
    arc = yaml.safe_load((REPO / "tasks/qa/arc_easy.yaml").read_text())
    arc5 = {**arc, "name": CASES["arc5"].evalh_task, "fewshot": {"split": "validation", "k": 5, "sampler": "first_n"}}
    wmt = yaml.safe_load((REPO / "tasks/translation/wmt22_en_de.yaml").read_text())
    wmt.update(name=CASES["wmt"].evalh_task, prompt=WMT_PROMPT, metrics=["bleu"],
               dataset={"sacrebleu": {"testset": "wmt22", "langpair": "en-de", "refs": ["A"]}},
               generation={"until": ["\n"], "max_tokens": MAX_NEW_TOKENS})
    # lm-eval's default sampler: one Random(1234) per task, drawing each document's examples in order
    arc5r = {**arc, "name": CASES["arc5r"].evalh_task, "fewshot": {"split": "validation", "k": 5, "sampler": "random",
                                                                   "seed": 1234}}
    for spec in (arc5, arc5r, wmt):
        (bench.evalh_tasks / f"{spec['name']}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))

    wmt_spec = build_index([str(bench.evalh_tasks)]).resolve([wmt["name"]])[0][0]
    wmt_rows = load_rows(wmt_spec, data_dir=data)  # the lines evalh reads, so lm-eval reads the same
    wmt_file = bench.tmp / "wmt22_en_de.jsonl"
    wmt_file.write_text("".join(json.dumps({"source": r["source"], "reference": r["references"][0]},
                                           ensure_ascii=False) + "\n" for r in wmt_rows), encoding="utf-8")
    arc_common = {"test_split": "test", **TASK_PAIRS["arc_easy"].lm_eval_config}
    lm_configs = [
        {"task": CASES["arc0"].lm_task, "dataset_path": "json",
         "dataset_kwargs": {"data_files": {"test": str(data / ARC_TEST)}}, **arc_common},
        {"task": CASES["arc5"].lm_task, "dataset_path": "json",
         "dataset_kwargs": {"data_files": {"test": str(data / ARC_TEST), "validation": str(data / ARC_VALIDATION)}},
         **arc_common, "fewshot_split": "validation", "fewshot_config": {"sampler": "first_n"}, "num_fewshot": 5},
        {"task": CASES["arc5r"].lm_task, "dataset_path": "json",
         "dataset_kwargs": {"data_files": {"test": str(data / ARC_TEST), "validation": str(data / ARC_VALIDATION)}},
         **arc_common, "fewshot_split": "validation", "num_fewshot": 5},
        {"task": CASES["wmt"].lm_task, "dataset_path": "json",
         "dataset_kwargs": {"data_files": {"test": str(wmt_file)}}, "test_split": "test",
         "output_type": "generate_until", "doc_to_text": WMT_PROMPT, "doc_to_target": "{{reference}}",
         "generation_kwargs": {"until": ["\n"], "max_gen_toks": MAX_NEW_TOKENS, "do_sample": False},
         "metric_list": [{"metric": "bleu", "aggregation": "bleu", "higher_is_better": True}],
         "metadata": {"version": 1.0}},
    ]
    for config in lm_configs:
        (bench.lm_tasks / f"{config['task']}.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        _warm_datasets_cache(config["dataset_kwargs"]["data_files"])


def _warm_datasets_cache(data_files: dict[str, str]) -> None:
    """lm-eval reads JSON through `datasets`, which converts a file once and caches it: do that untimed."""
    import datasets

    datasets.load_dataset("json", data_files=data_files)


# -- loading --------------------------------------------------------------------------------------
def load_models(bench: Bench) -> None:
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    from harness.models.resolve import LoadOptions, load_model

    args = bench.args
    started = time.perf_counter()
    bench.evalh_model = load_model(str(bench.folder), LoadOptions(device=args.device, dtype=args.dtype,
                                                                  batch_size=args.batch_size,
                                                                  match_batching=args.match_batching))
    bench.evalh_model.model  # noqa: B018 -- a local folder loads lazily; load it now, outside the timed runs
    bench.load_s["evalh"] = time.perf_counter() - started
    bench.evalh_meter = ForwardMeter(bench.evalh_model.model, args.device)
    started = time.perf_counter()
    bench.lm = HFLM(pretrained=str(bench.folder), dtype=args.dtype, device=args.device, batch_size=args.batch_size,
                    **args.lm_eval_args)
    bench.load_s["lm-eval"] = time.perf_counter() - started
    bench.lm_meter = ForwardMeter(bench.lm.model, args.device)
    started = time.perf_counter()
    bench.task_manager = TaskManager(include_path=str(bench.lm_tasks))
    bench.load_s["lm-eval task index"] = time.perf_counter() - started


# -- one run of each harness ----------------------------------------------------------------------
def run_evalh(bench: Bench, task: str, limit: int, cache_dir: Path | None = None,
              model: tuple[Any, ForwardMeter] | None = None) -> RunStats:
    from harness.config import RunConfig
    from harness.evaluation import evaluate
    from harness.results import read_samples

    args = bench.args
    config = RunConfig(models=[str(bench.folder)], tasks=[task], include_paths=[str(bench.evalh_tasks)],
                       limit=limit, dtype=model[0].info().dtype if model else args.dtype, device=args.device,
                       batch_size=args.batch_size, match_batching=args.match_batching,
                       data_dir=str(args.data_dir), output_dir=str(bench.tmp / "runs"),
                       cache=cache_dir is not None, cache_dir=str(cache_dir) if cache_dir else None)
    log = (lambda line: print(f"    [evalh] {line}", flush=True)) if args.verbose else (lambda _line: None)
    adapter, meter = model or (bench.evalh_model, bench.evalh_meter)
    meter.reset()
    started = time.perf_counter()
    evaluation = evaluate(config, load=lambda _name, _options: adapter, log=log)
    seconds = time.perf_counter() - started
    if not evaluation.ok or not evaluation.runs:
        errors = [e.message for e in evaluation.errors] + [e.message for _, r in evaluation.runs for e in r.errors]
        raise RuntimeError(f"evalh failed on {task}: {errors}")
    run_dir, result = evaluation.runs[0]
    metrics = {name: value.value for name, value in result.tasks[task].metrics.items()}
    return RunStats(seconds, meter.seconds, meter.tokens, meter.calls, metrics, read_samples(run_dir), meter.shapes)


def run_evalh_cli(bench: Bench, task: str, limit: int, cache_dir: Path) -> RunStats:
    """evalh loading the model itself, as `evalh run` does (a local folder loads lazily); `calls` is 1 when
    the weights were loaded."""
    from harness.config import RunConfig
    from harness.evaluation import evaluate
    from harness.models.resolve import load_model
    from harness.results import read_samples

    args, loaded = bench.args, []
    config = RunConfig(models=[str(bench.folder)], tasks=[task], include_paths=[str(bench.evalh_tasks)], limit=limit,
                       dtype=args.dtype, device=args.device, batch_size=args.batch_size, match_batching=args.match_batching,
                       data_dir=str(args.data_dir), output_dir=str(bench.tmp / "runs"), cache=True,
                       cache_dir=str(cache_dir))

    def load(name, options):
        loaded.append(load_model(name, options))
        return loaded[-1]

    started = time.perf_counter()
    evaluation = evaluate(config, load=load, log=lambda _line: None)
    seconds = time.perf_counter() - started
    run_dir, result = evaluation.runs[0]
    metrics = {name: value.value for name, value in result.tasks[task].metrics.items()}
    weights = int(any(getattr(m, "weights_loaded", True) for m in loaded))
    return RunStats(seconds, 0.0, 0, weights, metrics, read_samples(run_dir))


def run_lm_eval(bench: Bench, task: str, limit: int) -> RunStats:
    import lm_eval

    meter = bench.lm_meter
    meter.reset()
    started = time.perf_counter()
    output = lm_eval.simple_evaluate(model=bench.lm, tasks=[task], limit=limit, log_samples=True,
                                     task_manager=bench.task_manager)
    seconds = time.perf_counter() - started
    results = output["results"][task]
    metrics = {key.split(",")[0]: float(value) for key, value in results.items()
               if "," in key and "_stderr" not in key and isinstance(value, (int, float))}
    samples = sorted(output["samples"][task], key=lambda s: int(s["doc_id"]))
    return RunStats(seconds, meter.seconds, meter.tokens, meter.calls, metrics, samples, meter.shapes)


# -- cases ----------------------------------------------------------------------------------------
@dataclass
class CaseResult:
    case: Case
    limit: int
    ours: list[RunStats]
    theirs: list[RunStats]
    agreement: str

    @staticmethod
    def median(runs: list[RunStats], attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in runs)

    @property
    def ratio(self) -> float:
        return self.median(self.ours, "seconds") / self.median(self.theirs, "seconds")


def _limit(args: argparse.Namespace, case: Case) -> int:
    return args.limit or (args.wmt_limit if case.kind == "generate" else args.arc_limit)


def run_case(bench: Bench, case: Case) -> CaseResult:
    limit, repeats = _limit(bench.args, case), bench.args.repeats
    print(f"\n== {case.title}: {limit} items, {repeats} repeat(s), alternating ==", flush=True)
    ours, theirs = [], []
    for repeat in range(1, repeats + 1):
        for name, runs, run in (("evalh", ours, lambda: run_evalh(bench, case.evalh_task, limit)),
                                ("lm-eval", theirs, lambda: run_lm_eval(bench, case.lm_task, limit))):
            stats = run()
            runs.append(stats)
            print(f"  repeat {repeat} {name:<7} {stats.seconds:7.2f} s  forward {stats.forward_s:7.2f} s "
                  f"({stats.calls} calls, {stats.tokens} tokens)  outside forward {stats.outside_share:.1%}", flush=True)
    for name, runs in (("evalh", ours), ("lm-eval", theirs)):
        if len({r.tokens for r in runs}) > 1:
            print(f"  note: {name} token counts vary between repeats: {[r.tokens for r in runs]}")
    print(f"  prompts: {compare_prompts(ours[-1], theirs[-1])}")
    if case.kind == "mc":
        agreement, lines = compare_mc(ours[-1], theirs[-1], fp32_reference(bench, case, limit))
        if bench.args.noise_floor and bench.dtypes() != ("float32", "float32"):
            agreement += "; " + lm_eval_self_agreement(ours[-1], theirs[-1], run_lm_eval_again(bench, case, limit),
                                                       bench.args.noise_floor)
    else:
        agreement, lines = compare_generations(ours[-1], theirs[-1])
        tok = bench.evalh_model.tokenizer
        print(f"  {decode_work(tok, ours[-1], 'evalh', MAX_NEW_TOKENS)}\n  {decode_work(tok, theirs[-1], 'lm-eval', MAX_NEW_TOKENS)}")
    print(f"  agreement: {agreement}")
    for line in lines[: bench.args.show]:
        print(f"    {line}")
    if len(lines) > bench.args.show:
        print(f"    ... {len(lines) - bench.args.show} more (--show N)")
    result = CaseResult(case, limit, ours, theirs, agreement)
    print(f"  median: evalh {result.median(ours, 'seconds'):.2f} s, lm-eval {result.median(theirs, 'seconds'):.2f} s, "
          f"ratio {result.ratio:.3f} (target <= {case.target}); evalh outside forward "
          f"{result.median(ours, 'outside_share'):.1%} (target <= {OUTSIDE_FORWARD_TARGET:.0%})", flush=True)
    return result


def run_lm_eval_again(bench: Bench, case: Case, limit: int) -> RunStats:
    """lm-eval on the same model object with another batch size (untimed): its own bf16 noise floor."""
    import lm_eval
    from lm_eval.models.huggingface import HFLM

    lm = HFLM(pretrained=bench.lm.model, tokenizer=bench.lm.tokenizer, batch_size=bench.args.noise_floor,
              **bench.args.lm_eval_args)
    output = lm_eval.simple_evaluate(model=lm, tasks=[case.lm_task], limit=limit, log_samples=True,
                                     task_manager=bench.task_manager)
    samples = sorted(output["samples"][case.lm_task], key=lambda s: int(s["doc_id"]))
    return RunStats(0.0, 0.0, 0, 0, {}, samples)


def fp32_reference(bench: Bench, case: Case, limit: int) -> RunStats | None:
    """evalh in float32 on the same items (untimed), to judge bf16 differences; None in float32 runs."""
    if bench.dtypes() == ("float32", "float32") or not bench.args.fp32_reference:
        return None
    if bench.fp32_model is None:
        from harness.models.resolve import LoadOptions, load_model

        adapter = load_model(str(bench.folder), LoadOptions(device=bench.args.device, dtype="float32",
                                                            batch_size=bench.args.batch_size))
        bench.fp32_model = (adapter, ForwardMeter(adapter.model, bench.args.device))
    return run_evalh(bench, case.evalh_task, limit, model=bench.fp32_model)


@dataclass
class CacheResult:
    limit: int
    cold: RunStats
    warm: list[RunStats]
    same_results: bool

    @property
    def warm_s(self) -> float:
        return statistics.median(r.seconds for r in self.warm)

    @property
    def ratio(self) -> float:
        return self.warm_s / self.cold.seconds


def run_cache_case(bench: Bench) -> CacheResult:
    case, args = CASES["arc0"], bench.args
    limit, cache_dir = _limit(args, case), bench.tmp / "cache"
    print(f"\n== 4. arc_easy 0-shot again with a warm response cache: {limit} items, evalh only ==", flush=True)
    cold = run_evalh(bench, case.evalh_task, limit, cache_dir)
    print(f"  cold  {cold.seconds:7.2f} s  forward {cold.forward_s:.2f} s ({cold.tokens} tokens)", flush=True)
    warm = []
    for repeat in range(1, args.repeats + 1):
        warm.append(run_evalh(bench, case.evalh_task, limit, cache_dir))
        print(f"  warm {repeat} {warm[-1].seconds:7.3f} s  forward {warm[-1].forward_s:.3f} s "
              f"({warm[-1].tokens} tokens)", flush=True)
    cli = run_evalh_cli(bench, case.evalh_task, limit, cache_dir)
    print(f"  warm, loading the model as `evalh run` does {cli.seconds:7.3f} s (weights loaded: {cli.calls > 0})",
          flush=True)
    same = all(w.metrics == cold.metrics and [s.logprobs for s in w.samples] == [s.logprobs for s in cold.samples]
               for w in [*warm, cli])
    result = CacheResult(limit, cold, warm, same)
    load = bench.load_s["evalh"]
    print(f"  warm/cold {result.ratio:.1%} (target <= {CACHE_TARGET:.0%}); results identical to the cold run: {same}")
    print(f"  as `evalh run` would see it (model load {load:.1f} s in the cold run, none in the warm one): "
          f"{cli.seconds / (cold.seconds + load):.1%}")
    return result


# -- report ---------------------------------------------------------------------------------------
def summary_table(results: list[CaseResult], cache: CacheResult | None) -> list[list[str]]:
    rows = []
    for r in results:
        ok = r.ratio <= r.case.target
        rows.append([f"{r.case.title} ({r.limit})", f"{r.median(r.ours, 'seconds'):.2f}",
                     f"{r.median(r.theirs, 'seconds'):.2f}", f"{r.ratio:.3f}", f"<= {r.case.target}",
                     "yes" if ok else "NO", str(r.ours[-1].tokens), str(r.theirs[-1].tokens), r.agreement])
    if cache is not None:
        rows.append([f"4. arc_easy cache warm ({cache.limit})", f"{cache.warm_s:.3f}", "-",
                     f"{cache.ratio:.3f}", f"<= {CACHE_TARGET} of cold {cache.cold.seconds:.2f}s",
                     "yes" if cache.ratio <= CACHE_TARGET else "NO", str(cache.warm[-1].tokens), "-",
                     "same as cold run" if cache.same_results else "DIFFERS from cold run"])
    for r in results:
        share = r.median(r.ours, "outside_share")
        rows.append([f"5. outside forward, {r.case.key}", f"{r.median(r.ours, 'seconds') * share:.2f}",
                     f"{r.median(r.theirs, 'seconds') * r.median(r.theirs, 'outside_share'):.2f}",
                     f"{share:.3f}", f"<= {OUTSIDE_FORWARD_TARGET} of evalh wall",
                     "yes" if share <= OUTSIDE_FORWARD_TARGET else "NO", "-", "-",
                     f"lm-eval outside forward {r.median(r.theirs, 'outside_share'):.1%}"])
    return rows


def print_table(rows: list[list[str]]) -> None:
    header = ["case", "evalh s", "lm-eval s", "ratio", "target", "met?", "tokens evalh", "tokens lm-eval", "agreement"]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header[:-1])]
    print("\n" + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " | agreement")
    print("-+-".join("-" * w for w in widths) + "-+-" + "-" * 20)
    for row in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(row, widths)) + " | " + row[-1])


# -- main -----------------------------------------------------------------------------------------
def warm_up(bench: Bench, cases: list[Case]) -> None:
    """Untimed 2-item runs: first-call costs (imports, template compiles, kernels) out of the figures."""
    for case in cases:
        run_evalh(bench, case.evalh_task, 2)
        run_lm_eval(bench, case.lm_task, 2)


def parse_model_args(text: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in text.split(",") if part) if text else {}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=["arc0", "arc5", "arc5r", "wmt", "cache"],
                        choices=[*CASES, "cache"], help="which figures (default: all)")
    parser.add_argument("--arc-limit", type=int, default=300, help="arc_easy items (default 300)")
    parser.add_argument("--wmt-limit", type=int, default=100, help="wmt22 en-de lines (default 100)")
    parser.add_argument("--limit", type=int, help="items for every case (overrides --arc-limit/--wmt-limit)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each harness per case (default 3)")
    parser.add_argument("--dtype", default="float32", choices=["bfloat16", "float32", "auto"],
                        help="both harnesses (default float32); auto: each harness's own default (evalh: by what "
                             "the hardware does natively; lm-eval: the checkpoint's dtype)")
    parser.add_argument("--match-batching", default="none", choices=["none", "lm-eval"],
                        help="evalh's bf16 layout: batch-invariant (default) or lm-eval's batches")
    parser.add_argument("--batch-size", type=int, default=8, help="both harnesses (default 8)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads, both harnesses (default 1; 0 keeps torch's default)")
    parser.add_argument("--device", default="cpu", help="torch device for both harnesses, e.g. cuda (default cpu)")
    parser.add_argument("--model-dir", type=Path, help="transformers model folder (default: SmolLM2-135M from GGUF)")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help=f"data mirror (default {DEFAULT_DATA})")
    parser.add_argument("--lm-eval-args", type=parse_model_args, default={},
                        help="extra HFLM arguments, e.g. softmax_dtype=float32")
    parser.add_argument("--no-fp32-reference", dest="fp32_reference", action="store_false",
                        help="in bfloat16, skip the untimed float32 evalh run that judges differing items")
    parser.add_argument("--noise-floor", type=int, metavar="BATCH", default=0,
                        help="in bfloat16, run lm-eval once more (untimed) at this batch size and count the items "
                             "it predicts differently from itself")
    parser.add_argument("--show", type=int, default=20, help="differing items printed per case (default 20)")
    parser.add_argument("--no-warmup", action="store_true", help="skip the untimed 2-item runs")
    parser.add_argument("--verbose", action="store_true", help="show evalh's log and lm-eval's INFO lines")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.data_dir = args.data_dir.resolve()
    missing = [p for p in (ARC_TEST, ARC_VALIDATION, "wmt22/sources") if not (args.data_dir / p).exists()]
    if missing:
        sys.exit(f"missing under {args.data_dir}: {', '.join(missing)} (use --data-dir)")
    if not args.verbose:
        for name in ("lm_eval", "lm-eval", "datasets", "transformers"):
            logging.getLogger(name).setLevel(logging.ERROR)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    folder = (args.model_dir or default_model_folder()).resolve()
    from harness.hardware import describe

    print(f"model: {folder}\ndata: {args.data_dir}\ndtype {args.dtype}, batch size {args.batch_size}, "
          f"repeats {args.repeats}\n{describe(torch.get_num_threads())}")
    if args.device.startswith("cuda"):
        print(f"device {args.device}: {torch.cuda.get_device_name(torch.device(args.device))}")
    cases = [CASES[k] for k in CASES if k in args.cases]
    with tempfile.TemporaryDirectory(prefix="evalh-speed-") as tmp:
        bench = Bench(args, folder, Path(tmp))
        cwd = os.getcwd()
        os.chdir(tmp)  # lm-eval runs `git describe` in the working directory; keep it out of the repository
        try:
            write_task_files(bench)
            load_models(bench)
            print("untimed, once: " + ", ".join(f"{k} {v:.1f} s" for k, v in bench.load_s.items()), flush=True)
            print("dtype: evalh {}, lm-eval {}".format(*bench.dtypes()), flush=True)
            if not args.no_warmup:
                warm_up(bench, cases or [CASES["arc0"]])
            results = [run_case(bench, case) for case in cases]
            cache = run_cache_case(bench) if "cache" in args.cases else None
        finally:
            os.chdir(cwd)
    print_table(summary_table(results, cache))
    print(f"(dtype {args.dtype}, batch size {args.batch_size}, medians of {args.repeats} repeat(s), model load "
          f"excluded: evalh {bench.load_s['evalh']:.1f} s, lm-eval {bench.load_s['lm-eval']:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
