"""RunConfig: everything a run needs to know. Precedence: defaults < config file < EVALH_* env < CLI flags."""
from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harness.errors import ConfigError

DEFAULT_MODEL = "smollm2-135m"
DEFAULT_TASKS = ["starter"]


MODEL_ARGS = {"pretrained": str, "dtype": str, "revision": str, "trust_remote_code": bool, "peft": str,
              "attn_implementation": str, "device_map": str, "max_length": int}
"""lm-eval's hf model arguments evalh understands: pretrained and dtype choose the model and --dtype; the
others go to transformers' from_pretrained (peft: an adapter loaded on top with the peft package)."""


class RunConfig(BaseModel):
    """Options of one `evalh run` (also accepted by `harness.evaluate`)."""

    model_config = ConfigDict(extra="forbid")

    models: list[str] = Field(default_factory=lambda: [DEFAULT_MODEL], min_length=1)
    tasks: list[str] = Field(default_factory=lambda: list(DEFAULT_TASKS), min_length=1)
    include_paths: list[str] = Field(default_factory=list)
    limit: Annotated[int, Field(ge=1)] | Annotated[float, Field(gt=0, lt=1)] | None = Field(
        default=None, description="first N items of each task in dataset order; below 1, that fraction of them")
    num_fewshot: int | None = Field(default=None, ge=0, description="overrides each task's k")
    seed: int = 1234
    device: str = "auto"
    dtype: str = "auto"
    batch_size: Annotated[int, Field(ge=1)] | Literal["auto"] = Field(default=16, description="requests per forward pass, or 'auto'")
    match_batching: Literal["none", "lm-eval"] = Field(
        default="none", description="'lm-eval': replay lm-eval's batches (scoring and greedy generation) to "
                                    "equal its rounding; 'none': numbers independent of the batch")
    threads: int | None = Field(default=None, ge=1, description="torch intra-op threads (default: the usable cores)")
    output_dir: str = "runs"
    data_dir: str | None = None
    allow_paths: list[str] = Field(default_factory=list, description="folders task files may read besides their "
                                   "own folder and data_dir")
    base_url: str | None = Field(default=None, description="server URL for API models (openai-completions:NAME)")
    max_concurrency: int | None = Field(default=None, ge=1, description="API requests in flight at once")
    api_timeout: float | None = Field(default=None, gt=0, description="seconds per API request attempt")
    api_key_env: str | None = Field(default=None, description="environment variable holding the API key")
    apply_chat_template: bool = Field(default=False, description="wrap prompts in the tokenizer's chat template")
    fewshot_as_multiturn: bool | None = Field(
        default=None, description="few-shot examples as user/assistant turns (default: on with the chat template)")
    system_instruction: str | None = Field(default=None, description="system message that opens every prompt")
    gen_kwargs: dict[str, Any] | None = Field(
        default=None, description="generation settings over every generate task's own, e.g. "
        "'temperature=0.8,top_p=0.95,max_gen_toks=512' (harness/tasks/sampling.py)")
    samples: int | None = Field(default=None, ge=1, description="generations per item (overrides a task's repeats)")
    think_end_token: str | None = Field(
        default=None, description="strip a reasoning model's thinking up to this marker (e.g. '</think>') "
        "before scoring")
    judge: str | None = Field(default=None, description="model that grades dialogue tasks (MT-Bench)")
    executor: Literal["local", "ray"] = Field(default="local", description="where model calls run")
    ray_address: str | None = Field(default=None, description="Ray cluster address (default: start a local one)")
    shards: int = Field(default=1, ge=1, description="split each task's requests into this many units")
    progress: bool = False
    model_args: dict[str, str | bool | int] = Field(
        default_factory=dict, description="lm-eval's --model_args for hf models: " + ", ".join(MODEL_ARGS))
    log_to: list[Literal["wandb", "mlflow"]] = Field(
        default_factory=list, description="experiment trackers each finished run is logged to")
    cache: bool = Field(default=True, description="reuse and store model responses in the response cache")
    cache_dir: str | None = Field(default=None, description="folder of every cache evalh writes: responses.sqlite, "
                                  "assembled and converted GGUF models (default: ~/.cache/evalh)")


    @field_validator("limit", mode="before")
    @classmethod
    def _check_limit(cls, value: Any) -> Any:
        try:
            number = float(value) if value is not None else None
        except (TypeError, ValueError):
            raise ValueError(f"expected a number of items or a fraction, got {value!r}") from None
        if number is not None and not (0 < number < 1 or (number >= 1 and number.is_integer())):
            raise ValueError(f"expected a whole number of items (1 or more) or a fraction between 0 and 1, got {value}")
        return None if number is None else (number if number < 1 else int(number))

    @model_validator(mode="before")
    @classmethod
    def _apply_pretrained_and_dtype(cls, data: Any) -> Any:
        """lm-eval's `--model hf --model_args pretrained=X,dtype=D` is evalh's `--model X --dtype D`."""
        if not isinstance(data, dict) or not data.get("model_args"):
            return data
        data = dict(data)
        raw = data["model_args"]
        if isinstance(raw, dict):  # a config file's mapping is checked as the command line's text is
            raw = ",".join(f"{key}={value}" for key, value in raw.items())
        if not isinstance(raw, str):
            raise ValueError(f"model_args: expected key=value,... or a mapping, got {raw!r}")
        args = parse_model_args(raw)
        pretrained, dtype = args.pop("pretrained", None), args.pop("dtype", None)
        if pretrained is not None:
            models = data.get("models") or ["hf"]
            if "hf" not in models and models != [DEFAULT_MODEL] and "models" in data:
                raise ValueError(f"model_args pretrained={pretrained} needs --model hf (got --model "
                                 f"{','.join(models)}); give the model once")
            data["models"] = [str(pretrained) if m == "hf" else m for m in models] if "hf" in models else [str(pretrained)]
        if dtype is not None:
            if data.get("dtype") not in (None, dtype):
                raise ValueError(f"model_args dtype={dtype} conflicts with --dtype {data['dtype']}")
            data["dtype"] = str(dtype).removeprefix("torch.")
        data["model_args"] = args
        return data

    @field_validator("gen_kwargs", mode="before")
    @classmethod
    def _parse_gen_kwargs(cls, value: object) -> object:
        from harness.tasks.sampling import parse_gen_kwargs

        if value is None or isinstance(value, (str, dict)):
            try:
                return parse_gen_kwargs(value) or None  # type: ignore[arg-type]
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _multiturn_needs_chat(self) -> "RunConfig":
        if self.fewshot_as_multiturn and not self.apply_chat_template:
            raise ValueError("--fewshot-as-multiturn needs --apply-chat-template (as in lm-eval)")
        return self


