"""Score one local model with evalh and with lm-eval 0.4.x on the same items, and compare.

What it checks, per task pair in TASK_PAIRS: the aggregate metrics (acc, acc_norm) agree exactly, and
every per-choice log-likelihood agrees within --tolerance (default 1e-3). It also counts items whose
argmax choice differs and times both harnesses (model load included). Exit status 0 when all agree,
1 otherwise (the worst items are printed with both harnesses' log-probabilities).

The model is SmolLM2-135M, converted once from its packaged GGUF into a transformers folder (cached by
evalh); --model-dir uses another transformers folder. lm-eval cannot reach the hub here, so each pair
writes an lm-eval task YAML that reads the same local JSONL file (`dataset_path: json`).

Generative tasks (gsm8k_cot: lm-eval's own gsm8k-cot.yaml, only its dataset location replaced) compare
the metrics of every filter set exactly (`exact_match,strict-match`, `exact_match,flexible-extract`) and
require every generation to be identical.

Tasks: arc_easy, hellaswag (lm-eval's own `process_docs` through `!function`), piqa, sst2 (acc and lm-eval's
`mcc`), `mmlu` (five subjects, 5-shot from dev, first_n) and wikitext (rolling log-likelihood per document;
lm-eval reads the documents evalh joins from the line rows, through its own detokenizer and process_results;
perplexities must agree to 1e-6 relative and each document's log-likelihood to --tolerance relative).

Run:  .venv/bin/python benchmarks/compare_lm_eval.py --limit 200
      .venv/bin/python benchmarks/compare_lm_eval.py --tasks hellaswag piqa sst2 mmlu --limit 50
      .venv/bin/python benchmarks/compare_lm_eval.py --tasks wikitext --limit 50 --batch-size 1
      .venv/bin/python benchmarks/compare_lm_eval.py --tasks gsm8k_cot --limit 50

Cost on the 2-core CPU in float32: the first four, 50 items each, ~4 min evalh + ~6.5 min lm-eval;
wikitext scores SmolLM2's full 8,192-token windows, ~40 s (evalh) and ~90 s (lm-eval) a document
with one thread, so 50 documents take well over an hour per harness (`--limit 5` for a quick check).
Give wikitext `--batch-size 1`: lm-eval holds batch x 8,192 x 49,152 float32 logits (and their
log-softmax), and at batch size 8 it was killed for memory on this 24 GB machine.

In float32 the two agree to ~2e-5. In bfloat16 the multiple-choice log-likelihoods are equal bit for bit
(evalh's hf_aligned reproduces lm-eval's batch widths and rounding); wikitext's rolling windows are scored
the plain way with a float32 log-softmax, so there bf16 agrees only to rounding.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

# before anything imports datasets / huggingface_hub: lm-eval must never try the network
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@dataclass(frozen=True)
class TaskPair:
    """One evalh task and the lm-eval task config it must agree with."""

    evalh_task: str
    data_file: str  # JSONL under the data dir, read by both harnesses
    lm_eval_config: dict  # lm-eval task YAML fields, minus task name and dataset location
    metrics: tuple[str, ...] = ("acc", "acc_norm")
    functions: dict = field(default_factory=dict)  # lm-eval YAML key -> lm-eval's own function ("module:name")
    extra_files: dict = field(default_factory=dict)  # more lm-eval splits: split -> JSONL under the data dir
    documents: bool = False  # lm-eval reads documents joined from the line rows (wikitext), written to a temp file
    rolling: bool = False  # per-item numbers are rolling log-likelihoods (one per document)
    generative: bool = False  # per-item results are generated texts, which must be identical


CONTINUOUS = ("likelihood_diff",)
LM_EVAL_METRICS = [{"metric": m, "aggregation": "mean", "higher_is_better": True} for m in ("acc", "acc_norm")]

TASK_PAIRS: dict[str, TaskPair] = {
    "arc_easy": TaskPair(
        evalh_task="arc_easy",
        data_file="allenai/ai2_arc/ARC-Easy/test.jsonl",
        lm_eval_config={  # lm_eval/tasks/arc/arc_easy.yaml
            "output_type": "multiple_choice",
            "doc_to_text": "Question: {{question}}\nAnswer:",
            "doc_to_target": "{{choices.label.index(answerKey)}}",
            "doc_to_choice": "{{choices.text}}",
            "metric_list": LM_EVAL_METRICS,
            "metadata": {"version": 1.0},
        },
    ),
    "boolq": TaskPair(
        evalh_task="boolq",
        data_file="google/boolq/default/validation.jsonl",
        lm_eval_config={  # lm_eval/tasks/super_glue/boolq/default.yaml (label there is `answer` as 0/1 here)
            "output_type": "multiple_choice", "doc_to_text": "{{passage}}\nQuestion: {{question}}?\nAnswer:",
            "doc_to_target": "{{ 1 if answer else 0 }}", "doc_to_choice": ["no", "yes"],
            "metric_list": [{"metric": "acc"}], "metadata": {"version": 2.0},
        },
        metrics=("acc",),
    ),
    "crows_pairs": TaskPair(
        evalh_task="crows_pairs",
        data_file="nyu-mll/crows_pairs/default/test.jsonl",
        lm_eval_config={  # lm_eval/tasks/crows_pairs/crows_pairs_english.yaml, on the 1508 original pairs
            "output_type": "multiple_choice", "doc_to_text": "", "doc_to_target": 0,
            "doc_to_choice": "{{[sent_more, sent_less]}}", "target_delimiter": "",
            "metric_list": [{"metric": "likelihood_diff", "aggregation": "mean", "higher_is_better": False},
                            {"metric": "pct_stereotype", "aggregation": "mean", "higher_is_better": False}],
            "metadata": {"version": 1.0},
        },
        metrics=("pct_stereotype", "likelihood_diff"),
        functions={"process_results": "lm_eval.tasks.crows_pairs.utils:process_results"},
    ),
    "hellaswag": TaskPair(
        evalh_task="hellaswag",
        data_file="Rowan/hellaswag/default/validation.jsonl",
        lm_eval_config={  # lm_eval/tasks/hellaswag/hellaswag.yaml
            "output_type": "multiple_choice", "doc_to_text": "{{query}}", "doc_to_target": "{{label}}",
            "doc_to_choice": "choices", "metric_list": LM_EVAL_METRICS, "metadata": {"version": 1.0},
        },
        functions={"process_docs": "lm_eval.tasks.hellaswag.utils:process_docs"},
    ),
    "piqa": TaskPair(
        evalh_task="piqa",
        data_file="ybisk/piqa/plain_text/validation.jsonl",
        lm_eval_config={  # lm_eval/tasks/piqa/piqa.yaml
            "output_type": "multiple_choice", "doc_to_text": "Question: {{goal}}\nAnswer:", "doc_to_target": "label",
            "doc_to_choice": "{{[sol1, sol2]}}", "metric_list": LM_EVAL_METRICS, "metadata": {"version": 1.0},
        },
    ),
    "sst2": TaskPair(
        evalh_task="sst2",
        data_file="stanfordnlp/sst2/default/validation.jsonl",
        lm_eval_config={  # lm_eval/tasks/glue/sst2/default.yaml, plus lm-eval's mcc (sklearn matthews_corrcoef)
            "output_type": "multiple_choice",
            "doc_to_text": "{{sentence}}\nQuestion: Is this sentence positive or negative?\nAnswer:",
            "doc_to_target": "label", "doc_to_choice": ["negative", "positive"],
            "metric_list": [{"metric": "acc"}, {"metric": "mcc"}], "metadata": {"version": 1.0},
        },
        metrics=("acc", "mcc"),
    ),
    "wikitext": TaskPair(
        evalh_task="wikitext",
        data_file="Salesforce/wikitext/wikitext-2-raw-v1/test.jsonl",
        lm_eval_config={  # lm_eval/tasks/wikitext/wikitext.yaml
            "output_type": "loglikelihood_rolling", "doc_to_text": "",
            "metric_list": [{"metric": m} for m in ("word_perplexity", "byte_perplexity", "bits_per_byte")],
            "metadata": {"version": 2.0},
        },
        metrics=("word_perplexity", "byte_perplexity", "bits_per_byte"),
        functions={"doc_to_target": "lm_eval.tasks.wikitext.preprocess_wikitext:wikitext_detokenizer",
                   "process_results": "lm_eval.tasks.wikitext.preprocess_wikitext:process_results"},
        documents=True, rolling=True,
    ),
}


def _lm_eval_own_config(relative: str) -> dict:
    """An lm-eval task YAML of the installed package, without its name and dataset location."""
    import lm_eval
    import yaml

    config = yaml.safe_load((Path(lm_eval.__file__).parent / "tasks" / relative).read_text())
    return {k: v for k, v in config.items() if k not in ("task", "dataset_path", "dataset_name", "test_split", "tag")}


TASK_PAIRS["gsm8k_cot"] = TaskPair(
    evalh_task="gsm8k_cot",
    data_file="openai/gsm8k/main/test.jsonl",
    lm_eval_config=_lm_eval_own_config("gsm8k/gsm8k-cot.yaml"),  # used as it is: prompt, 8 exemplars, filters
    metrics=("exact_match,strict-match", "exact_match,flexible-extract"),
    generative=True,
)
MMLU_SUBJECTS = ("abstract_algebra", "anatomy", "high_school_geography", "marketing", "philosophy")
"""Five subjects, one or more from each of MMLU's four categories; 5-shot from dev as lm-eval's mmlu."""
for _subject in MMLU_SUBJECTS:
    TASK_PAIRS[f"mmlu_{_subject}"] = TaskPair(
        evalh_task=f"mmlu_{_subject}",
        data_file=f"hails/mmlu_no_train/{_subject}/test.jsonl",
        extra_files={"dev": f"hails/mmlu_no_train/{_subject}/dev.jsonl"},
        lm_eval_config={  # lm_eval/tasks/mmlu/default/_default_template_yaml and mmlu_<subject>.yaml
            "output_type": "multiple_choice", "fewshot_split": "dev", "fewshot_config": {"sampler": "first_n"},
            "num_fewshot": 5,
            "description": f"The following are multiple choice questions (with answers) about {_subject.replace('_', ' ')}.\n\n",
            "doc_to_text": "{{question.strip()}}\nA. {{choices[0]}}\nB. {{choices[1]}}\nC. {{choices[2]}}\nD. {{choices[3]}}\nAnswer:",
            "doc_to_choice": ["A", "B", "C", "D"], "doc_to_target": "answer",
            "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
            "metadata": {"version": 1.0},
        },
        metrics=("acc",),
    )


@dataclass
class HarnessScores:
    """What one harness produced for one task."""

    metrics: dict[str, float]
    logprobs: dict[int, list[float]]  # doc index -> per-choice log-likelihood
    seconds: float
    responses: dict[int, str] = field(default_factory=dict)  # doc index -> generated text (generative tasks)


def default_model_folder() -> Path:
    from harness.models import packaged
    from harness.models.hf.gguf_cache import converted_folder

    folder, _sha = converted_folder(packaged.locate("smollm2-135m"))
    return folder


def run_evalh(pairs: list[TaskPair], model: Path, args: argparse.Namespace, out_dir: Path) -> dict[str, HarnessScores]:
    from harness.config import RunConfig
    from harness.evaluation import evaluate
    from harness.results import read_samples

    config = RunConfig(models=[str(model)], tasks=[p.evalh_task for p in pairs], dtype=args.dtype, device="cpu",
                       match_batching=args.match_batching, limit=args.limit, batch_size=args.batch_size,
                       data_dir=str(args.data_dir), output_dir=str(out_dir))
    started = time.perf_counter()
    evaluation = evaluate(config, log=lambda line: print(f"[evalh] {line}", flush=True))
    seconds = time.perf_counter() - started
    if not evaluation.ok or not evaluation.runs:
        sys.exit(f"evalh failed: {[e.message for e in evaluation.errors]} "
                 f"{[e.message for _, r in evaluation.runs for e in r.errors]}")
    run_dir, result = evaluation.runs[0]
    samples = read_samples(run_dir)
    scores = {}
    for pair in pairs:
        task = result.tasks[pair.evalh_task]
        mine = [s for s in samples if s.task == pair.evalh_task]
        logprobs = {s.index: rolling_logprob(s) if pair.rolling else list(s.logprobs or []) for s in mine}
        scores[pair.evalh_task] = HarnessScores(
            metrics={m: task.metrics[m].value for m in pair.metrics}, logprobs=logprobs, seconds=seconds,
            responses={s.index: s.response for s in mine} if pair.generative else {})
    return scores


def rolling_logprob(sample) -> list[float]:
    """A document's rolling log-likelihood, from its byte perplexity: ll = -ln(byte_perplexity) * bytes."""
    import math

    from harness.metrics.perplexity import byte_count

    return [-math.log(sample.scores["byte_perplexity"]) * byte_count(sample.row["page"])]


