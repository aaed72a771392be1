"""`evalh compare` as a library: pair two runs sample by sample, test each task, correct, decide.

Samples are matched by sample_id and prompt_hash; a different task version, dataset fingerprint, item set
or prompt is a MismatchError (exit 2), never a silent comparison of different things.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

from harness.errors import EvalhError
from harness.report.corpus import CORPUS_METRICS, CorpusScorer
from harness.report.loading import LoadedRun
from harness.report.paired import (PairedTest, holm, mcnemar_test, paired_bootstrap_corpus,
                                   paired_bootstrap_mean)
from harness.results import SampleRecord

REGRESSION, IMPROVEMENT, NO_CHANGE = "regression", "improvement", "no detectable change"


class MismatchError(EvalhError):
    """The two runs did not evaluate the same items (task version, data or prompts differ)."""


@dataclass(frozen=True)
class Flip:
    """One item whose score changed between the runs."""

    sample_id: str
    base_score: float
    cand_score: float
    base_response: str
    cand_response: str


@dataclass(frozen=True)
class TaskComparison:
    """The paired comparison of one metric of one task; delta is candidate minus baseline."""

    model: str
    task: str
    metric: str
    n: int
    base_value: float
    cand_value: float
    higher_is_better: bool
    result: PairedTest
    p_holm: float = 1.0
    verdict: str = NO_CHANGE
    flips: tuple[Flip, ...] = ()
    note: str = ""

    @property
    def lost(self) -> int:
        """Items that got worse (for 0/1 metrics: right -> wrong)."""
        return sum(1 for f in self.flips if self._worse(f))

    @property
    def gained(self) -> int:
        return len(self.flips) - self.lost

    def _worse(self, flip: Flip) -> bool:
        return (flip.cand_score < flip.base_score) == self.higher_is_better


@dataclass(frozen=True)
class CompareResult:
    """Every task comparison, the thresholds used, and the overall verdict."""

    baseline: str
    candidate: str
    rows: tuple[TaskComparison, ...]
    alpha: float
    max_drop: float

    @property
    def regressions(self) -> list[TaskComparison]:
        return [r for r in self.rows if r.verdict == REGRESSION]

    @property
    def exit_code(self) -> int:
        return 1 if self.regressions else 0


def _response(sample: SampleRecord) -> str:
    """What the model answered: its text, or its highest-likelihood choice."""
    if sample.response is not None:
        return sample.response
    if sample.logprobs and sample.choices:
        return sample.choices[max(range(len(sample.logprobs)), key=sample.logprobs.__getitem__)]
    return ""


def _check_task(task: str, base: LoadedRun, cand: LoadedRun) -> list[tuple[SampleRecord, SampleRecord]]:
    """The matched sample pairs of a task, or a MismatchError saying what differs."""
    b, c = base.result.tasks[task], cand.result.tasks[task]
    where = f"task {task}: baseline {base.path.name} vs candidate {cand.path.name}"
    if b.version != c.version:
        raise MismatchError(f"{where}: task version {b.version} vs {c.version}")
    if b.dataset.fingerprint != c.dataset.fingerprint:
        raise MismatchError(f"{where}: dataset fingerprint {b.dataset.fingerprint} vs {c.dataset.fingerprint} "
                            f"({b.dataset.rows_used} vs {c.dataset.rows_used} rows used; different data or --limit)")
    base_samples = _by_id(base, task, where)
    cand_samples = _by_id(cand, task, where)
    if set(base_samples) != set(cand_samples) or not base_samples:
        only_b = sorted(set(base_samples) - set(cand_samples))[:5]
        only_c = sorted(set(cand_samples) - set(base_samples))[:5]
        raise MismatchError(f"{where}: different items (only in baseline: {only_b}; only in candidate: {only_c})")
    changed = [sid for sid, s in base_samples.items() if s.prompt_hash != cand_samples[sid].prompt_hash]
    if changed:
        raise MismatchError(f"{where}: {len(changed)} item(s) were asked differently (prompt hashes differ), "
                            f"e.g. {changed[:5]}")
    return [(base_samples[sid], cand_samples[sid]) for sid in base_samples]


def _by_id(run: LoadedRun, task: str, where: str) -> dict[str, SampleRecord]:
    """The run's samples of `task` by id; a repeated id is a MismatchError, as pairing would drop samples."""
    samples = run.samples_of(task)
    by_id = {s.sample_id: s for s in samples}
    if len(by_id) != len(samples):
        counts = Counter(s.sample_id for s in samples)
        repeated = sorted(sid for sid, n in counts.items() if n > 1)
        raise MismatchError(f"{where}: {run.path.name} has {len(samples)} samples but only {len(by_id)} distinct "
                            f"sample ids (repeated: {repeated[:5]}); each item needs its own doc_id")
    return by_id


def _corpus_test(metric: str, pairs: list[tuple[SampleRecord, SampleRecord]], signature: str,
                 recorded: float | None, **options: float) -> tuple[PairedTest, int, str]:
    """Paired bootstrap of a sacrebleu corpus score recomputed from responses and references."""
    scorer = CorpusScorer(metric, signature)
    refs = [list(b.target) if isinstance(b.target, list) else [str(b.target)] for b, _ in pairs]
    base_stats = scorer.statistics([_response(b) for b, _ in pairs], refs)
    cand_stats = scorer.statistics([_response(c) for _, c in pairs], refs)
    test = paired_bootstrap_corpus(base_stats, cand_stats, scorer.score, **options)
    again = scorer.score(base_stats.sum(axis=0))
    note = ""
    if recorded is not None and abs(again - recorded) > 1e-6:  # the samples do not reproduce the results file
        note = f"{metric} recomputed from samples is {again:.4f}, the baseline results file says {recorded:.4f}"
    return test, len(pairs), note


