"""From dataset rows to Items: the rendered prompt (with few-shot examples), requests, gold and references."""
from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.errors import DataError, TaskError
from harness.requests import Loglikelihood, Request, Rolling
from harness.tasks.context import Message, PromptFormat, join_delimited, render
from harness.tasks.schema import TaskSpec
from harness.tasks.templates import render_text, render_value


@dataclass(frozen=True)
class Item:
    """One evaluation item of a task, ready to send to a model."""

    index: int
    sample_id: str
    row: dict[str, Any]
    prompt: str
    requests: tuple[Request, ...]
    choices: tuple[str, ...] | None = None
    gold: int | None = None
    references: tuple[str, ...] | None = None

    @property
    def prompt_hash(self) -> str:
        """Changes whenever what the model is asked changes (prompt, choices or generation settings)."""
        return hashlib.sha256(repr(self.requests).encode()).hexdigest()[:16]


def render_choices(spec: TaskSpec, row: dict, where: str) -> list[str]:
    choices = render_value(spec.choices, row, f"{where}, field 'choices'")
    if not isinstance(choices, (list, tuple)) or not choices:
        raise DataError(f"{where}, field 'choices': expected a non-empty list, got {choices!r}")
    return [str(c) for c in choices]


def render_gold(spec: TaskSpec, row: dict, choices: Sequence[str], where: str) -> int:
    """The gold choice index: an int, a digit string, or the text of a choice."""
    value = render_value(spec.target, row, f"{where}, field 'target'")
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise DataError(f"{where}, field 'target': expected a choice index or choice text, got {value!r}")
    if isinstance(value, str):
        if value not in choices:
            raise DataError(f"{where}, field 'target': {value!r} is not one of the choices {list(choices)}")
        return list(choices).index(value)
    if not 0 <= value < len(choices):
        raise DataError(f"{where}, field 'target': index {value} is out of range for {len(choices)} choices")
    return value


def render_references(spec: TaskSpec, row: dict, where: str) -> list[str]:
    value = render_value(spec.target, row, f"{where}, field 'target'")
    refs = value if isinstance(value, (list, tuple)) else [value]
    if not refs or any(r is None for r in refs):
        raise DataError(f"{where}, field 'target': no reference text ({value!r})")
    return [str(r) for r in refs]


def target_text(spec: TaskSpec, row: dict, where: str) -> str:
    """What follows the prompt in a few-shot example: the gold choice or the first reference."""
    if spec.output_type == "multiple_choice":
        choices = render_choices(spec, row, where)
        return choices[render_gold(spec, row, choices, where)]
    return render_references(spec, row, where)[0]


class FewshotSampler:
    """k examples a document, from one split, with a fixed seed (lm-eval's sampler behaviour).

    `random` draws with one Random(seed) per task, in document order; when the few-shot split is the
    evaluation split, k+1 are drawn and the document itself is dropped. `first_n` takes the first k.
    """

    def __init__(self, pool: list[dict], k: int, seed: int, sampler: str, same_split: bool) -> None:
        self.pool, self.k, self.sampler, self.same_split = pool, k, sampler, same_split
        self.rnd = random.Random(seed)
        if k > len(pool) - (1 if same_split else 0):
            if same_split:  # an item is never its own example
                raise DataError(f"{k}-shot needs {k} examples besides each item, but the few-shot split is the "
                                f"evaluation split and has {len(pool)} rows, so only {len(pool) - 1} are left")
            raise DataError(f"{k}-shot needs {k} examples but the few-shot split has only {len(pool)}")

    def examples(self, row: dict) -> list[dict]:
        if self.k == 0:
            return []
        if self.sampler == "first_n":
            picked = [r for r in self.pool if not (self.same_split and r is row)][: self.k]
            return picked
        picked = self.rnd.sample(self.pool, self.k + (1 if self.same_split else 0))
        return [r for r in picked if r is not row][: self.k]


def build_items(spec: TaskSpec, rows: Sequence[dict], sampler: FewshotSampler | None = None,
                form: PromptFormat | None = None, seed: int = 1234) -> list[Item]:
    """Render every row into an Item; the first bad row raises DataError naming task, row and field.

    `form` says how the context is rendered (plain text by default; a chat format under
    --apply-chat-template, with a system instruction: harness.tasks.context). `seed` fixes the draws of
    a task that samples its generations.
    """
    items = []
    for index, row in enumerate(rows):
        where = f"task {spec.name}, row {index}"
        items.append(_build_item(spec, index, row, sampler, where, form, seed))
    return items


