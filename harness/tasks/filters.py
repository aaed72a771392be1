"""Named answer filters: what a task does to a model's output before a metric scores it.

A task file names a chain of them per filter set, as lm-eval's `filter_list` does:

    filters:
      strict-match:
        - {function: regex, regex_pattern: "The answer is (\\-?[0-9\\.\\,]+).", group_select: 0}
        - {function: take_first}

Each step maps an item's list of responses (one per generation: a task with `repeats: N` has N) to a new
list; `take_first` keeps the first, `majority_vote` the most common (maj@k, as lm-eval's
gsm8k-cot-self-consistency: regex, then take_first_k k, then majority_vote, then take_first). Every metric is then reported once per filter set, as `METRIC,FILTER` (lm-eval's
`exact_match,strict-match`), and samples.jsonl keeps the raw response and each filter set's output.
A task file still never runs code: it can only pick functions from FILTERS, with data as options.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

Step = Callable[[list[str]], list[str]]


def regex(regex_pattern: str = r"#### (\-?[0-9\.\,]+)", group_select: int = 0,
          fallback: str = "[invalid]") -> Step:
    """lm-eval's `regex` filter: the `group_select`-th match of the pattern in each response (re.findall;
    with several groups, the first non-empty group of that match), stripped; `fallback` when none matches."""
    pattern = re.compile(regex_pattern)

    def apply(responses: list[str]) -> list[str]:
        out = []
        for response in responses:
            found = pattern.findall(response if isinstance(response, str) else "")
            if not found:
                out.append(fallback)
                continue
            match = found[group_select]
            if isinstance(match, tuple):
                match = next((m for m in match if m), fallback)
            out.append(match.strip())
        return out

    return apply


def take_first() -> Step:
    """lm-eval's `take_first`: the first response only (what greedy, single-sample scoring uses)."""
    return lambda responses: responses[:1]


def take_first_k(k: int) -> Step:
    """lm-eval's `take_first_k`: the first `k` responses (maj@k over the first k of n samples)."""
    if not isinstance(k, int) or k < 1:
        raise TypeError(f"k must be a positive integer, got {k!r}")
    return lambda responses: responses[:k]


def majority_vote() -> Step:
    """lm-eval's `majority_vote`: the most common response, as a one-element list; a tie goes to the
    answer seen first (collections.Counter.most_common, as lm-eval). No responses give []."""
    from collections import Counter

    return lambda responses: [Counter(responses).most_common(1)[0][0]] if responses else []


def strip_reasoning(end: str = "</think>", start: str | None = None) -> Step:
    """A reasoning model's thinking removed before extraction: the text after the last `end` marker,
    leading whitespace removed; a response without `end` is kept whole (both as lm-eval's
    `think_end_token`). With `start` given (e.g. "<think>"), a response that opens a reasoning block and
    never ends it becomes "" instead: its answer was never written."""

    def apply(responses: list[str]) -> list[str]:
        out = []
        for response in responses:
            if end in response:
                out.append(response.rsplit(end, 1)[1].lstrip())
            elif start and response.lstrip().startswith(start):
                out.append("")
            else:
                out.append(response)
        return out

    return apply


def cut_at(marker: str) -> Step:
    """Each response up to the first `marker`, whole when it has none: the code of a chat answer that
    closes its Markdown block (lm-eval's humaneval_instruct cuts at the first "```")."""
    if not isinstance(marker, str) or not marker:
        raise TypeError(f"marker must be non-empty text, got {marker!r}")
    return lambda responses: [r.split(marker, 1)[0] for r in responses]


FILTERS: dict[str, Callable[..., Step]] = {"regex": regex, "take_first": take_first, "take_first_k": take_first_k,
                                           "majority_vote": majority_vote, "strip_reasoning": strip_reasoning,
                                           "cut_at": cut_at}


def build_chain(steps: Sequence[dict[str, Any]], where: str) -> Step:
    """One filter set's steps as one function; an unknown function or a bad option is a ValueError naming
    `where` (the task's field), the step and the value."""
    built = []
    for k, step in enumerate(steps):
        options = dict(step)
        name = options.pop("function", None)
        if name not in FILTERS:
            raise ValueError(f"{where}, step {k}: unknown filter function {name!r} "
                             f"(known: {', '.join(sorted(FILTERS))})")
        try:
            built.append(FILTERS[name](**options))
        except TypeError as exc:
            raise ValueError(f"{where}, step {k} ({name}): bad options {options}: {exc}") from None
        except re.error as exc:
            raise ValueError(f"{where}, step {k} ({name}): bad regex_pattern {options.get('regex_pattern')!r}: "
                             f"{exc}") from None

    def chain(responses: list[str]) -> list[str]:
        for apply in built:
            responses = apply(responses)
        return responses

    return chain