def _test(metric: str, pairs: list[tuple[SampleRecord, SampleRecord]], signature: str, *, alpha: float,
          resamples: int, seed: int, recorded: float | None = None) -> tuple[PairedTest, int, str]:
    """The right paired test for the metric; returns it with the number of pairs and a note."""
    if metric in CORPUS_METRICS:
        return _corpus_test(metric, pairs, signature, recorded, resamples=resamples, seed=seed, alpha=alpha)
    scored = [(b.scores.get(metric), c.scores.get(metric)) for b, c in pairs]
    scored = [(float(x), float(y)) for x, y in scored if x is not None and y is not None]
    if not scored:
        raise MismatchError(f"metric {metric}: no per-sample scores in both runs")
    base, cand = [x for x, _ in scored], [y for _, y in scored]
    note = "" if len(scored) == len(pairs) else f"{len(pairs) - len(scored)} item(s) without a score skipped"
    if set(base) | set(cand) <= {0.0, 1.0}:
        return mcnemar_test(base, cand, alpha), len(scored), note
    return paired_bootstrap_mean(base, cand, resamples=resamples, seed=seed, alpha=alpha), len(scored), note


def compare_task(task: str, base: LoadedRun, cand: LoadedRun, *, metric: str | None = None, alpha: float = 0.05,
                 resamples: int = 1000, seed: int = 1234) -> TaskComparison:
    """Paired comparison of one task's metric (default: the task's first, primary metric)."""
    pairs = _check_task(task, base, cand)
    b_metrics, c_metrics = base.result.tasks[task].metrics, cand.result.tasks[task].metrics
    metric = metric or next(iter(b_metrics))
    if metric not in b_metrics or metric not in c_metrics:
        raise MismatchError(f"task {task}: metric {metric} is not in both runs")
    signature = str(b_metrics[metric].details.get("signature", ""))
    test, n, note = _test(metric, pairs, signature, alpha=alpha, resamples=resamples, seed=seed,
                          recorded=b_metrics[metric].value)
    flips = tuple(Flip(b.sample_id, b.scores[metric], c.scores[metric], _response(b), _response(c))
                  for b, c in pairs if b.scores.get(metric) is not None and c.scores.get(metric) is not None
                  and b.scores[metric] != c.scores[metric])
    higher = b_metrics[metric].higher_is_better
    flips = tuple(sorted(flips, key=lambda f: (f.cand_score - f.base_score) * (1 if higher else -1)))
    return TaskComparison(base.label, task, metric, n, b_metrics[metric].value or 0.0,
                          c_metrics[metric].value or 0.0, higher, test, flips=flips, note=note)


def decide(row: TaskComparison, p_holm: float, alpha: float, max_drop: float) -> TaskComparison:
    """Attach the Holm-adjusted p-value and the verdict (drops up to max_drop are tolerated)."""
    better = row.result.delta if row.higher_is_better else -row.result.delta
    verdict, note = NO_CHANGE, row.note
    if p_holm < alpha and better > 0:
        verdict = IMPROVEMENT
    elif p_holm < alpha and better < 0:
        if -better > max_drop:
            verdict = REGRESSION
        else:
            note = "; ".join(filter(None, [note, f"significant drop within --max-drop {max_drop:g}"]))
    return replace(row, p_holm=p_holm, verdict=verdict, note=note)


def pair_runs(baseline: Sequence[LoadedRun], candidate: Sequence[LoadedRun]) -> list[tuple[LoadedRun, LoadedRun]]:
    """One run on each side pair up whatever their names; otherwise runs pair by model name."""
    if len(baseline) == 1 and len(candidate) == 1:
        return [(baseline[0], candidate[0])]
    by_name = {run.label: run for run in candidate}
    missing = [run.label for run in baseline if run.label not in by_name]
    if missing:
        raise MismatchError(f"no candidate run for baseline model(s) {', '.join(missing)}")
    return [(run, by_name[run.label]) for run in baseline]


def compare_runs(baseline: Sequence[LoadedRun], candidate: Sequence[LoadedRun], *, tasks: Sequence[str] = (),
                 metric: str | None = None, alpha: float = 0.05, max_drop: float = 0.0, resamples: int = 1000,
                 seed: int = 1234) -> CompareResult:
    """Compare paired runs on their tasks (all of the baseline's, or `tasks`), Holm-corrected across all."""
    rows: list[TaskComparison] = []
    for base, cand in pair_runs(baseline, candidate):
        for side in (base, cand):
            if not side.has_samples:
                raise MismatchError(f"{side.path}: no samples.jsonl; compare needs per-sample scores")
        names = list(tasks) or list(base.result.tasks)
        absent = [(t, r.path.name) for t in names for r in (base, cand) if t not in r.result.tasks]
        if absent:
            raise MismatchError("task(s) missing from a run: " + ", ".join(f"{t} in {p}" for t, p in absent))
        rows.extend(compare_task(t, base, cand, metric=metric if metric in base.result.tasks[t].metrics else None,
                                 alpha=alpha, resamples=resamples, seed=seed) for t in names)
    adjusted = holm([row.result.p_value for row in rows])
    decided = tuple(decide(row, p, alpha, max_drop) for row, p in zip(rows, adjusted))
    names = lambda runs: ", ".join(f"{r.label} ({r.path.name})" for r in runs)  # noqa: E731
    return CompareResult(names(baseline), names(candidate), decided, alpha, max_drop)
