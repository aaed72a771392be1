"""Generation settings from the command line (`--gen-kwargs`, `--samples`, `--think-end-token`) applied to a task.

`--gen-kwargs` takes lm-eval's spelling, comma-separated `key=value` pairs:

    --gen-kwargs temperature=0.8,top_p=0.95,max_gen_toks=512

Known keys: temperature, top_p, top_k, do_sample, max_gen_toks (or max_tokens) and until (one stop
string, or a JSON list of them). As in lm-eval, temperature 0 (or do_sample=false) means greedy, and
do_sample=true without a temperature samples at temperature 1. Values override the task's own
`generation:` settings; `--samples N` overrides its `repeats`.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.errors import ConfigError
from harness.requests import Generate, Sampling
from harness.tasks.schema import TaskSpec

@dataclass(frozen=True)
class GenerationOptions:
    """The run's settings for how tasks generate and what the model is told (RunConfig's fields of the
    same names): parsed `gen_kwargs`, `samples` (repeats per item), `think_end_token`, and the prompt's
    `system_instruction` and `fewshot_as_multiturn` (None: on exactly when the chat template is)."""

    gen_kwargs: Mapping[str, Any] | None = None
    samples: int | None = None
    think_end_token: str | None = None
    system_instruction: str | None = None
    fewshot_as_multiturn: bool | None = None


KEYS = ("temperature", "top_p", "top_k", "do_sample", "max_gen_toks", "max_tokens", "until")


def parse_gen_kwargs(value: str | Mapping[str, Any] | None) -> dict[str, Any]:
    """`key=value,key=value` (or a mapping, from a config file) as typed values; an unknown key or a value
    of the wrong type is a ConfigError naming it."""
    if value is None or value == "":
        return {}
    pairs = dict(value) if isinstance(value, Mapping) else dict(_split_pairs(value))
    out: dict[str, Any] = {}
    for key, raw in pairs.items():
        if key not in KEYS:
            raise ConfigError(f"--gen-kwargs: unknown key '{key}' (known: {', '.join(KEYS)})")
        try:
            out["max_tokens" if key == "max_gen_toks" else key] = _typed(key, raw)
        except (ValueError, TypeError):
            raise ConfigError(f"--gen-kwargs: bad value for '{key}': {raw!r}") from None
    return out


def _split_pairs(text: str) -> list[tuple[str, str]]:
    """`a=1,until=["x","y"],b=2` -> pairs; a comma inside [...] or quotes does not split."""
    parts, depth, quote, current = [], 0, "", ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += ch
    parts.append(current)
    pairs = []
    for part in filter(None, (p.strip() for p in parts)):
        key, sep, raw = part.partition("=")
        if not sep:
            raise ConfigError(f"--gen-kwargs: expected key=value, got {part!r}")
        pairs.append((key.strip(), raw.strip()))
    return pairs


def _typed(key: str, raw: Any) -> Any:
    if key in ("temperature", "top_p"):
        number = float(raw)
        if number < 0 or (key == "top_p" and not 0 < number <= 1):
            raise ValueError(raw)
        return number
    if key in ("top_k", "max_gen_toks", "max_tokens"):
        number = int(raw)
        if number < (1 if key != "top_k" else 0):
            raise ValueError(raw)
        return number
    if key == "do_sample":
        if isinstance(raw, bool):
            return raw
        if str(raw).lower() not in ("true", "false", "1", "0"):
            raise ValueError(raw)
        return str(raw).lower() in ("true", "1")
    if isinstance(raw, list):  # until, from a config file
        return [str(s) for s in raw]
    text = str(raw)
    if text.startswith("["):
        stops = json.loads(text, strict=False)
        if not isinstance(stops, list):
            raise ValueError(raw)
        return [str(s) for s in stops]
    return [json.loads(text) if text.startswith('"') else text]


def apply_overrides(spec: TaskSpec, gen_kwargs: Mapping[str, Any] | None, samples: int | None = None,
                    think_end_token: str | None = None) -> TaskSpec:
    """`spec` with the run's generation settings over its own (a generate task only; others unchanged)."""
    if spec.output_type != "generate":
        return spec
    generation = spec.generation.model_dump()
    kwargs = dict(gen_kwargs or {})
    do_sample = kwargs.pop("do_sample", None)
    generation.update(kwargs)
    generation["temperature"] = sampled_temperature(generation["temperature"], do_sample)
    update: dict[str, Any] = {"generation": type(spec.generation)(**generation)}
    if samples is not None:
        update["repeats"] = samples
    if think_end_token is not None:
        update["think_end_token"] = think_end_token or None
    return spec.model_copy(update=update)


def lm_eval_sampling(kwargs: Mapping[str, Any], seed: int, index: int) -> Sampling | None:
    """How to draw a request lm-eval sends with `generation_kwargs` (do_sample, temperature, top_p, top_k):
    None for greedy, by the rules above (temperature 0 or do_sample false: greedy; do_sample true without a
    temperature: temperature 1). `index` is which of the item's repeats it is."""
    try:
        temperature = float(kwargs.get("temperature") or 0.0)
        top_p, top_k = float(kwargs.get("top_p") or 1.0), int(kwargs.get("top_k") or 0)
    except (TypeError, ValueError):
        raise ConfigError(f"lm-eval generation_kwargs: bad sampling values in {dict(kwargs)}") from None
    do_sample = kwargs.get("do_sample")
    if isinstance(do_sample, str):
        do_sample = do_sample.lower() in ("true", "1")
    temperature = sampled_temperature(temperature, do_sample)
    return Sampling(temperature, top_p, top_k, seed, index) if temperature > 0 else None


def sampled_temperature(temperature: float, do_sample: bool | None) -> float:
    """The temperature a generation runs at, by lm-eval's rules: do_sample false is greedy (0), do_sample
    true without a temperature samples at 1, and otherwise the temperature decides (0: greedy)."""
    if do_sample is False:
        return 0.0
    return 1.0 if do_sample and not temperature else temperature


def generation_requests(spec: TaskSpec, prompt: str, seed: int) -> tuple[Generate, ...]:
    """An item's requests: `repeats` of them, each its own draw when the task samples (temperature > 0),
    else the same greedy request `repeats` times (computed once)."""
    gen = spec.generation
    if gen.temperature <= 0:
        return (Generate(prompt, tuple(gen.until), gen.max_tokens),) * spec.repeats
    return tuple(Generate(prompt, tuple(gen.until), gen.max_tokens,
                          Sampling(gen.temperature, gen.top_p, gen.top_k, seed, index))
                 for index in range(spec.repeats))
