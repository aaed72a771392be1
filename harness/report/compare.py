"""`evalh compare` as a library: pair two runs sample by sample, test each task, correct, decide.

Samples are matched by sample_id and prompt_hash; a different task version, dataset fingerprint, item set
or prompt is a MismatchError (exit 2), never a silent comparison of different things.

Which test: exact McNemar for 0/1 scores; a paired bootstrap of the mean for other per-item scores; a paired
bootstrap of the corpus score for BLEU/chrF/TER; a paired bootstrap over whole clusters when the task declared
clusters; and for a metric with an ideal value (pct_stereotype: 0.5), a paired bootstrap of the change in
distance to the ideal, so that delta > 0 means moving away from it. Each row's interval is taken at the level
at which its test agrees with the Holm-corrected verdict (see paired.py), so the two never disagree.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from harness.errors import EvalhError
from harness.metrics.base import MEAN_METHODS
from harness.metrics.semantics import Semantics
from harness.report.corpus import CORPUS_METRICS, CorpusScorer
from harness.report.loading import LoadedRun
from harness.report.paired import (PairedTest, adjusted_level, holm, mcnemar_test, paired_bootstrap_corpus,
                                   paired_bootstrap_mean)
from harness.report.power import bootstrap_mde, mcnemar_mde
from harness.results import SampleRecord
from harness.tasks.templates import render_value

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
    """The paired comparison of one metric of one task.

    delta is candidate minus baseline, or for an ideal-value metric the candidate's distance to the ideal
    minus the baseline's. mde is the smallest |delta| the test detects with 80% power (None: none it could).
    """

    model: str
    task: str
    metric: str
    n: int
    base_value: float
    cand_value: float
    semantics: Semantics
    result: PairedTest
    p_holm: float = 1.0
    verdict: str = NO_CHANGE
    flips: tuple[Flip, ...] = ()
    note: str = ""
    mde: float | None = None
    underpowered: bool = False

    @property
    def better(self) -> float:
        """How much better the candidate is, in the metric's units (negative: worse)."""
        if self.semantics.ideal is not None:  # delta is the change of the distance to the ideal
            return -self.result.delta
        return self.semantics.improvement(0.0, self.result.delta)

    @property
    def lost(self) -> int:
        """Items that got worse (for 0/1 metrics: right -> wrong); for an ideal-value metric, the items
        whose score moved (one item is not better or worse, only the average's distance is)."""
        if self.semantics.ideal is not None:
            return len(self.flips)
        return sum(1 for f in self.flips if self.semantics.improvement(f.base_score, f.cand_score) < 0)

    @property
    def gained(self) -> int:
        return 0 if self.semantics.ideal is not None else len(self.flips) - self.lost


@dataclass(frozen=True)
class CompareResult:
    """Every task comparison, the thresholds used, and the overall verdict."""

    baseline: str
    candidate: str
    rows: tuple[TaskComparison, ...]
    alpha: float
    max_drop: float
    min_effect: float | None = None

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


def check_same_data(task: str, base: LoadedRun, cand: LoadedRun, where: str | None = None) -> None:
    """A MismatchError when the two runs' results say they ran `task` in another version or on other data
    (dataset fingerprint: different data or --limit). Reads results.json only; the leaderboard uses it too."""
    b, c = base.result.tasks[task], cand.result.tasks[task]
    where = where or f"task {task}: baseline {base.path.name} vs candidate {cand.path.name}"
    if b.version != c.version:
        raise MismatchError(f"{where}: task version {b.version} vs {c.version}")
    if b.dataset.fingerprint != c.dataset.fingerprint:
        raise MismatchError(f"{where}: dataset fingerprint {b.dataset.fingerprint} vs {c.dataset.fingerprint} "
                            f"({b.dataset.rows_used} vs {c.dataset.rows_used} rows used; different data or --limit)")


def _check_task(task: str, base: LoadedRun, cand: LoadedRun) -> list[tuple[SampleRecord, SampleRecord]]:
    """The matched sample pairs of a task, or a MismatchError saying what differs."""
    where = f"task {task}: baseline {base.path.name} vs candidate {cand.path.name}"
    check_same_data(task, base, cand, where)
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


def _unit_stats(scored: list[tuple[float, float, str]]) -> tuple[np.ndarray, np.ndarray]:
    """Per resampling unit (an item, or a cluster): [summed score, items] for each run."""
    units: dict[str, list[float]] = {}
    for base, cand, unit in scored:
        sums = units.setdefault(unit, [0.0, 0.0, 0.0])
        sums[0], sums[1], sums[2] = sums[0] + base, sums[1] + cand, sums[2] + 1.0
    table = np.array(list(units.values()), dtype=float)
    return table[:, [0, 2]], table[:, [1, 2]]


def _test(metric: str, pairs: list[tuple[SampleRecord, SampleRecord]], signature: str, semantics: Semantics, *,
          alpha: float, resamples: int, seed: int, recorded: float | None = None,
          cluster: str | None = None) -> tuple[PairedTest, int, str]:
    """The right paired test for the metric (module docstring); returns it with the number of pairs and a note."""
    options = {"resamples": resamples, "seed": seed, "alpha": alpha}
    if metric in CORPUS_METRICS:
        return _corpus_test(metric, pairs, signature, recorded, **options)
    scored = [(b.scores.get(metric), c.scores.get(metric), b) for b, c in pairs]
    scored = [(float(x), float(y), _unit(b, cluster)) for x, y, b in scored if x is not None and y is not None]
    if not scored:
        raise MismatchError(f"metric {metric}: no per-sample scores in both runs")
    note = "" if len(scored) == len(pairs) else f"{len(pairs) - len(scored)} item(s) without a score skipped"
    base, cand = [x for x, _, _ in scored], [y for _, y, _ in scored]
    if semantics.ideal is not None or cluster:
        ideal = semantics.ideal
        score = (lambda s: abs(s[0] / s[1] - ideal)) if ideal is not None else (lambda s: s[0] / s[1])
        name = "paired-bootstrap" + (f"-distance-to-{ideal:g}" if ideal is not None else "") + \
            ("-clustered" if cluster else "")
        base_stats, cand_stats = _unit_stats(scored)
        return paired_bootstrap_corpus(base_stats, cand_stats, score, bound=semantics.width, name=name,
                                       **options), len(scored), note
    if set(base) | set(cand) <= {0.0, 1.0}:
        return mcnemar_test(base, cand, alpha), len(scored), note
    return paired_bootstrap_mean(base, cand, bound=semantics.width, **options), len(scored), note


