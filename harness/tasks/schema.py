"""TaskSpec: what a task YAML file may say. Unknown keys are errors, so typos never pass silently."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

OutputType = Literal["multiple_choice", "generate", "loglikelihood", "loglikelihood_rolling", "dialogue"]


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


class ProbeSource(_Strict):
    """A demographic probe written in YAML: templates with a group slot, filled with each group's words.

    One row per (template, group, word[, continuation]); see `harness.tasks.datasets.probe_rows`.
    """

    templates: list[str] = Field(min_length=1)
    groups: dict[str, list[str]] = Field(min_length=2, description="group name -> words that fill the slot")
    continuations: list[str] = Field(default_factory=list, description="scored after each filled template")
    slot: str = "{group}"

    @model_validator(mode="after")
    def _slots_and_words(self) -> ProbeSource:
        missing = [t for t in self.templates if self.slot not in t]
        if missing:
            raise ValueError(f"every template needs the slot {self.slot}: {missing[0]!r} has none")
        if not self.continuations and any(not t.split(self.slot, 1)[1] for t in self.templates):
            raise ValueError("without continuations, every template needs text after the slot to score")
        if any(not words for words in self.groups.values()):
            raise ValueError("every group needs at least one word")
        return self


class DocumentsSpec(_Strict):
    """Join consecutive rows of a line-per-row dataset into documents (e.g. wikitext's articles).

    A row whose `field` matches `start` (re.match) begins a new document; rows before the first match
    that hold only whitespace are dropped. A document row is `{into: joiner.join(lines)}`, each line
    being a row's `field` without its trailing newline. See `harness.tasks.documents`.
    """

    field: str = "text"
    start: str
    joiner: str = "\n"
    into: str = "page"


class DatasetSpec(_Strict):
    """Where the rows come from: exactly one of hub, files, parallel, sacrebleu, data_dir_files or probe."""

    hub: str | None = None
    config: str | None = None
    split: str = "test"
    files: dict[str, str] | None = None
    parallel: ParallelFiles | None = None
    sacrebleu: SacrebleuSource | None = None
    data_dir_files: dict[str, list[str]] | None = Field(
        default=None, description="split -> files relative to --data-dir (raw formats without a hub mirror)")
    probe: ProbeSource | None = None
    documents: DocumentsSpec | None = Field(
        default=None, description="join line rows into documents before anything else sees them")

    @model_validator(mode="after")
    def _one_source(self) -> DatasetSpec:
        sources = ("hub", "files", "parallel", "sacrebleu", "data_dir_files", "probe")
        given = [k for k in sources if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(sources)} (got {given or 'none'})")
        for name in ("files", "data_dir_files"):
            by_split = getattr(self, name)
            if by_split is not None and self.split not in by_split:
                raise ValueError(f"split '{self.split}' is not one of the {name} given ({', '.join(by_split)})")
        return self


class FewshotSpec(_Strict):
    """k examples drawn from `split` with a fixed seed (or the first k in order: sampler first_n), or from
    `examples`, rows written in the task file (lm-eval's `fewshot_config: samples`, e.g. gsm8k_cot's 8)."""

    split: str | None = None
    k: int = Field(default=0, ge=0)
    seed: int = 1234
    sampler: Literal["random", "first_n"] = "random"
    examples: list[dict[str, Any]] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_pool(self) -> FewshotSpec:
        if self.examples is not None and self.split is not None:
            raise ValueError("give either few-shot 'split' or 'examples', not both")
        return self


class GenerationSpec(_Strict):
    """How a generate task's output is produced (lm-eval's `generation_kwargs`): greedy at temperature 0,
    else sampled with the run's seed (harness/tasks/sampling.py); `--gen-kwargs` overrides any of it."""

    until: list[str] = Field(default_factory=lambda: ["\n"])
    max_tokens: int = Field(default=64, ge=1)
    temperature: float = Field(default=0.0, ge=0.0, description="0: greedy")
    top_p: float = Field(default=1.0, gt=0.0, le=1.0, description="nucleus sampling; 1.0: no cut")
    top_k: int = Field(default=0, ge=0, description="sample among the k likeliest tokens; 0: no cut")


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
    preamble: str = Field(default="", description="template put once before the few-shot examples "
                          "(lm-eval's `description`, e.g. MMLU's subject line)")
    answer_prefix: str | None = Field(
        default=None, description="generate only: template of the text the model's answer starts with "
        "(lm-eval's `gen_prefix`): put after the prompt, in a chat format as the start of the assistant's "
        "turn, which the model continues; few-shot answers start with it too")
    continuation: str | None = Field(
        default=None, description="multiple_choice only: each choice completes the prompt and this common "
        "continuation is scored after it (lm-eval's multiple-input tasks, e.g. winogrande)")
    fewshot: FewshotSpec = FewshotSpec()
    generation: GenerationSpec = GenerationSpec()
    repeats: int = Field(default=1, ge=1, description="generations per item (lm-eval's `repeats`); sampled "
                         "ones differ, and filters such as majority_vote or metrics such as pass@10 use them all")
    think_end_token: str | None = Field(
        default=None, description="a reasoning model's end-of-thinking marker (e.g. '</think>'): what comes "
        "before its last occurrence is stripped before filters and metrics; samples.jsonl keeps the raw output")
    metrics: list[str] = Field(min_length=1)
    filters: dict[str, list[dict[str, Any]]] = Field(
        default_factory=dict, description="filter set name -> steps ({function: NAME, ...options}) applied to "
        "generated output before the metrics; each metric is reported per set as METRIC,SET "
        "(harness/tasks/filters.py)")
    metric_options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    doc_id: str | None = Field(default=None, description="row field that holds a stable id")
    breakdown: str | None = Field(default=None, description="template of a row's subgroup, e.g. '{{bias_type}}': "
                                  "every metric is also reported per subgroup")
    cluster: str | None = Field(default=None, description="template of an item's cluster, e.g. "
                                "'{{paragraph_id}}': items of a cluster are not independent, so means get "
                                "cluster-robust standard errors and cluster-bootstrap intervals")
    preprocess: str | None = Field(default=None, description="a named row preprocessor (harness/tasks/preprocess.py) "
                                   "whose fields the templates can use")
    source_file: Path | None = Field(default=None, exclude=True)

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, (int, float)) else value

    @field_validator("preprocess")
    @classmethod
    def _known_preprocessor(cls, value: str | None) -> str | None:
        from harness.tasks.preprocess import PREPROCESSORS

        if value is not None and value not in PREPROCESSORS:
            raise ValueError(f"unknown preprocessor '{value}' (known: {', '.join(sorted(PREPROCESSORS))})")
        return value

    @field_validator("filters")
    @classmethod
    def _known_filters(cls, value: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
        from harness.tasks.filters import build_chain

        for name, steps in value.items():
            if not re.fullmatch(r"[A-Za-z0-9_.@\-]+", name):  # '@' for lm-eval's maj@64
                raise ValueError(f"filter set name {name!r}: use letters, digits, '_', '-', '.' and '@'")
            build_chain(steps, f"filter set '{name}'")
        return value

    @model_validator(mode="after")
    def _fits_output_type(self) -> TaskSpec:
        if self.output_type == "multiple_choice" and (self.choices is None or self.target is None):
            raise ValueError("a multiple_choice task needs both 'choices' and 'target'")
        if self.output_type in ("generate", "loglikelihood") and self.target is None:
            raise ValueError(f"a {self.output_type} task needs 'target'")
        if self.filters and self.output_type != "generate":
            raise ValueError("'filters' apply to generated output: a generate task only")
        if (self.repeats > 1 or self.think_end_token) and self.output_type != "generate":
            raise ValueError("'repeats' and 'think_end_token' apply to generated output: a generate task only")
        if self.answer_prefix and self.output_type != "generate":
            raise ValueError("'answer_prefix' opens a generated answer: a generate task only")
        if self.continuation is not None and self.output_type != "multiple_choice":
            raise ValueError("'continuation' is for multiple_choice tasks (the choices complete the context)")
        return self

    @property
    def base_dir(self) -> Path:
        """The folder relative paths in this task are resolved against."""
        return self.source_file.parent if self.source_file else Path.cwd()