def _context(spec: TaskSpec, row: dict, sampler: FewshotSampler | None, form: PromptFormat | None,
             where: str) -> str:
    """lm-eval's context (harness.tasks.context): system instruction and preamble (its `description`), k
    solved examples, the item's prompt. With a `continuation`, an example's prompt is prompt + gold choice
    and its answer the continuation."""
    preamble = render_text(spec.preamble, row, f"task {spec.name}, field 'preamble'") if spec.preamble else ""
    system = join_delimited(form.system_instruction if form else None, preamble, spec.fewshot_delimiter)
    messages = [Message("system", system)] if system else []
    for n, example in enumerate(sampler.examples(row) if sampler is not None and sampler.k else []):
        shot = f"task {spec.name}, few-shot example {n}"
        text = render_text(spec.prompt, example, f"{shot}, field 'prompt'")
        if spec.continuation is not None:
            text, answer = text + target_text(spec, example, shot), _continuation(spec, example, shot)
        else:
            answer = target_text(spec, example, shot)
        opening = _answer_prefix(spec, example, shot)
        delimiter = spec.target_delimiter if not opening or _needs_delimiter(text, opening) else ""
        messages += [Message("user", text, delimiter),
                     Message("assistant", join_delimited(opening, answer, " "), spec.fewshot_delimiter)]
    text = render_text(spec.prompt, row, f"{where}, field 'prompt'")
    opening = _answer_prefix(spec, row, where)
    if opening:  # the model continues the assistant's answer from this prefix
        messages += [Message("user", text, spec.target_delimiter if _needs_delimiter(text, opening) else ""),
                     Message("assistant", opening)]
    else:
        messages.append(Message("user", text))
    plain = render(messages, None)
    if not plain or spec.output_type == "loglikelihood_rolling":  # a text scored whole is never a chat turn
        return plain
    return render(messages, form)


def _answer_prefix(spec: TaskSpec, row: dict, where: str) -> str:
    """The task's answer prefix rendered for `row` ("" when the task has none)."""
    return render_text(spec.answer_prefix, row, f"{where}, field 'answer_prefix'") if spec.answer_prefix else ""


def _needs_delimiter(prefix: str, suffix: str) -> bool:
    """lm-eval's `requires_delimiter`: neither side has whitespace at the join (and `prefix` is not empty)."""
    return bool(prefix) and not (prefix[-1].isspace() or suffix[0].isspace())


def _continuation(spec: TaskSpec, row: dict, where: str) -> str:
    value = render_value(spec.continuation, row, f"{where}, field 'continuation'")
    if not isinstance(value, str):
        raise DataError(f"{where}, field 'continuation': expected text, got {value!r}")
    return value


def _build_item(spec: TaskSpec, index: int, row: dict, sampler: FewshotSampler | None, where: str,
                form: PromptFormat | None, seed: int) -> Item:
    sample_id = str(row.get(spec.doc_id, index)) if spec.doc_id else str(index)
    if spec.doc_id and spec.doc_id not in row:
        raise DataError(f"{where}, field '{spec.doc_id}' (doc_id): missing from the row")
    prompt = _context(spec, row, sampler, form, where)
    # in a chat format the answer opens the assistant's turn, so no delimiter goes before it (as lm-eval)
    delimiter = "" if form is not None and form.chat is not None else spec.target_delimiter
    kind = spec.output_type
    if kind == "dialogue":  # multi-turn: each turn's prompt needs the model's previous answer
        raise TaskError(f"task {spec.name}: a dialogue task runs through harness.tasks.dialogue.run_dialogue, "
                        "not as single requests")
    if kind == "multiple_choice":
        choices = render_choices(spec, row, where)
        gold = render_gold(spec, row, choices, where)
        if spec.continuation is not None:  # the choice completes the context; the common rest is scored
            rest = delimiter + _continuation(spec, row, where)
            requests = tuple(Loglikelihood(prompt + c, rest) for c in choices)
        else:
            requests = tuple(Loglikelihood(prompt, delimiter + c) for c in choices)
        return Item(index, sample_id, row, prompt, requests, choices=tuple(choices), gold=gold)
    if kind == "generate":
        from harness.tasks.sampling import generation_requests

        refs = render_references(spec, row, where)
        return Item(index, sample_id, row, prompt, generation_requests(spec, prompt, seed), references=tuple(refs))
    if kind == "loglikelihood":
        refs = render_references(spec, row, where)
        return Item(index, sample_id, row, prompt, (Loglikelihood(prompt, spec.target_delimiter + refs[0]),),
                    references=tuple(refs))
    return Item(index, sample_id, row, prompt, (Rolling(prompt),))
