"""Metrics by name. Each takes per-item Outcomes, gives per-sample scores and an aggregate with uncertainty."""
from __future__ import annotations

import re

from importlib.metadata import EntryPoint, entry_points

from harness.errors import TaskError, did_you_mean
from harness.metrics.base import Metric, Outcome
from harness.metrics.bias import LikelihoodDiff, PctStereotype
from harness.metrics.bias_bbq import BBQAccuracy, BBQBiasScore
from harness.metrics.bias_probe import ProbeDisparity, ProbeLogprob
from harness.metrics.bias_stereoset import StereoSetMetric
from harness.metrics.bias_winobias import WinoBiasAccuracy, WinoBiasGap
from harness.metrics.choice import Accuracy, NormalizedAccuracy, TruthfulMC2
from harness.metrics.classification import ClassificationMetric
from harness.metrics.code import PassAtK
from harness.metrics.perplexity import PerplexityMetric
from harness.metrics.text import CorpusTranslationMetric, ExactMatch, ExactMatchLmEval, RougeMetric, TokenF1

__all__ = ["Metric", "Outcome", "get_metric", "metric_factories", "METRIC_NAMES"]


def _minerva_exact_match(**options: object) -> Metric:
    from harness.metrics.math import MinervaExactMatch  # sympy only when used

    return MinervaExactMatch(**options)


def _math_verify(**options: object) -> Metric:
    from harness.metrics.math import MathVerify

    return MathVerify(**options)


def _judge_metric(**options: object) -> Metric:
    from harness.metrics.judge import MTBenchScore  # loads a judge model only when used

    return MTBenchScore(**options)


_FACTORIES = {
    "acc": Accuracy,
    "acc_norm": NormalizedAccuracy,
    "mc2": TruthfulMC2,
    "exact_match": ExactMatch,
    "f1": TokenF1,
    "exact_match_lm_eval": ExactMatchLmEval,
    "bleu": lambda **kw: CorpusTranslationMetric("bleu", **kw),
    "chrf": lambda **kw: CorpusTranslationMetric("chrf", **kw),
    "ter": lambda **kw: CorpusTranslationMetric("ter", **kw),
    "rouge1": lambda **kw: RougeMetric("rouge1", **kw),
    "rouge2": lambda **kw: RougeMetric("rouge2", **kw),
    "rougeL": lambda **kw: RougeMetric("rougeL", **kw),
    "rougeLsum": lambda **kw: RougeMetric("rougeLsum", **kw),
    "pct_stereotype": PctStereotype,
    "likelihood_diff": LikelihoodDiff,
    "bbq_acc_ambig": lambda **kw: BBQAccuracy("ambig", **kw),
    "bbq_acc_disambig": lambda **kw: BBQAccuracy("disambig", **kw),
    "bbq_bias_ambig": lambda **kw: BBQBiasScore("ambig", **kw),
    "bbq_bias_disambig": lambda **kw: BBQBiasScore("disambig", **kw),
    "winobias_acc_pro": lambda **kw: WinoBiasAccuracy("pro", **kw),
    "winobias_acc_anti": lambda **kw: WinoBiasAccuracy("anti", **kw),
    "winobias_gap": WinoBiasGap,
    "stereoset_ss": lambda **kw: StereoSetMetric("ss", **kw),
    "stereoset_lms": lambda **kw: StereoSetMetric("lms", **kw),
    "stereoset_icat": lambda **kw: StereoSetMetric("icat", **kw),
    "probe_logprob": ProbeLogprob,
    "probe_disparity": ProbeDisparity,
    "f1_macro": lambda **kw: ClassificationMetric("f1_macro", **kw),
    "mcc": lambda **kw: ClassificationMetric("mcc", **kw),
    "word_perplexity": lambda **kw: PerplexityMetric("word_perplexity", **kw),
    "byte_perplexity": lambda **kw: PerplexityMetric("byte_perplexity", **kw),
    "bits_per_byte": lambda **kw: PerplexityMetric("bits_per_byte", **kw),
    "mt_bench_score": _judge_metric,
    "pass@1": lambda **kw: PassAtK(1, **kw),
    "pass@10": lambda **kw: PassAtK(10, **kw),
    "minerva_exact_match": _minerva_exact_match,
    "math_verify": _math_verify,
}
METRIC_NAMES = sorted(_FACTORIES)
"""The built-in metrics; installed packages add theirs through the `evalh.metrics` entry-point group."""


def metric_factories() -> dict[str, object]:
    """Metric factories by name: the built-ins, then every `evalh.metrics` entry point of installed packages
    (an entry point names a callable taking the task's metric options as keyword arguments and returning
    a `Metric`, e.g. the class itself). A plugin cannot replace a built-in."""
    found: dict[str, object] = dict(_FACTORIES)
    for ep in entry_points(group="evalh.metrics"):
        if ep.name in _FACTORIES:
            raise TaskError(f"metric plugin '{ep.name}' ({ep.value}) reuses the name of a built-in metric")
        found[ep.name] = ep
    return found


def get_metric(name: str, options: dict | None = None, task: str = "") -> Metric:
    """A metric instance by name; unknown names, broken plugins and bad options are TaskErrors naming the task."""
    factories = _FACTORIES if name in _FACTORIES else metric_factories()
    if name not in factories and re.fullmatch(r"pass@[1-9][0-9]*", name):  # any k: pass@2, pass@64, ...
        factories = {name: lambda **kw: PassAtK(int(name.removeprefix("pass@")), **kw)}
    if name not in factories:
        raise TaskError(f"task {task}: unknown metric '{name}'{did_you_mean(name, factories)}")
    factory = factories[name]
    if isinstance(factory, EntryPoint):  # import the plugin only when a task uses it
        try:
            factory = factory.load()
        except Exception as exc:  # a broken plugin names itself instead of a traceback
            raise TaskError(f"task {task}: metric plugin '{name}' failed to load: {exc}") from None
    try:
        metric = factory(**(options or {}))
    except TypeError as exc:
        raise TaskError(f"task {task}: bad options for metric '{name}': {exc}") from None
    if not isinstance(metric, Metric):
        raise TaskError(f"task {task}: metric '{name}' gave {type(metric).__name__}, not a harness Metric")
    if "higher_is_better" in vars(metric) or any("higher_is_better" in vars(k) for k in type(metric).__mro__):
        # a bare flag would be ignored, and the metric ranked the wrong way round without a word
        raise TaskError(f"task {task}: metric '{name}' sets higher_is_better; declare its range and what is best "
                        "instead: semantics = Semantics(low, high, higher_is_better=..., ideal=...) "
                        "(harness.metrics.semantics)")
    return metric