def documents_file(pair: TaskPair, data_dir: Path, task_dir: Path) -> Path:
    """The task's rows as evalh loads them (line rows joined into documents), for lm-eval to read."""
    import json

    from harness.tasks.datasets import load_rows
    from harness.tasks.loader import build_index

    rows = load_rows(build_index().tasks[pair.evalh_task], data_dir=data_dir)
    path = task_dir / f"{pair.evalh_task}_documents.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_lm_eval_task(pair: TaskPair, data_dir: Path, task_dir: Path) -> str:
    """An lm-eval task YAML reading the same local rows; `!function` entries name lm-eval's own code
    (through a small module in the task folder that imports it)."""
    import yaml

    name = f"evalh_cmp_{pair.evalh_task}"  # own name: never shadowed by (or shadowing) lm-eval's built-in
    test_file = documents_file(pair, data_dir, task_dir) if pair.documents else (data_dir / pair.data_file).resolve()
    files = {"test": str(test_file), **{s: str((data_dir / f).resolve()) for s, f in pair.extra_files.items()}}
    config = {"task": name, "dataset_path": "json", "dataset_kwargs": {"data_files": files},
              "test_split": "test", **pair.lm_eval_config}
    text = yaml.safe_dump(config, sort_keys=False)
    if pair.functions:
        module = f"{name}_functions"
        lines = [f"from {target.split(':')[0]} import {target.split(':')[1]} as {key}" for key, target in pair.functions.items()]
        (task_dir / f"{module}.py").write_text("\n".join(lines) + "\n")
        text += "".join(f"{key}: !function {module}.{key}\n" for key in pair.functions)
    (task_dir / f"{name}.yaml").write_text(text)
    return name


