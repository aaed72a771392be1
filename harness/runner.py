"""Runner: one model, many tasks. Rows -> items -> requests (deduplicated) -> model -> metrics.

The runner gets its model injected and never reaches for globals; `harness.evaluate` wires it up.
"""
from __future__ import annotations

from dataclasses import replace
from functools import partial
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from harness.bridge.lm_eval_run import LmEvalTask, run_lm_eval_task
from harness.cache import ResponseCache
from harness.config import limit_count
from harness.metrics import Outcome, get_metric
from harness.models.base import ModelAdapter, Session
from harness.models.resolve import LoadOptions, load_model
from harness.progress import TaskProgress
from harness.requests import Generate, Loglikelihood, Request, Rolling
from harness.results import DatasetInfo, SampleRecord, TaskResult
from harness.tasks.build import FewshotSampler, Item, build_items
from harness.tasks.context import PromptFormat
from harness.tasks.sampling import GenerationOptions, apply_overrides
from harness.tasks.datasets import describe_source, fingerprint, load_rows
from harness.tasks.dialogue import judge_of, run_dialogue
from harness.tasks.schema import TaskSpec
from harness.tasks.scoring import score_task
from harness.errors import DataError

FLUSH_EVERY = 256
"""With a response cache, requests per model call; each call's responses are committed at once."""