def _unit(sample: SampleRecord, cluster: str | None) -> str:
    """The resampling unit of an item: its cluster when the task declares one, else the item itself."""
    if not cluster:
        return sample.sample_id
    return str(render_value(cluster, sample.row, f"task {sample.task}, item {sample.sample_id}, field 'cluster'"))


def compare_task(task: str, base: LoadedRun, cand: LoadedRun, *, metric: str | None = None, alpha: float = 0.05,
                 resamples: int = 1000, seed: int = 1234) -> TaskComparison:
    """Paired comparison of one task's metric (default: the task's first, primary metric)."""
    pairs = _check_task(task, base, cand)
    b_metrics, c_metrics = base.result.tasks[task].metrics, cand.result.tasks[task].metrics
    metric = metric or next(iter(b_metrics))
    if metric not in b_metrics or metric not in c_metrics:
        raise MismatchError(f"task {task}: metric {metric} is not in both runs")
    signature = str(b_metrics[metric].details.get("signature", ""))
    semantics = Semantics.of(b_metrics[metric])
    test, n, note = _test(metric, pairs, signature, semantics, alpha=alpha, resamples=resamples, seed=seed,
                          recorded=b_metrics[metric].value, cluster=base.result.tasks[task].cluster)
    if metric not in CORPUS_METRICS and b_metrics[metric].method.split("+")[0] not in MEAN_METHODS:
        # ratio scores (BBQ bias, WinoBias gap, probe disparity, StereoSet's macro average) cannot be rebuilt
        # from per-item scores here; say that the test is of the items' mean, not of the reported value
        note = "; ".join(filter(None, [note, f"tested on the mean of per-item {metric} scores, which is not how "
                                             f"its value ({b_metrics[metric].method}) is computed"]))
    flips = tuple(Flip(b.sample_id, b.scores[metric], c.scores[metric], _response(b), _response(c))
                  for b, c in pairs if b.scores.get(metric) is not None and c.scores.get(metric) is not None
                  and b.scores[metric] != c.scores[metric])
    flips = tuple(sorted(flips, key=lambda f: semantics.improvement(f.base_score, f.cand_score)))
    mde = mcnemar_mde(n, test.noise, alpha=alpha) if test.test == "mcnemar-exact" else bootstrap_mde(test.noise,
                                                                                                      alpha=alpha)
    return TaskComparison(base.label, task, metric, n, b_metrics[metric].value or 0.0,
                          c_metrics[metric].value or 0.0, semantics, test, flips=flips, note=note, mde=mde)


def smallest_effect(semantics: Semantics, max_drop: float, min_effect: float | None) -> float | None:
    """The smallest change worth detecting: --min-effect, else --max-drop when set, else 5% of the
    metric's range; None for an unbounded metric with neither option."""
    if min_effect is not None:
        return min_effect
    if max_drop > 0:
        return max_drop
    return 0.05 * semantics.width if semantics.width is not None else None


def decide(row: TaskComparison, p_holm: float, alpha: float, max_drop: float,
           min_effect: float | None = None) -> TaskComparison:
    """Attach the Holm-adjusted p-value, the interval at the level that agrees with it, the verdict (drops up
    to max_drop are tolerated) and the power flag: a comparison that found no change while its minimum
    detectable effect exceeds the smallest effect worth detecting is underpowered (it could not have seen it)."""
    low, high = row.result.interval(adjusted_level(alpha, row.result.p_value, p_holm))
    row = replace(row, result=replace(row.result, ci_low=low, ci_high=high))
    verdict, note = NO_CHANGE, row.note
    if p_holm < alpha and row.better > 0:
        verdict = IMPROVEMENT
    elif p_holm < alpha and row.better < 0:
        if -row.better > max_drop:
            verdict = REGRESSION
        else:
            note = "; ".join(filter(None, [note, f"significant drop within --max-drop {max_drop:g}"]))
    wanted = smallest_effect(row.semantics, max_drop, min_effect)
    underpowered = verdict == NO_CHANGE and (row.mde is None or (wanted is not None and row.mde > wanted))
    if underpowered:
        can = "any change" if row.mde is None else f"changes under {row.mde:.3g}"
        note = "; ".join(filter(None, [note, f"underpowered: {row.n} item(s) cannot detect {can} with 80% power"
                                             + (f" (smallest effect of interest {wanted:g})" if wanted else "")]))
    return replace(row, p_holm=p_holm, verdict=verdict, note=note, underpowered=underpowered)


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
                 seed: int = 1234, min_effect: float | None = None) -> CompareResult:
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
    decided = tuple(decide(row, p, alpha, max_drop, min_effect) for row, p in zip(rows, adjusted))
    names = lambda runs: ", ".join(f"{r.label} ({r.path.name})" for r in runs)  # noqa: E731
    return CompareResult(names(baseline), names(candidate), decided, alpha, max_drop, min_effect)