def first_float(value) -> float:
    """lm-eval's response for one choice: (ll, is_greedy), possibly wrapped in a list of repeats."""
    while isinstance(value, (list, tuple)) and value and isinstance(value[0], (list, tuple)):
        value = value[0]
    return float(value[0] if isinstance(value, (list, tuple)) else value)


def run_lm_eval(pairs: list[TaskPair], model: Path, args: argparse.Namespace, task_dir: Path) -> dict[str, HarnessScores]:
    import lm_eval
    from lm_eval.tasks import TaskManager

    names = {write_lm_eval_task(p, args.data_dir, task_dir): p for p in pairs}
    started, cwd = time.perf_counter(), os.getcwd()
    os.chdir(task_dir)  # lm-eval runs `git describe` in the working directory; keep it out of the repository
    try:
        output = lm_eval.simple_evaluate(
            model="hf", model_args=f"pretrained={model},dtype={args.dtype}{args.lm_eval_args}", tasks=list(names), device="cpu",
            batch_size=args.batch_size, limit=args.limit, log_samples=True,
            task_manager=TaskManager(include_path=str(task_dir)))
    finally:
        os.chdir(cwd)
    seconds = time.perf_counter() - started
    scores = {}
    for name, pair in names.items():
        results = output["results"][name]
        logprobs, texts = {}, {}
        for sample in output["samples"][name]:
            if pair.generative:  # the raw generation, before any filter
                texts[int(sample["doc_id"])] = sample["resps"][0][0]
                continue
            responses = sample.get("filtered_resps") or sample["resps"]
            logprobs[int(sample["doc_id"])] = [first_float(r) for r in responses]
        scores[pair.evalh_task] = HarnessScores(
            metrics={m: float(results[m if "," in m else f"{m},none"]) for m in pair.metrics}, logprobs=logprobs,
            seconds=seconds, responses=texts)
    return scores