def parse_model_args(text: str) -> dict[str, str | bool | int]:
    """`key=value,key=value` (lm-eval's --model_args) to typed values; an unknown key or a bad value is a
    ValueError naming it."""
    out: dict[str, str | bool | int] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        key, sep, value = (s.strip() for s in part.partition("="))
        if not sep or not key:
            raise ValueError(f"model_args: expected key=value, got {part!r}")
        if key not in MODEL_ARGS:
            raise ValueError(f"model_args: unknown key {key!r} (known: {', '.join(MODEL_ARGS)})")
        kind = MODEL_ARGS[key]
        if kind is bool:
            if value.lower() not in ("true", "false", "1", "0"):
                raise ValueError(f"model_args: {key}={value!r} is not true or false")
            out[key] = value.lower() in ("true", "1")
        elif kind is int:
            if not value.isdigit() or int(value) < 1:
                raise ValueError(f"model_args: {key}={value!r} is not a positive whole number")
            out[key] = int(value)
        else:
            out[key] = value
    return out


def limit_count(limit: int | float | None, total: int) -> int:
    """Items of a `total`-item task that `--limit` keeps: N, or (below 1) that fraction rounded up, as lm-eval."""
    if limit is None:
        return total
    return min(total, math.ceil(total * limit) if isinstance(limit, float) else int(limit))


_LIST_FIELDS = {"models", "tasks", "include_paths", "allow_paths", "log_to"}


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in RunConfig.model_fields:
        raw = env.get(f"EVALH_{name.upper()}")
        if raw is None and name == "models":
            raw = env.get("EVALH_MODEL")
        if raw is None or raw == "":
            continue
        values[name] = [p.strip() for p in raw.split(",") if p.strip()] if name in _LIST_FIELDS else raw
    return values


def _from_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"config file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"config file {path}{f':{mark.line + 1}' if mark else ''}: malformed YAML") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: expected a mapping of options")
    return data


def load_config(cli: Mapping[str, Any] | None = None, config_file: str | Path | None = None,
                env: Mapping[str, str] | None = None) -> RunConfig:
    """Merge the layers; a bad value is a ConfigError naming where it came from."""
    env = os.environ if env is None else env
    layers = [("config file", _from_file(Path(config_file)) if config_file else {}),
              ("environment", _from_env(env)),
              ("command line", {k: v for k, v in (cli or {}).items() if v not in (None, (), [])})]
    merged: dict[str, Any] = {}
    for origin, layer in layers:
        unknown = set(layer) - set(RunConfig.model_fields)
        if unknown:
            raise ConfigError(f"{origin}: unknown option(s) {', '.join(sorted(unknown))}")
        merged.update(layer)
    try:
        return RunConfig(**merged)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        if not field:  # a check across options (model_args); its message names them
            raise ConfigError(f"{err['msg'].removeprefix('Value error, ')}") from None
        origin = next((o for o, layer in reversed(layers) if err["loc"] and err["loc"][0] in layer), "defaults")
        if not field:  # a rule across options (e.g. --fewshot-as-multiturn needs --apply-chat-template)
            raise ConfigError(str(err["msg"]).removeprefix("Value error, ")) from None
        raise ConfigError(f"option '{field}' (from {origin}): {err['msg']}") from None