class Runner:
    """Scores one model on tasks; identical requests (across tasks too) are computed once."""

    def __init__(self, model: ModelAdapter, *, data_dir: Path | None = None, limit: int | float | None = None,
                 num_fewshot: int | None = None, seed: int = 1234, progress: bool = False,
                 apply_chat_template: bool = False, cache: ResponseCache | None = None,
                 flush_every: int | None = None, judge: ModelAdapter | None = None,
                 load: Callable[[str, LoadOptions], ModelAdapter] = load_model,
                 load_options: LoadOptions | None = None, allowed: Sequence[Path] = (),
                 log: Callable[[str], None] | None = None,
                 generation: GenerationOptions | None = None) -> None:
        self.model, self.data_dir, self.limit = model, data_dir, limit
        self.allowed = tuple(allowed)
        """Folders besides the task's own and data_dir that task files may read (--allow-path)."""
        self.load, self.load_options = load, load_options or LoadOptions()
        self.num_fewshot, self.seed, self.progress = num_fewshot, seed, progress
        self.chat = apply_chat_template
        self.generation = generation or GenerationOptions()
        self.judge = judge
        self._loaded_judges: dict[tuple, ModelAdapter] = {}
        self._judge_runners: dict[int, Runner] = {}
        self.memo: dict[Request, object] = {}
        self.cache, self.flush_every = cache, flush_every or FLUSH_EVERY
        self._fingerprint = model.info().fingerprint if cache is not None else ""
        self._named = False  # whether the cache knows this model's name (written with its first responses)
        self.cache_stats = {"hits": 0, "misses": 0}
        """hits: requests answered by the response cache; misses: requests sent to the model."""
        self.log = log
        """Where steps (a model load) and, without a progress bar, progress lines go."""
        self.load_seconds = 0.0
        """Seconds spent loading the model's deferred weights (on the first request the cache misses)."""

    def run_task(self, spec: TaskSpec | LmEvalTask) -> tuple[TaskResult, list[SampleRecord]]:
        """Evaluate one task; raises EvalhError subclasses for bad data or task definitions."""
        if isinstance(spec, LmEvalTask):  # lm-eval plans and scores; its requests come here
            return run_lm_eval_task(spec, self.model, ask=partial(self.ask, spec.name), limit=self.limit,
                                    num_fewshot=self.num_fewshot, seed=self.seed, apply_chat_template=self.chat,
                                    data_dir=self.data_dir, generation=self.generation)
        if spec.output_type == "dialogue":  # stages of requests: each turn needs the model's previous answer
            return run_dialogue(spec, self, self._judge_runner(spec), data_dir=self.data_dir,
                                allowed=self.allowed, limit=self.limit, seed=self.seed)
        started, loading = time.perf_counter(), self.load_seconds
        options = self.generation
        spec = apply_overrides(spec, options.gen_kwargs, options.samples, options.think_end_token)
        metrics = [get_metric(name, spec.metric_options.get(name), spec.name) for name in spec.metrics]
        all_rows = load_rows(spec, data_dir=self.data_dir, allowed=self.allowed)
        if not all_rows:
            raise DataError(f"task {spec.name}: the dataset ({describe_source(spec, self.data_dir)}) has no rows")
        rows = all_rows[: limit_count(self.limit, len(all_rows))]
        sampler = self._sampler(spec, all_rows)
        items = build_items(spec, rows, sampler, form=self._prompt_format(), seed=self.seed)
        outcomes = self._execute(spec.name, items)
        task_seconds = time.perf_counter() - started - (self.load_seconds - loading)  # the load is its own step
        scores = score_task(spec, metrics, outcomes, self.seed)
        result = TaskResult(
            name=spec.name, version=spec.version, output_type=spec.output_type, groups=spec.groups,
            cluster=spec.cluster,
            num_fewshot=sampler.k if sampler else 0, metrics=scores.values, breakdown=scores.breakdown,
            dataset=DatasetInfo(source=describe_source(spec, self.data_dir), fingerprint=fingerprint(rows),
                                rows_total=len(all_rows), rows_used=len(rows)),
            seconds=round(task_seconds, 3),
        )
        samples = [_record(spec, o, scores.items[k], scores.details[k]) for k, o in enumerate(outcomes)]
        return result, samples

    def _judge_runner(self, spec: TaskSpec) -> Runner:
        """A runner for the judge of dialogue task `spec`: the judge given to this runner (--judge), else
        the task's own (`metric_options: {mt_bench_score: {judge: MODEL}}`), loaded once per run. It shares
        this runner's response cache and counts its hits and misses with this runner's."""
        model = self.judge
        if model is None:
            name, options = judge_of(spec)
            key = (name, tuple(sorted(options.items())))
            if key not in self._loaded_judges:
                self._loaded_judges[key] = self.load(name, replace(self.load_options.without_model_args(), **options))
            model = self._loaded_judges[key]
        if id(model) not in self._judge_runners:
            runner = Runner(model, progress=self.progress, cache=self.cache, flush_every=self.flush_every,
                            log=self.log)
            runner.cache_stats = self.cache_stats
            self._judge_runners[id(model)] = runner
        return self._judge_runners[id(model)]

    def close(self) -> None:
        """Close the judges this runner loaded (the model and a judge given to it belong to the caller)."""
        for judge in self._loaded_judges.values():
            judge.close()
        self._loaded_judges.clear()

    def _prompt_format(self) -> PromptFormat:
        """Plain text, or the model's chat format (--apply-chat-template); with the system instruction."""
        options = self.generation
        multiturn = self.chat if options.fewshot_as_multiturn is None else options.fewshot_as_multiturn
        return PromptFormat(system_instruction=options.system_instruction,
                            chat=self.model.chat_conversation if self.chat else None, multiturn=multiturn)

    def _sampler(self, spec: TaskSpec, eval_rows: list[dict]) -> FewshotSampler | None:
        k = spec.fewshot.k if self.num_fewshot is None else self.num_fewshot
        if k == 0:
            return None
        split = spec.fewshot.split or spec.dataset.split
        same = split == spec.dataset.split and spec.fewshot.examples is None
        if spec.fewshot.examples is not None:
            pool, split = list(spec.fewshot.examples), "examples"
        else:
            pool = eval_rows if same else load_rows(spec, split=split, data_dir=self.data_dir, allowed=self.allowed)
        try:
            return FewshotSampler(pool, k, spec.fewshot.seed, spec.fewshot.sampler, same)
        except DataError as exc:
            raise DataError(f"task {spec.name}: {exc} (split '{split}')") from None

    def _execute(self, task: str, items: Sequence[Item]) -> list[Outcome]:
        responses = iter(self.ask(task, [r for item in items for r in item.requests], items=len(items)))
        return [_outcome(item, [next(responses) for _ in item.requests]) for item in items]

    def ask(self, task: str, requests: Sequence[Request], items: int | None = None) -> list:
        """The model's responses to `requests`, in order: from the memo, else the response cache, else the
        model. What the model computes goes through one session opened for all of `requests`, so its
        forward passes do not depend on what the memo or the cache already held; it is opened (and the
        model loaded) only when something is left to compute. Progress is shown in `items` (the task's
        items the requests belong to; default: the requests themselves)."""
        distinct = len(dict.fromkeys(requests))
        pending = list(dict.fromkeys(r for r in requests if r not in self.memo))
        if self.cache is not None and pending:
            cached = self.cache.get_many(self._fingerprint, pending)
            self.memo.update(cached)
            self.cache_stats["hits"] += len(cached)
            pending = [r for r in pending if r not in cached]
        self.cache_stats["misses"] += len(pending)
        if pending:
            self._load_model()
            with TaskProgress(task, len(requests) if items is None else items, distinct, bar=self.progress,
                              log=None if self.progress else self.log) as progress:
                progress.update(distinct - len(pending))  # answered by the memo or the cache
                with self.model.open(requests) as session:
                    self._compute(pending, session, progress)
        return [self.memo[r] for r in requests]

    def _load_model(self) -> None:
        """Load the model's deferred weights as a step of its own, said and timed (see ModelAdapter.load)."""
        started, name = time.perf_counter(), self.model.info().name
        if self.model.load(before=lambda: self.log and self.log(f"loading model {name} ...")):
            seconds = time.perf_counter() - started
            self.load_seconds += seconds
            if self.log:
                self.log(f"model {name} loaded in {seconds:.1f}s")

    def _compute(self, pending: list[Request], session: Session, progress: TaskProgress) -> None:
        """Put the responses to `pending` in the memo (and the cache), in calls of whole passes."""
        for kind, method in ((Loglikelihood, session.loglikelihood), (Generate, session.generate),
                             (Rolling, session.loglikelihood_rolling)):
            batch = session.order([r for r in pending if isinstance(r, kind)])
            for chunk in self._chunks(batch):
                responses = method(chunk, progress=progress.update)
                self.memo.update(zip(chunk, responses, strict=True))
                if self.cache is not None:
                    self.cache.put_many(self._fingerprint, zip(chunk, responses))
                    if not self._named:
                        self.cache.name_model(self._fingerprint, self.model.info().name)
                        self._named = True

    def _chunks(self, batch: list[Request]) -> list[list[Request]]:
        """Without a cache, one call per kind; with one, calls of about `flush_every` requests, each
        committed on return, so a killed run loses at most one chunk. A chunk never splits requests
        that share a context, so an adapter can still score an item's choices from one prefix."""
        if not batch:
            return []
        if self.cache is None:
            return [batch]
        chunks: list[list[Request]] = [[]]
        for request in batch:
            current = chunks[-1]
            if len(current) >= self.flush_every and (_context(request) is None
                                                      or _context(request) != _context(current[-1])):
                chunks.append(current := [])
            current.append(request)
        return chunks


