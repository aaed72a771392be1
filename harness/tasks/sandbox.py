"""The Jinja sandbox templates render in, with resource limits: a task file can neither run code nor
exhaust the machine.

Jinja's own sandbox stops attribute tricks and caps `range()`; it does not cap what a template builds. Here a
render may loop at most `MAX_LOOP_ITERATIONS` times in all (every `{% for %}` counts), build no text or
list longer than `MAX_SIZE` (by `*`, `+`, `%`, `format`, `replace`, padding), raise no integer beyond
`MAX_INT_BITS` bits (`**`, `*`), and produce at most `MAX_SIZE` characters. `regex_replace` gets
`REGEX_TIMEOUT_S` per call. Breaking a limit raises TemplateLimitError, which names the limit.
"""
from __future__ import annotations

import contextvars
import math
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import update_wrapper
from typing import Any

import regex
from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment, SandboxedFormatter

MAX_LOOP_ITERATIONS = 100_000
MAX_SIZE = 1_000_000
MAX_INT_BITS = 4096
REGEX_TIMEOUT_S = 1.0
_LOOP_GUARD = "_evalh_loop_guard"
_PERCENT_SPEC = re.compile(r"%[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_STR_PADDING = {"center", "ljust", "rjust", "zfill", "expandtabs"}


class TemplateLimitError(ValueError):
    """A template went past one of the sandbox's resource limits."""


class _Budget:
    def __init__(self) -> None:
        self.iterations = 0

    def step(self) -> None:
        self.iterations += 1
        if self.iterations > MAX_LOOP_ITERATIONS:
            raise TemplateLimitError(f"more than {MAX_LOOP_ITERATIONS} loop iterations in one render")


_BUDGET: contextvars.ContextVar[_Budget] = contextvars.ContextVar("evalh_template_budget")


@contextmanager
def render_budget() -> Iterator[None]:
    """A fresh loop budget for one render."""
    token = _BUDGET.set(_Budget())
    try:
        yield
    finally:
        _BUDGET.reset(token)


def check_output(value: Any) -> Any:
    """`value`, when a rendered text is within MAX_SIZE characters."""
    if isinstance(value, str) and len(value) > MAX_SIZE:
        raise TemplateLimitError(f"rendered text longer than {MAX_SIZE} characters")
    return value


def _loop_guard(iterable: Iterable) -> Iterator:
    budget = _BUDGET.get(None) or _Budget()
    for item in iterable:
        budget.step()
        yield item


def _sized(value: Any) -> Any:
    if isinstance(value, (str, list, tuple)) and len(value) > MAX_SIZE:
        raise TemplateLimitError(f"a value longer than {MAX_SIZE} items or characters")
    return value


def _check_int(value: Any) -> Any:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise TemplateLimitError(f"an integer of more than {MAX_INT_BITS} bits")
    return value


def _check_width(width: Any) -> None:
    if isinstance(width, int) and width > MAX_SIZE:
        raise TemplateLimitError(f"a width or precision of {width} (at most {MAX_SIZE})")


def _check_percent(fmt: str, args: Any) -> None:
    for match in _PERCENT_SPEC.finditer(fmt):
        for part in match.groups():
            if part and part.isdigit():
                _check_width(int(part))
    for arg in args if isinstance(args, tuple) else (args,):
        if "*" in fmt:
            _check_width(arg)


def _power(base: Any, exponent: Any) -> Any:
    if isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1 and exponent > 0:
        if exponent * math.log2(abs(base)) > MAX_INT_BITS:
            raise TemplateLimitError(f"{base} ** {exponent} has more than {MAX_INT_BITS} bits")
    return base ** exponent


def _times(left: Any, right: Any) -> Any:
    for seq, n in ((left, right), (right, left)):
        if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and len(seq) * n > MAX_SIZE:
            raise TemplateLimitError(f"a value of {len(seq)} x {n} items or characters (at most {MAX_SIZE})")
    if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > MAX_INT_BITS:
        raise TemplateLimitError(f"an integer of more than {MAX_INT_BITS} bits")
    return left * right


def _plus(left: Any, right: Any) -> Any:
    if isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
        if len(left) + len(right) > MAX_SIZE:
            raise TemplateLimitError(f"a value longer than {MAX_SIZE} items or characters")
    return _check_int(left + right)


def _modulo(left: Any, right: Any) -> Any:
    if isinstance(left, str):
        _check_percent(left, right)
    return _sized(left % right)


def _replace_size(value: str, old: str, new: str, count: int = -1) -> None:
    hits = value.count(old) if old else len(value) + 1
    if count is not None and count >= 0:
        hits = min(hits, count)
    if len(value) + hits * (len(new) - len(old)) > MAX_SIZE:
        raise TemplateLimitError(f"replace would make a text longer than {MAX_SIZE} characters")


class _LimitedFormatter(SandboxedFormatter):
    def format_field(self, value: Any, format_spec: str) -> Any:
        for number in re.findall(r"\d+", format_spec):
            _check_width(int(number))
        return super().format_field(value, format_spec)


class LimitedSandbox(SandboxedEnvironment):
    """Jinja's sandbox with the resource limits above."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.globals[_LOOP_GUARD] = _loop_guard
        self.binop_table.update({"*": _times, "**": _power, "+": _plus, "%": _modulo})
        self.filters.update({"format": _format_filter, "center": _padding_filter(self.filters["center"]),
                             "indent": _padding_filter(self.filters["indent"]),
                             "replace": _replace_filter(self.filters["replace"])})

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        """The parsed template, every `{% for %}` iterating through the loop guard (before the compiler
        tracks names, so the guard resolves as a global)."""
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            guard = nodes.Name(_LOOP_GUARD, "load", lineno=loop.lineno)
            loop.iter = nodes.Call(guard, [loop.iter], [], None, None, lineno=loop.lineno)
        return tree

    def format_string(self, s: str, args: tuple, kwargs: dict, format_func: Any = None) -> str:
        formatter = _LimitedFormatter(self)
        if format_func is not None and format_func.__name__ == "format_map":
            if len(args) != 1 or kwargs:
                raise TypeError("format_map() takes exactly one argument")
            kwargs, args = args[0], ()
        return _sized(formatter.vformat(s, args, kwargs))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - Jinja's signature
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            name = getattr(__obj, "__name__", "")
            if name in _STR_PADDING:
                tabs = max(1, owner.count("\t")) if name == "expandtabs" else 1
                for arg in (*args, *kwargs.values()):
                    _check_width(arg * tabs if isinstance(arg, int) else arg)
            elif name == "replace" and len(args) >= 2:
                _replace_size(owner, str(args[0]), str(args[1]), *args[2:3])
        return _check_int(super().call(__context, __obj, *args, **kwargs))

    def getattr(self, obj: Any, attribute: str) -> Any:
        value = super().getattr(obj, attribute)
        if isinstance(obj, str) and attribute in ("format", "format_map") and callable(value):
            return update_wrapper(lambda *a, **k: self.format_string(obj, a, k, value), value)
        return value


def _format_filter(value: Any, *args: Any, **kwargs: Any) -> str:
    if args and kwargs:
        raise TypeError("format can't handle positional and keyword arguments at the same time")
    params = kwargs or args
    _check_percent(str(value), params)
    return _sized(str(value) % params)


def _padding_filter(original: Any) -> Any:
    def checked(value: Any, width: Any = 80, *args: Any, **kwargs: Any) -> Any:
        _check_width(width if isinstance(width, int) else len(str(width)) * str(value).count("\n"))
        return original(value, width, *args, **kwargs)
    return update_wrapper(checked, original)


def _replace_filter(original: Any) -> Any:
    def checked(eval_ctx: Any, value: Any, old: Any, new: Any, count: Any = None) -> Any:
        _replace_size(str(value), str(old), str(new), -1 if count is None else count)
        return original(eval_ctx, value, old, new, count)
    return update_wrapper(checked, original)


def limited_sub(pattern: str, replacement: str, text: str) -> str:
    """`re.sub` semantics, stopped after REGEX_TIMEOUT_S (a catastrophic pattern would hang)."""
    try:
        return _sized(regex.sub(pattern, replacement, text, timeout=REGEX_TIMEOUT_S))
    except TimeoutError:
        raise TemplateLimitError(f"regex_replace: pattern {pattern!r} ran longer than {REGEX_TIMEOUT_S} s") from None
    except regex.error as exc:
        raise re.error(str(exc)) from None
