"""Bounds on rendering one rule template: how much it may loop, compute and produce, and for how long.

Rule templates render at every reload (lint renders each against a sample alert) and for every
matched alert, so a template such as two nested ``range(100000)`` loops, ``"x" * 10**9`` or a
chain of ``{% set %}`` doublings must fail fast instead of hanging the service or exhausting its
memory. ``rules.templating`` routes every step that can grow work or size through this module:

- ``range()`` gives at most ``MAX_RANGE`` items, and all ``{% for %}`` loops of one render together
  at most ``MAX_LOOP_ITERATIONS`` iterations (``loop`` wraps each loop's iterable);
- every filter, call, ``~`` concatenation, intercepted operator (``+ * ** %``) and output counts as
  a step (at most ``MAX_STEPS``), is refused beforehand when its result would be too large, and has
  its result checked: no value may weigh more than ``MAX_VALUE_CHARS``, no integer have more than
  ``MAX_INT_BITS`` bits;
- the rendered text is at most ``MAX_OUTPUT_CHARS``, and a render stops after ``TIME_LIMIT_S``.

Each limit raises ``RuleRenderError`` saying which one, so lint reports it at the template's line.
"""

from __future__ import annotations

import contextvars
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from jinja2.utils import Namespace

from rules.errors import RuleRenderError

__all__ = [
    "MAX_INT_BITS",
    "MAX_LOOP_ITERATIONS",
    "MAX_OUTPUT_CHARS",
    "MAX_RANGE",
    "MAX_STEPS",
    "MAX_TEMPLATE_CHARS",
    "MAX_VALUE_CHARS",
    "TIME_LIMIT_S",
    "Budget",
    "binop",
    "bounded_range",
    "check_printf",
    "check_replace",
    "checked",
    "concat",
    "loop",
    "render_budget",
    "step",
    "weight",
]

#: Longest template source (one rule field).
MAX_TEMPLATE_CHARS = 4096
#: Longest rendered text of one template.
MAX_OUTPUT_CHARS = 32_768
#: Heaviest value a template may build (characters of its strings plus one per item).
MAX_VALUE_CHARS = MAX_OUTPUT_CHARS
#: Items of one ``range()``.
MAX_RANGE = 1000
#: ``{% for %}`` iterations in one render, all loops together.
MAX_LOOP_ITERATIONS = 1000
#: Filters, calls, operators, concatenations and outputs in one render.
MAX_STEPS = 10_000
#: Bits of any integer a template computes.
MAX_INT_BITS = 1024
#: Wall-clock bound of one render, in seconds; the counts above make it a backstop only.
TIME_LIMIT_S = 2.0


class Budget:
    """What one render has used so far."""

    __slots__ = ("deadline", "emitted", "iterations", "steps", "time_limit_s")

    def __init__(self, time_limit_s: float) -> None:
        self.time_limit_s = time_limit_s
        self.deadline = time.monotonic() + time_limit_s
        self.steps = 0
        self.iterations = 0
        self.emitted = 0

    def step(self) -> None:
        """Count one step; raise when the steps or the time are used up."""
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise RuleRenderError(
                f"the template takes more than {MAX_STEPS} steps (filters, calls, operators)"
            )
        if time.monotonic() > self.deadline:
            raise RuleRenderError(f"the template took longer than {self.time_limit_s:g}s to render")

    def iteration(self) -> None:
        """Count one loop iteration."""
        self.iterations += 1
        if self.iterations > MAX_LOOP_ITERATIONS:
            raise RuleRenderError(
                f"the template's loops run more than {MAX_LOOP_ITERATIONS} iterations in all"
            )
        self.step()

    def emit(self, chars: int) -> None:
        """Count ``chars`` characters of output."""
        self.emitted += chars
        if self.emitted > MAX_OUTPUT_CHARS:
            raise RuleRenderError(f"the template renders more than {MAX_OUTPUT_CHARS} characters")


_BUDGET: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("rule_render_budget", default=None)


@contextmanager
def render_budget(time_limit_s: float = TIME_LIMIT_S) -> Iterator[Budget]:
    """Make a fresh ``Budget`` the current one for the renders inside the ``with`` block."""
    budget = Budget(time_limit_s)
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


def step() -> None:
    """Count one step of the current render (no-op outside a render, e.g. when Jinja folds constants)."""
    budget = _BUDGET.get()
    if budget is not None:
        budget.step()