def _context(request: Request) -> str | None:
    return request.context if isinstance(request, Loglikelihood) else None


def _outcome(item: Item, responses: list) -> Outcome:
    first = item.requests[0]
    if isinstance(first, Loglikelihood):
        return Outcome(item, logprobs=tuple(float(r[0]) for r in responses),
                       is_greedy=tuple(bool(r[1]) for r in responses))
    if isinstance(first, Generate):
        return Outcome(item, response=responses[0], responses=tuple(responses) if len(responses) > 1 else None)
    return Outcome(item, rolling=float(responses[0]))


def _record(spec: TaskSpec, outcome: Outcome, scores: dict[str, float | None], details: dict) -> SampleRecord:
    item = outcome.item
    target = item.gold if item.gold is not None else list(item.references or ())
    return SampleRecord(
        task=spec.name, sample_id=item.sample_id, index=item.index, prompt_hash=item.prompt_hash,
        prompt=item.prompt, target=target, choices=list(item.choices) if item.choices else None,
        logprobs=list(outcome.logprobs) if outcome.logprobs is not None else None,
        is_greedy=list(outcome.is_greedy) if outcome.is_greedy is not None else None,
        response=outcome.response, responses=list(outcome.responses) if outcome.responses else None,
        rolling=outcome.rolling, scores=scores, details=details, row=item.row,
    )
