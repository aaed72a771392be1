"""Prompt templates: Jinja2 in a sandbox, so a task file can format rows but never run code, and with
resource limits (harness.tasks.sandbox), so it cannot exhaust the machine either."""
from __future__ import annotations

import re
from functools import lru_cache
from itertools import chain, islice
from typing import Any

from jinja2 import StrictUndefined, TemplateError, Undefined
from jinja2.nativetypes import NativeEnvironment, NativeTemplate

from harness.errors import DataError
from harness.tasks.sandbox import LimitedSandbox, check_output, limited_sub, render_budget


def _concat(values):
    # Unlike Jinja's native_concat, never literal_eval a string: a reference "1e3" stays text.
    head = list(islice(values, 2))
    if not head:
        return None
    if len(head) == 1:
        if isinstance(head[0], Undefined):
            str(head[0])  # StrictUndefined raises here: a missing field is an error, not a value
        return head[0]
    return "".join(str(v) for v in chain(head, values))


class _SandboxedNative(LimitedSandbox, NativeEnvironment):
    """Renders `{{ choices.text }}` to the list itself, not to its string form."""

    concat = staticmethod(_concat)


class _NativeTemplate(NativeTemplate):
    environment_class = _SandboxedNative


_SandboxedNative.template_class = _NativeTemplate


_MAX_PATTERN = 200


def regex_replace(value: Any, pattern: str, replacement: str = "") -> str:
    """`re.sub(pattern, replacement, value)`: what lm-eval's Python preprocessing does with `re.sub`
    (hellaswag's `re.sub("\\[.*?\\]", "", text)`, wikitext's detokenizer). Data only, no code: the
    replacement may name groups (`\\1`) but never calls anything."""
    if len(pattern) > _MAX_PATTERN:
        raise ValueError(f"regex_replace: pattern longer than {_MAX_PATTERN} characters")
    return limited_sub(pattern, replacement, str(value))


_FILTERS = {"regex_replace": regex_replace}
"""Custom filters, on top of Jinja's built-ins (trim, replace, map, ...). Pure functions of their arguments."""

_TEXT = LimitedSandbox(undefined=StrictUndefined, keep_trailing_newline=True)
_NATIVE = _SandboxedNative(undefined=StrictUndefined, keep_trailing_newline=True)
for _env in (_TEXT, _NATIVE):
    _env.filters.update(_FILTERS)


@lru_cache(maxsize=512)
def _compile(source: str, native: bool):
    return (_NATIVE if native else _TEXT).from_string(source)


def render_text(source: str, row: dict[str, Any], where: str) -> str:
    """Render a template to a string; `where` names the task and field for error messages."""
    try:
        with render_budget():
            return check_output(_compile(source, False).render(**row))
    except TemplateError as exc:
        raise DataError(f"{where}: {_explain(exc, row)}") from None
    except (ValueError, re.error) as exc:
        raise DataError(f"{where}: {type(exc).__name__}: {exc}") from None


def render_value(source: str | int | list, row: dict[str, Any], where: str) -> Any:
    """Render a template to a Python value (a list of choices, an index, a string).

    A list renders element by element; a non-string passes through unchanged.
    """
    if isinstance(source, list):
        return [render_value(item, row, where) for item in source]
    if not isinstance(source, str):
        return source
    if "{{" not in source and "{%" not in source:
        return source
    try:
        with render_budget():
            return check_output(_compile(source, True).render(**row))
    except TemplateError as exc:
        raise DataError(f"{where}: {_explain(exc, row)}") from None
    except (ValueError, IndexError, KeyError, TypeError, re.error) as exc:
        raise DataError(f"{where}: {type(exc).__name__}: {exc}") from None


def _explain(exc: TemplateError, row: dict[str, Any]) -> str:
    message = str(exc)
    if "is undefined" in message:
        return f"{message} (the row has fields: {', '.join(sorted(row)) or 'none'})"
    return message
