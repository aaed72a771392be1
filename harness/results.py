"""RunResult: what a run writes to results.json (pydantic, versioned), plus atomic read/write.

samples.jsonl beside it holds one SampleRecord per line: every prompt, response, per-choice
log-probability and per-sample score, so reports and re-scoring need no model.
"""
from __future__ import annotations

import json
import os
import traceback
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from harness.errors import EvalhError
from harness.models.base import ModelInfo
from harness.redact import redact, redact_value
from harness.version import __version__

SCHEMA_VERSION = 1


class MetricValue(BaseModel):
    """One aggregate score with its uncertainty and what its numbers mean.

    The interval [ci_low, ci_high] lies inside [range_low, range_high]. When the task declares clusters,
    `stderr` and the interval account for them and `stderr_naive` is the standard error that treats every
    item as independent; design_effect = (stderr / stderr_naive)^2.
    """

    model_config = ConfigDict(extra="forbid")

    value: float | None
    stderr: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int
    method: str = Field(description="'wilson' (0/1 scores), 'bootstrap-mean', 'bootstrap' (percentile CI of a "
                                    "corpus or ratio score), '+cluster' when clusters were resampled, ...")
    higher_is_better: bool = True
    range_low: float | None = Field(default=None, description="smallest possible value (None: unbounded)")
    range_high: float | None = Field(default=None, description="largest possible value (None: unbounded)")
    ideal: float | None = Field(default=None, description="the best value when best is neither end "
                                                          "(pct_stereotype: 0.5); higher_is_better is then unused")
    stderr_naive: float | None = Field(default=None, description="stderr treating items as independent "
                                                                 "(only when the task declares clusters)")
    design_effect: float | None = Field(default=None, description="(clustered stderr / naive stderr)^2")
    details: dict[str, Any] = Field(default_factory=dict, description="e.g. the sacrebleu signature")


class DatasetInfo(BaseModel):
    source: str
    fingerprint: str
    rows_total: int
    rows_used: int


class TaskResult(BaseModel):
    name: str
    version: str
    output_type: str
    groups: list[str] = Field(default_factory=list)
    num_fewshot: int = 0
    metrics: dict[str, MetricValue]
    cluster: str | None = Field(default=None, description="the task's cluster template, when it declares one")
    breakdown: dict[str, dict[str, MetricValue]] = Field(
        default_factory=dict, description="subgroup (e.g. a bias type) -> metric -> value, when the task asks")
    dataset: DatasetInfo
    seconds: float


class RunError(BaseModel):
    scope: str = Field(description="'task', 'model' or 'run'")
    name: str
    message: str
    type: str | None = Field(default=None, description="the exception's class, e.g. DataError or TypeError")
    where: str | None = Field(default=None, description="for an unexpected exception, file:line and function "
                              "where it was raised")

    @field_validator("message")
    @classmethod
    def _no_credentials(cls, message: str) -> str:
        return redact(message)  # a server's error body may echo the Authorization header

    @classmethod
    def from_exception(cls, scope: str, name: str, exc: Exception) -> RunError:
        """The record of `exc`: an EvalhError's message as is; any other exception's message (or its class,
        when it has none) with where it was raised, so a bug in evalh or a plugin can be found from the file."""
        kind = type(exc).__name__
        if isinstance(exc, EvalhError):
            return cls(scope=scope, name=name, message=str(exc), type=kind)
        frames = traceback.extract_tb(exc.__traceback__)
        where = f"{frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name}" if frames else None
        text = str(exc) or kind
        return cls(scope=scope, name=name, message=f"{scope} {name}: unexpected {kind}: {text}", type=kind,
                   where=where)


RunStatus = Literal["complete", "incomplete", "failed"]


class RunResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    status: RunStatus = Field(default="complete", description="'incomplete' while the run goes on (and for good "
                              "when it was stopped), then 'complete' (at least one task has results; failed "
                              "tasks are in errors) or 'failed' (no task has results)")
    run_id: str
    created_at: str
    evalh_version: str
    config: dict[str, Any]
    model: ModelInfo
    tasks: dict[str, TaskResult] = Field(default_factory=dict)
    errors: list[RunError] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)
    host: dict[str, Any] = Field(default_factory=dict)

    @field_validator("config")
    @classmethod
    def _config_without_credentials(cls, config: dict[str, Any]) -> dict[str, Any]:
        return redact_value(config)  # base_url and model specs may hold user:password@

    @field_validator("model")
    @classmethod
    def _model_without_credentials(cls, model: ModelInfo) -> ModelInfo:
        return ModelInfo.model_validate(redact_value(model.model_dump()))


class SampleRecord(BaseModel):
    """One scored item, as written to samples.jsonl."""

    task: str
    sample_id: str
    index: int
    prompt_hash: str
    prompt: str
    target: Any = None
    choices: list[str] | None = None
    logprobs: list[float] | None = None
    is_greedy: list[bool] | None = None
    response: str | None = None
    rolling: float | None = Field(default=None, description="loglikelihood_rolling tasks: the text's summed "
                                  "log-likelihood (what perplexities are computed from)")
    responses: list[str] | None = Field(default=None, description="every generation of an item that has "
                                        "several (repeats); `response` is the first")
    scores: dict[str, float | None] = Field(default_factory=dict)
    details: dict[str, Any] = Field(default_factory=dict, description="metric -> why it scored as it did "
                                    "(e.g. a failed test's reason, an extracted answer)")
    row: dict[str, Any] = Field(default_factory=dict)


def write_json_atomic(path: Path, data: str) -> None:
    """Write via a temporary file and rename, so a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(data, encoding="utf-8")
    os.replace(tmp, path)


def write_result(run_dir: Path, result: RunResult) -> Path:
    path = run_dir / "results.json"
    write_json_atomic(path, result.model_dump_json(indent=2))
    return path


def read_result(path: Path) -> RunResult:
    """Read results.json (or a run folder holding one); a bad file names itself."""
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    try:
        text = path.read_text(encoding="utf-8")
        _check_schema_version(path, text)
        return RunResult.model_validate_json(text)
    except FileNotFoundError:
        raise EvalhError(f"{path}: no such results file") from None
    except ValidationError as exc:
        raise EvalhError(f"{path}: not a valid evalh results file: {exc.errors()[0]['msg']} at "
                         f"{'.'.join(str(p) for p in exc.errors()[0]['loc'])}") from None


def _check_schema_version(path: Path, text: str) -> None:
    """A results file of another schema version is refused by name: its fields may mean other things."""
    try:
        found = json.loads(text).get("schema_version")
    except (ValueError, AttributeError):
        return  # not a JSON object: validation names the problem
    if found != SCHEMA_VERSION:
        raise EvalhError(f"{path}: schema_version {found!r}, but this evalh ({__version__}) reads version "
                         f"{SCHEMA_VERSION}; use the evalh version that wrote it")


def read_samples(run_dir: Path) -> list[SampleRecord]:
    """Every record of samples.jsonl; a bad line is an EvalhError naming the file and line number."""
    path = Path(run_dir) / "samples.jsonl"
    records = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                records.append(SampleRecord.model_validate(json.loads(line)))
            except ValueError as exc:  # json or pydantic
                raise EvalhError(f"{path}:{number}: not a valid sample: {str(exc).splitlines()[0]}") from None
    return records
