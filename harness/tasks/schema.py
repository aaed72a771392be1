"""TaskSpec: what a task YAML file may say. Unknown keys are errors, so typos never pass silently."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

OutputType = Literal["multiple_choice", "generate", "loglikelihood", "loglikelihood_rolling"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SacrebleuSource(_Strict):
    """A test set as sacrebleu names it; read from `<data_dir>/<testset>/` when a data dir is given."""

    testset: str
    langpair: str
    refs: list[str] = Field(default_factory=lambda: ["A"], description="reference ids, e.g. [A, B]")


class ParallelFiles(_Strict):
    """Line-aligned plain-text files: one source, one or more references (paths relative to the YAML file)."""

    source: str
    references: list[str] = Field(min_length=1)


class DatasetSpec(_Strict):
    """Where the rows come from: exactly one of hub, files, parallel or sacrebleu."""

    hub: str | None = None
    config: str | None = None
    split: str = "test"
    files: dict[str, str] | None = None
    parallel: ParallelFiles | None = None
    sacrebleu: SacrebleuSource | None = None

    @model_validator(mode="after")
    def _one_source(self) -> DatasetSpec:
        given = [k for k in ("hub", "files", "parallel", "sacrebleu") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of hub, files, parallel, sacrebleu (got {given or 'none'})")
        if self.files is not None and self.split not in self.files:
            raise ValueError(f"split '{self.split}' is not one of the files given ({', '.join(self.files)})")
        return self


class FewshotSpec(_Strict):
    """k examples drawn from `split` with a fixed seed (or the first k in order: sampler first_n)."""

    split: str | None = None
    k: int = Field(default=0, ge=0)
    seed: int = 1234
    sampler: Literal["random", "first_n"] = "random"


class GenerationSpec(_Strict):
    until: list[str] = Field(default_factory=lambda: ["\n"])
    max_tokens: int = Field(default=64, ge=1)


class TaskSpec(_Strict):
    """One task. Templates are Jinja2 expressions over a dataset row, rendered in a sandbox."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str = ""
    version: str = "1"
    groups: list[str] = Field(default_factory=list)
    dataset: DatasetSpec
    output_type: OutputType
    prompt: str = ""
    choices: str | list[str] | None = None
    target: str | int | None = None
    target_delimiter: str = " "
    fewshot_delimiter: str = "\n\n"
    fewshot: FewshotSpec = FewshotSpec()
    generation: GenerationSpec = GenerationSpec()
    metrics: list[str] = Field(min_length=1)
    metric_options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    doc_id: str | None = Field(default=None, description="row field that holds a stable id")
    breakdown: str | None = Field(default=None, description="template of a row's subgroup, e.g. '{{bias_type}}': "
                                  "every metric is also reported per subgroup")
    source_file: Path | None = Field(default=None, exclude=True)

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, (int, float)) else value

    @model_validator(mode="after")
    def _fits_output_type(self) -> TaskSpec:
        if self.output_type == "multiple_choice" and (self.choices is None or self.target is None):
            raise ValueError("a multiple_choice task needs both 'choices' and 'target'")
        if self.output_type in ("generate", "loglikelihood") and self.target is None:
            raise ValueError(f"a {self.output_type} task needs 'target'")
        return self

    @property
    def base_dir(self) -> Path:
        """The folder relative paths in this task are resolved against."""
        return self.source_file.parent if self.source_file else Path.cwd()
