"""`evalh run`: parse options, call harness.evaluate, print the summary. Exit 2 when anything failed."""
from __future__ import annotations

import sys

import click


def _split(values: tuple[str, ...]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


EXAMPLES = """\b
Examples:
  evalh run                              # SmolLM2-135M (installed) on the starter suite
  evalh run -m fake -t starter           # the deterministic fake model: seconds
  evalh run -m smollm2 -t arc_easy,hellaswag --data-dir ../shared/data --limit 100
  evalh run -m ./my-model -m other.gguf -t qa --output-dir runs   # one run folder per model
  evalh run -t starter --log-to wandb    # also log config, metrics, samples to W&B
  evalh list tasks arc --data-dir ../shared/data   # task names and item counts

\b
Each model gets runs/<date>-<model>/results.json (metrics with 95% CIs) and samples.jsonl
(every prompt, response and score); `evalh report runs/` and `evalh compare BASE CAND` read them.
"""


@click.command(epilog=EXAMPLES)
@click.option("--model", "-m", "models", multiple=True,
              help="Alias (evalh list models), hub id, local folder, .gguf file or 'fake'. Repeat for several.")
@click.option("--tasks", "-t", multiple=True, help="Task and group names, comma-separated (default: starter).")
@click.option("--include-path", "--include_path", "include_paths", multiple=True, type=click.Path(), help="Folder of your own task YAML files.")
@click.option("--limit", type=float,
              help="Only the first N items of each task, in dataset order; below 1, that fraction of each task.")
@click.option("--num-fewshot", "--num_fewshot", "num_fewshot", type=int, help="Few-shot examples per item (overrides each task's default).")
@click.option("--seed", type=int, help="Seed for few-shot sampling, sampled generations and bootstrap CIs (default 1234).")
@click.option("--device", help="cpu, cuda, cuda:1, ... (default: auto).")
@click.option("--dtype", help="auto, bfloat16, float16, float32 (default auto: bf16 where the hardware has it, else float32).")
@click.option("--threads", type=int, help="torch threads for local models (default: OMP_NUM_THREADS, else the cores this process may use).")
@click.option("--match-batching", type=click.Choice(["none", "lm-eval"]),
              help="'none' (default): log-likelihoods and greedy generations independent of --batch-size, "
                   "--shards and resuming; 'lm-eval': replay lm-eval's batches to equal its bf16 rounding bit "
                   "for bit (at one thread).")
@click.option("--batch-size", "--batch_size", "batch_size", help="Requests per forward pass (default 16), or 'auto': the largest that fits memory.")
@click.option("--output-dir", "--output_path", "output_dir", type=click.Path(),
              help="Where run folders go (default ./runs).")
@click.option("--model-args", "--model_args", "model_args",
              help="lm-eval's hf model arguments, key=value,...: pretrained, dtype, revision, trust_remote_code, "
                   "peft, attn_implementation, device_map, max_length.")
@click.option("--log-samples", "--log_samples", "log_samples", is_flag=True,
              help="Accepted for lm-eval's command lines: samples.jsonl is always written.")
@click.option("--data-dir", type=click.Path(), help="Local hub mirror: DIR/<hub id>/<config>/<split>.jsonl.")
@click.option("--allow-path", "allow_paths", multiple=True, type=click.Path(),
              help="Folder task files may read besides their own folder and --data-dir. Repeat for several.")
@click.option("--base-url", help="Server URL for API models, e.g. http://127.0.0.1:8000/v1.")
@click.option("--max-concurrency", type=int, help="API models: requests in flight at once (default 4).")
@click.option("--apply-chat-template/--no-apply-chat-template", default=None,
              help="Wrap each prompt in the model's chat template (off by default, as lm-eval).")
@click.option("--fewshot-as-multiturn/--no-fewshot-as-multiturn", "--fewshot_as_multiturn", "fewshot_as_multiturn",
              default=None, help="With --apply-chat-template: few-shot examples as user/assistant turns (default: on "
                                 "with the chat template, as lm-eval).")
@click.option("--system-instruction", "--system_instruction", "system_instruction",
              help="System message that opens every prompt (lm-eval's --system_instruction).")
@click.option("--gen-kwargs", "--gen_kwargs", "gen_kwargs",
              help="Generation settings for generate tasks, e.g. temperature=0.8,top_p=0.95,max_gen_toks=512 "
                   "(temperature 0: greedy). Sampled runs are reproducible with --seed.")
@click.option("--samples", type=int, help="Generations per item (overrides each task's repeats), for maj@k and pass@k.")
@click.option("--think-end-token", "--think_end_token", "think_end_token",
              help="Strip a reasoning model's thinking up to this marker (e.g. '</think>') before scoring.")
@click.option("--cache/--no-cache", default=None,
              help="Reuse and store model responses in the response cache (default: on).")
@click.option("--cache-dir", type=click.Path(),
              help="Folder of every cache evalh writes: responses, converted GGUF models (default ~/.cache/evalh).")
@click.option("--judge", help="Model (any --model spelling) that grades dialogue tasks such as mt_bench.")
@click.option("--executor", type=click.Choice(["local", "ray"]), help="Run model calls here (default) or on Ray.")
@click.option("--ray-address", help="Address of a running Ray cluster (default: start a local one).")
@click.option("--shards", type=int, help="Split each task's requests into N units (spread over Ray workers).")
@click.option("--log-to", "log_to", multiple=True, type=click.Choice(["wandb", "mlflow"]),
              help="Log each finished run (config, metrics with CIs, samples, report) to W&B or MLflow; "
                   "their own settings apply (WANDB_MODE, MLFLOW_TRACKING_URI). Repeat for both.")
@click.option("--config", "config_file", type=click.Path(), help="YAML file of options (CLI flags win).")
def run(models, tasks, include_paths, allow_paths, config_file, log_samples, **options) -> None:
    """Evaluate models on tasks and write results.json and samples.jsonl per model."""
    from harness.config import load_config
    from harness.console import format_summary
    from harness.errors import EvalhError
    from harness.evaluation import evaluate
    from harness.redact import redact
    from harness.progress import quiet_other_libraries

    quiet_other_libraries()  # evalh's own progress only; before transformers, datasets, gguf are imported

    cli = {"models": _split(models), "tasks": _split(tasks), "include_paths": list(include_paths),
           "allow_paths": list(allow_paths), **options,
           "progress": sys.stderr.isatty()}
    try:
        config = load_config(cli, config_file)
    except EvalhError as exc:
        raise click.UsageError(redact(str(exc))) from None
    result = evaluate(config, log=lambda line: click.echo(redact(line), err=True))
    if result.runs:
        click.echo(format_summary(result))
    for run_dir, _ in result.runs:
        click.echo(f"results: {run_dir / 'results.json'}")
    if not result.ok:  # each error was printed as it happened; here only how many
        failed = {(e.scope, e.name, e.message) for e in [*result.errors, *(e for _, r in result.runs for e in r.errors)]}
        where = " and in results.json errors" if result.runs else ""
        click.echo(f"{len(failed)} problem(s), each shown above{where}", err=True)
        sys.exit(2)
