"""Unit tests for issue 7's metrics and helpers: perplexities, macro-F1/MCC, group aggregates, rolling windows,
documents, templates' regex filter, the MT-Bench judge-reply parser."""
import math
import random

import numpy as np
import pytest

from harness.errors import DataError
from harness.metrics import get_metric
from harness.metrics.base import Outcome
from harness.metrics.classification import macro_f1_from_confusion, mcc_from_confusion
from harness.metrics.perplexity import word_count
from harness.models.hf.model import rolling_windows
from harness.results import DatasetInfo, MetricValue, TaskResult
from harness.tasks.aggregate import group_metrics, pooled_stderr
from harness.tasks.build import Item
from harness.tasks.documents import join_documents
from harness.tasks.schema import DocumentsSpec
from harness.tasks.templates import render_text, render_value


def _rolling(ll: float, page: str, index: int = 0) -> Outcome:
    return Outcome(Item(index, str(index), {"page": page}, page, ()), rolling=ll)


def test_perplexities_are_corpus_scores_as_lm_eval_defines_them():
    docs = [_rolling(-20.0, " a b c \n"), _rolling(-10.0, "dé f")]
    # words: re.split(r"\s+") pieces -> " a b c \n" gives ['', 'a', 'b', 'c', ''] = 5; "dé f" = 2
    assert [word_count(o.item.row["page"]) for o in docs] == [5, 2]
    values = {name: get_metric(name).aggregate(docs, [], 0).value
              for name in ("word_perplexity", "byte_perplexity", "bits_per_byte")}
    assert values["word_perplexity"] == pytest.approx(math.exp(30 / 7))
    assert values["byte_perplexity"] == pytest.approx(math.exp(30 / 13))  # 8 bytes + 5 bytes (é is 2)
    assert values["bits_per_byte"] == pytest.approx(30 / 13 / math.log(2))
    assert get_metric("word_perplexity").aggregate(docs, [], 0).higher_is_better is False


def _choice(gold: int, pred: int, k: int = 2, index: int = 0) -> Outcome:
    logprobs = tuple(-1.0 if i == pred else -5.0 for i in range(k))
    return Outcome(Item(index, str(index), {}, "", (), choices=tuple(map(str, range(k))), gold=gold),
                   logprobs=logprobs, is_greedy=(False,) * k)


def test_macro_f1_and_mcc_equal_scikit_learn():
    from sklearn.metrics import f1_score, matthews_corrcoef

    rnd = random.Random(3)
    for k in (2, 3):
        gold = [rnd.randrange(k) for _ in range(40)]
        pred = [g if rnd.random() < 0.6 else rnd.randrange(k) for g in gold]
        outcomes = [_choice(g, p, k, i) for i, (g, p) in enumerate(zip(gold, pred))]
        f1 = get_metric("f1_macro").aggregate(outcomes, [], 1)
        mcc = get_metric("mcc").aggregate(outcomes, [], 1)
        assert f1.value == pytest.approx(f1_score(gold, pred, average="macro"))
        assert mcc.value == pytest.approx(matthews_corrcoef(gold, pred))
        matrix = np.zeros((k, k))
        for g, p in zip(gold, pred):
            matrix[g, p] += 1
        assert macro_f1_from_confusion(matrix) == pytest.approx(f1.value)
        assert mcc_from_confusion(matrix) == pytest.approx(mcc.value)
        assert f1.ci_low <= f1.value <= f1.ci_high and mcc.stderr > 0


def test_known_values_macro_f1_and_mcc():
    # gold 1,1,0,0 pred 1,0,0,0: class0 F1 = 2*2/(2+3) = 0.8, class1 F1 = 2*1/(2+1) = 2/3; MCC = 1/sqrt(3)
    outcomes = [_choice(g, p, 2, i) for i, (g, p) in enumerate([(1, 1), (1, 0), (0, 0), (0, 0)])]
    assert get_metric("f1_macro").aggregate(outcomes, [], 0).value == pytest.approx((0.8 + 2 / 3) / 2)
    assert get_metric("mcc").aggregate(outcomes, [], 0).value == pytest.approx(1 / math.sqrt(3))