def weight(value: object, limit: int = MAX_VALUE_CHARS) -> int:
    """Characters of the strings in ``value`` plus one per item; stops counting once over ``limit``.

    Containers are walked, so that a list holding one long string a thousand times weighs what it
    would print as. Other objects weigh 1 (integers are bounded by ``MAX_INT_BITS`` instead).
    """
    total = 0
    pending: list[object] = [value]
    while pending:
        item = pending.pop()
        total += 1
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, list | tuple | set | frozenset):
            total += len(item)
            if total > limit:
                return total
            pending.extend(item)
        elif isinstance(item, Mapping):
            total += len(item)
            if total > limit:
                return total
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, Namespace):
            pending.append(item._Namespace__attrs)  # its only state
        if total > limit:
            return total
    return total


def checked(value: Any, what: str = "a value") -> Any:
    """``value`` when it is within the size bounds; raises ``RuleRenderError`` otherwise."""
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise RuleRenderError(f"{what} is an integer of more than {MAX_INT_BITS} bits")
    if weight(value) > MAX_VALUE_CHARS:
        raise RuleRenderError(f"{what} is larger than {MAX_VALUE_CHARS} characters")
    return value


def bounded_range(*args: int) -> range:
    """``range()`` for templates: at most ``MAX_RANGE`` items."""
    step()
    numbers = range(*args)
    try:
        count = len(numbers)
    except OverflowError:
        count = MAX_RANGE + 1
    if count > MAX_RANGE:
        raise RuleRenderError(f"range() of {count} items: rule templates may use at most {MAX_RANGE}")
    return numbers


def loop(iterable: Iterable[Any]) -> Iterator[Any]:
    """The iterable of a ``{% for %}`` loop, counted against the render's iteration budget."""
    budget = _BUDGET.get()
    for item in iterable:
        if budget is not None:
            budget.iteration()
        yield item


def concat(values: tuple[Any, ...]) -> str:
    """The ``~`` operator, refusing a result over ``MAX_VALUE_CHARS``."""
    step()
    parts = []
    total = 0
    for value in values:
        text = str(checked(value))
        total += len(text)
        if total > MAX_VALUE_CHARS:
            raise RuleRenderError(f"a ~ concatenation is larger than {MAX_VALUE_CHARS} characters")
        parts.append(text)
    return "".join(parts)


def _int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def binop(operator: str, left: Any, right: Any, apply: Callable[[Any, Any], Any]) -> Any:
    """Apply ``left <operator> right`` for an intercepted operator, refusing oversized results first."""
    step()
    checked(left)
    checked(right)
    if operator == "*":
        for sequence, times in ((left, right), (right, left)):
            repeated = isinstance(sequence, str | list | tuple) and _int(times) and times > 0
            if repeated and (weight(sequence) - 1) * times > MAX_VALUE_CHARS:
                raise RuleRenderError(f"a * repetition is larger than {MAX_VALUE_CHARS} characters")
        if _int(left) and _int(right) and left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise RuleRenderError(f"a * product is an integer of more than {MAX_INT_BITS} bits")
    elif operator == "**":
        large = _int(left) and _int(right) and right > 0 and abs(left) > 1
        if large and (abs(left).bit_length() - 1) * right > MAX_INT_BITS:
            raise RuleRenderError(f"a ** power is an integer of more than {MAX_INT_BITS} bits")
    elif operator == "%" and isinstance(left, str):
        check_printf(left, right)
    elif operator == "+" and weight(left) + weight(right) > MAX_VALUE_CHARS:
        raise RuleRenderError(f"a + sum is larger than {MAX_VALUE_CHARS} characters")
    return checked(apply(left, right), f"the result of {operator}")


# %[(key)][flags][width][.precision][length]type
_CONVERSION = re.compile(r"%(?:\([^)]*\))?[-+ #0]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")


def check_printf(template: str, values: object) -> None:
    """Refuse a ``%``-format whose widths, precisions or arguments could make an oversized string."""
    conversions = 0
    for found in _CONVERSION.finditer(template):
        conversions += 1
        for size in found.groups():
            if size == "*":
                raise RuleRenderError("a % format may not take its width or precision from an argument (*)")
            if size is not None and int(size) > MAX_VALUE_CHARS:
                raise RuleRenderError(f"a % format width or precision is over {MAX_VALUE_CHARS}")
    if len(template) + conversions * weight(values) > MAX_VALUE_CHARS:
        raise RuleRenderError(f"a % format result would be larger than {MAX_VALUE_CHARS} characters")


def check_replace(text: str, old: object, new: object, count: object = None) -> None:
    """Refuse a ``replace`` whose result would be larger than ``MAX_VALUE_CHARS``."""
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        return
    found = len(text) + 1 if old == "" else text.count(old)
    if isinstance(count, int) and not isinstance(count, bool) and 0 <= count < found:
        found = count
    if len(text) + found * (len(new) - len(old)) > MAX_VALUE_CHARS:
        raise RuleRenderError(f"a replace() result would be larger than {MAX_VALUE_CHARS} characters")