def argmax(values: list[float]) -> int:
    return max(range(len(values)), key=values.__getitem__)


def compare(pair: TaskPair, ours: HarnessScores, theirs: HarnessScores, tolerance: float) -> bool:
    """Print the side-by-side table for one task; True when everything agrees."""
    print(f"\n== {pair.evalh_task} ==")
    print(f"{'metric':<10} | {'evalh':>10} | {'lm-eval':>10} | equal?")
    metrics_equal = True
    for metric in pair.metrics:
        a, b = ours.metrics[metric], theirs.metrics[metric]
        # perplexities are corpus scores over summed float32 log-likelihoods: equal to 1e-6 relative
        if pair.rolling:
            same = abs(a - b) <= 1e-6 * max(abs(a), abs(b))
        elif metric in CONTINUOUS:  # a mean of log-likelihood differences carries their float32 noise
            same = abs(a - b) <= 1e-4
        else:  # counts of right answers: exactly equal
            same = round(a, 6) == round(b, 6)
        metrics_equal &= same
        print(f"{metric:<10} | {a:>10.6f} | {b:>10.6f} | {'yes' if same else 'NO'}")
    if pair.generative:
        return metrics_equal and compare_texts(ours.responses, theirs.responses)
    common = sorted(set(ours.logprobs) & set(theirs.logprobs))
    missing = set(ours.logprobs) ^ set(theirs.logprobs)
    worst: list[tuple[float, int]] = []
    argmax_differs = 0
    for index in common:
        a, b = ours.logprobs[index], theirs.logprobs[index]
        if len(a) != len(b):
            worst.append((float("inf"), index))
            continue
        scale = max(1.0, abs(b[0])) if pair.rolling else 1.0  # a document's total: compare relatively
        worst.append((max(abs(x - y) for x, y in zip(a, b)) / scale, index))
        argmax_differs += argmax(a) != argmax(b)
    worst.sort(reverse=True)
    max_delta = worst[0][0] if worst else float("nan")
    print(f"items compared: {len(common)}" + (f" (in one harness only: {len(missing)})" if missing else ""))
    print(f"max |delta logprob|: {max_delta:.3g}")
    print(f"items whose argmax differs: {argmax_differs}")
    ok = metrics_equal and not missing and bool(common) and max_delta <= tolerance
    if not ok:
        print("worst items (index: delta; evalh logprobs / lm-eval logprobs):")
        for delta, index in worst[:5]:
            print(f"  {index}: {delta:.3g}\n    evalh   {[round(x, 4) for x in ours.logprobs[index]]}"
                  f"\n    lm-eval {[round(x, 4) for x in theirs.logprobs[index]]}")
    return ok