def _task(name: str, groups: list[str], acc: float, n: int, stderr: float, method: str = "mean") -> TaskResult:
    value = MetricValue(value=acc, stderr=stderr, n=n, method=method)
    return TaskResult(name=name, version="1", output_type="multiple_choice", groups=groups, metrics={"acc": value},
                      dataset=DatasetInfo(source="s", fingerprint="f", rows_total=n, rows_used=n), seconds=0)


def test_group_scores_are_weighted_by_items_with_lm_evals_pooled_stderr():
    tasks = {"a": _task("a", ["g", "solo"], 0.5, 100, 0.05), "b": _task("b", ["g"], 0.8, 300, 0.02),
             "c": _task("c", ["h"], 0.1, 10, 0.1), "d": _task("d", ["h"], 30.0, 10, 1.0, method="bootstrap")}
    groups = group_metrics(tasks)
    assert set(groups) == {"g"}  # "solo" has one task; "h" shares no mean metric
    assert groups["g"]["acc"].value == pytest.approx((0.5 * 100 + 0.8 * 300) / 400)
    assert groups["g"]["acc"].n == 400
    expected = math.sqrt((99 * 100 * 0.05 ** 2 + 299 * 300 * 0.02 ** 2) / (400 - 2) / 400)
    assert groups["g"]["acc"].stderr == pytest.approx(expected)


def test_pooled_stderr_matches_lm_eval():
    from lm_eval.api.metrics import pooled_sample_stderr

    assert pooled_stderr([0.05, 0.02, 0.1], [100, 300, 57]) == pytest.approx(
        pooled_sample_stderr([0.05, 0.02, 0.1], [100, 300, 57]))


def test_rolling_windows_equal_lm_evals():
    from lm_eval.utils import get_rolling_token_windows, make_disjoint_window

    rnd = random.Random(0)
    for n in (0, 1, 7, 8, 9, 16, 17, 100):
        for max_length in (1, 2, 8):
            tokens = [rnd.randrange(50) for _ in range(n)]
            expected = [make_disjoint_window(w) for w in get_rolling_token_windows(tokens, -1, max_length, 1)]
            windows = rolling_windows(tokens, -1, max_length)
            assert windows == expected
            assert [t for _, cont in windows for t in cont] == tokens  # every token scored once
            assert all(len(c) + len(t) <= max_length + 1 for c, t in windows)


def test_documents_start_at_top_level_headings():
    rows = [{"text": ""}, {"text": " = A = \n"}, {"text": ""}, {"text": " x \n"}, {"text": " = = Sub = = \n"},
            {"text": " y \n"}, {"text": " = B = \n"}, {"text": " z \n"}]
    docs = join_documents(rows, DocumentsSpec(start=" = [^=].* = $"), "t")
    assert docs == [{"page": " = A = \n\n x \n = = Sub = = \n y "}, {"page": " = B = \n z "}]
    with pytest.raises(DataError, match="row 0, field 'text'"):
        join_documents([{"text": 3}], DocumentsSpec(start="x"), "t")


def test_regex_replace_filter_is_data_only():
    assert render_text("{{ x | regex_replace('\\\\[.*?\\\\]', '') }}", {"x": "a [b] c [d]"}, "t") == "a  c "
    assert render_value("{{ x | regex_replace('(a+)', '<\\\\1>') }}", {"x": "caab"}, "t") == "c<aa>b"
    with pytest.raises(DataError, match="error"):
        render_text("{{ x | regex_replace('(', '') }}", {"x": "a"}, "t")
    with pytest.raises(DataError, match="unsafe"):
        render_text("{{ (x | regex_replace('a', '')).__class__.__mro__ }}", {"x": "a"}, "t")