def compare_texts(ours: dict[int, str], theirs: dict[int, str]) -> bool:
    """Print how many generations are identical (and the first that differ); True when all are."""
    common = sorted(set(ours) & set(theirs))
    differ = [i for i in common if ours[i] != theirs[i]]
    print(f"items compared: {len(common)} (in one harness only: {len(set(ours) ^ set(theirs))})")
    print(f"identical generations: {len(common) - len(differ)} of {len(common)}")
    for index in differ[:3]:
        print(f"  {index}:\n    evalh   {ours[index]!r}\n    lm-eval {theirs[index]!r}")
    return bool(common) and not differ and set(ours) == set(theirs)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["arc_easy"], choices=sorted([*TASK_PAIRS, "mmlu"]),
                        help="task pairs; 'mmlu' is the five MMLU subjects (5-shot)")
    parser.add_argument("--limit", type=int, default=200, help="first N items of each task (default 200)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--match-batching", default="lm-eval", choices=["none", "lm-eval"],
                        help="evalh's bf16 layout: lm-eval's batches (default here: bit-equality is the point)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--model-dir", type=Path, help="transformers model folder (default: SmolLM2-135M from GGUF)")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help=f"data mirror (default {DEFAULT_DATA})")
    parser.add_argument("--lm-eval-args", default="", type=lambda s: f",{s}" if s else "",
                        help="extra lm-eval model_args, e.g. softmax_dtype=float32")
    parser.add_argument("--tolerance", type=float, default=1e-3, help="largest accepted |delta logprob|")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.data_dir = args.data_dir.resolve()
    names = [n for name in args.tasks for n in ([f"mmlu_{s}" for s in MMLU_SUBJECTS] if name == "mmlu" else [name])]
    pairs = [TASK_PAIRS[name] for name in dict.fromkeys(names)]
    for pair in pairs:
        if not (args.data_dir / pair.data_file).is_file():
            sys.exit(f"missing data file: {args.data_dir / pair.data_file} (use --data-dir)")
    model = (args.model_dir or default_model_folder()).resolve()
    import torch

    from harness.hardware import describe

    print(f"model: {model}\ndata: {args.data_dir}\nlimit {args.limit}, dtype {args.dtype}, batch size {args.batch_size}\n"
          f"{describe(torch.get_num_threads())}")
    with tempfile.TemporaryDirectory(prefix="evalh-vs-lmeval-") as tmp:
        (Path(tmp) / "runs").mkdir()
        (Path(tmp) / "lm_eval_tasks").mkdir()
        ours = run_evalh(pairs, model, args, Path(tmp) / "runs")
        theirs = run_lm_eval(pairs, model, args, Path(tmp) / "lm_eval_tasks")
    all_ok = True
    for pair in pairs:
        all_ok &= compare(pair, ours[pair.evalh_task], theirs[pair.evalh_task], args.tolerance)
    first = pairs[0].evalh_task
    print(f"\nwall time (model load included): evalh {ours[first].seconds:.1f}s, lm-eval {theirs[first].seconds:.1f}s")
    print("RESULT:", "agree" if all_ok else "DISAGREE")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
