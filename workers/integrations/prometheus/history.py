"""Whether a PromQL range function had enough history to mean what it says.

``increase(x[1h])`` over a series first scraped a minute ago counts one minute, and over a series
with one sample it has nothing to count: Prometheus answers 0 or nothing, and the evidence would
contradict the pod's own restart count. This module finds the range selectors of a query, builds
the extra terms that ask Prometheus for each one's sample count and first sample (sent in the same
request as the query), and turns the answer into a note such as
``not enough history yet: 3 sample(s) since 09:25 UTC (range 1h)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

#: The label that marks the history terms' series in a combined answer.
LABEL = "aiops_history"
#: Subquery points per range when asking for the first sample: the first-sample time is known to
#: within range/POINTS, so a series that began in the first 1/POINTS of the range counts as covering it.
POINTS = 60


class Need(StrEnum):
    """What a range function needs before its figure means something."""

    one = "one"  # max_over_time and the like: any sample is a true observation
    two = "two"  # irate, deriv: a slope needs two samples
    coverage = "coverage"  # increase, rate, sum_over_time: counts only what lies inside the range


_NEEDS: dict[str, Need] = {
    **dict.fromkeys(
        ("increase", "rate", "delta", "changes", "resets", "sum_over_time", "count_over_time"), Need.coverage
    ),
    **dict.fromkeys(
        (
            "irate",
            "idelta",
            "deriv",
            "predict_linear",
            "holt_winters",
            "double_exponential_smoothing",
            "stddev_over_time",
            "stdvar_over_time",
        ),
        Need.two,
    ),
    **dict.fromkeys(
        (
            "max_over_time",
            "min_over_time",
            "avg_over_time",
            "last_over_time",
            "present_over_time",
            "quantile_over_time",
            "absent_over_time",
            "mad_over_time",
        ),
        Need.one,
    ),
}
_KEYWORDS = frozenset(
    ("by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", "and", "or", "unless")
)
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_NUMBER = re.compile(r"[0-9.][0-9A-Za-z._]*")
_DURATION_PART = re.compile(r"([0-9]+)(ms|s|m|h|d|w|y)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def duration_seconds(text: str) -> float | None:
    """Seconds in a PromQL duration (``1h30m`` -> 5400.0), or None when ``text`` is not one."""
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(amount + unit for amount, unit in parts) != text:
        return None
    return float(sum(int(amount) * _UNIT_SECONDS[unit] for amount, unit in parts))


@dataclass(frozen=True)
class RangeSelector:
    """One ``selector[range]`` of a query, with the function that reads it."""

    function: str
    selector: str
    range: str
    modifiers: str = ""
    """``offset`` / ``@`` as written after the range, kept so the history asks about the same window."""

    @property
    def need(self) -> Need:
        return _NEEDS.get(self.function, Need.coverage)

    @property
    def seconds(self) -> float:
        return duration_seconds(self.range) or 0.0

    def window_end(self, now: float) -> float:
        """Where this selector's range ends for a query evaluated at ``now``."""
        end = now
        at = re.search(r"@\s*([0-9.eE+-]+)", self.modifiers)
        if at:
            try:
                end = float(at.group(1))
            except ValueError:
                end = now
        offset = re.search(r"offset\s*(-?)\s*([0-9a-z]+)", self.modifiers)
        if offset:
            shift = duration_seconds(offset.group(2)) or 0.0
            end += shift if offset.group(1) else -shift
        return end


@dataclass(frozen=True)
class _Token:
    kind: str  # ident, number, string, matchers, range, op
    start: int
    end: int
    text: str


def _string_end(query: str, start: int) -> int:
    quote, i = query[start], start + 1
    while i < len(query):
        if query[i] == "\\" and quote != "`":
            i += 2
            continue
        if query[i] == quote:
            return i + 1
        i += 1
    raise ValueError("unterminated string")


def _matchers_end(query: str, start: int) -> int:
    i = start + 1
    while i < len(query):
        if query[i] in "\"'`":
            i = _string_end(query, i)
            continue
        if query[i] == "}":
            return i + 1
        i += 1
    raise ValueError("unterminated label matchers")


def _tokens(query: str) -> list[_Token]:
    tokens, i = [], 0
    while i < len(query):
        char = query[i]
        if char.isspace():
            i += 1
            continue
        if char == "#":
            newline = query.find("\n", i)
            i = len(query) if newline < 0 else newline
            continue
        if char in "\"'`":
            end, kind = _string_end(query, i), "string"
        elif char == "{":
            end, kind = _matchers_end(query, i), "matchers"
        elif char == "[":
            end, kind = query.find("]", i) + 1, "range"
            if end == 0:
                raise ValueError("unterminated range")
        elif found := _IDENT.match(query, i):
            end, kind = found.end(), "ident"
        elif found := _NUMBER.match(query, i):
            end, kind = found.end(), "number"
        else:
            end, kind = i + 1, "op"
        tokens.append(_Token(kind, i, end, query[i:end]))
        i = end
    return tokens


def _modifiers(tokens: list[_Token], index: int, query: str) -> tuple[str, int]:
    """The ``offset``/``@`` modifiers from ``tokens[index]`` on, as written, and the index after them."""
    begin = index
    while index < len(tokens) and (tokens[index].text in ("offset", "@")):
        index += 1
        if index < len(tokens) and tokens[index].text == "-":
            index += 1
        # a duration or timestamp is one token; start() and end() are three
        index += 3 if index < len(tokens) and tokens[index].text in ("start", "end") else 1
    index = min(index, len(tokens))
    if index == begin:
        return "", begin
    return query[tokens[begin].start : tokens[index - 1].end], index


def range_selectors(query: str) -> list[RangeSelector]:
    """Every ``selector[range]`` of ``query`` (subqueries excluded); [] when the query cannot be read."""
    try:
        tokens = _tokens(query)
    except ValueError:
        return []
    found: list[RangeSelector] = []
    functions: list[str] = []  # the function of each open parenthesis
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.text == "(":
            before = tokens[index - 1] if index else None
            named = before is not None and before.kind == "ident" and before.text not in _KEYWORDS
            functions.append(before.text if named and before else "")
        elif token.text == ")" and functions:
            functions.pop()
        elif token.kind == "range" and ":" not in token.text and index:
            before = tokens[index - 1]
            start = None
            if before.kind == "matchers":
                start = before.start
                name = tokens[index - 2] if index >= 2 else None
                if name is not None and name.kind == "ident" and name.text not in _KEYWORDS:
                    start = name.start
            elif before.kind == "ident" and before.text not in _KEYWORDS:
                start = before.start
            if start is not None:
                modifiers, after = _modifiers(tokens, index + 1, query)
                found.append(
                    RangeSelector(
                        function=functions[-1] if functions else "",
                        selector=query[start : before.end],
                        range=token.text[1:-1].strip(),
                        modifiers=modifiers,
                    )
                )
                index = after
                continue
        index += 1
    return found


def checked(query: str) -> list[RangeSelector]:
    """The range selectors of ``query`` whose figure depends on how much history they had."""
    return [
        s
        for s in range_selectors(query)
        if s.function and s.need is not Need.one and duration_seconds(s.range)  # bare x[5m]: no figure
    ]


def subquery_step(selector: RangeSelector) -> str:
    return f"{max(1, int(selector.seconds // POINTS))}s"


def history_terms(selectors: list[RangeSelector]) -> str:
    """PromQL that answers, per selector i, ``samples:i`` (fewest samples of any matched series in
    the range) and ``first:i`` (the latest first-sample time among them), as series labelled LABEL."""
    terms = []
    for i, sel in enumerate(selectors):
        mods = f" {sel.modifiers}" if sel.modifiers else ""
        samples = f"min(count_over_time({sel.selector}[{sel.range}]{mods}))"
        first = f"max(min_over_time(timestamp({sel.selector})[{sel.range}:{subquery_step(sel)}]{mods}))"
        terms.append(f'label_replace({samples}, "{LABEL}", "samples:{i}", "", "")')
        terms.append(f'label_replace({first}, "{LABEL}", "first:{i}", "", "")')
    return " or ".join(f"({term})" for term in terms)


def combined(query: str, selectors: list[RangeSelector]) -> str:
    """``query`` and its history terms in one expression; split the answer with ``split``."""
    return f"({query}\n) or {history_terms(selectors)}"  # the newline ends a trailing # comment


def split(result: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, float], float | None]:
    """The query's own series, the history figures by name, and the evaluation time."""
    own, figures, now = [], {}, None
    for series in result:
        metric = series.get("metric") or {}
        try:
            at, value = float(series["value"][0]), float(series["value"][1])
        except (KeyError, IndexError, TypeError, ValueError):
            own.append(series)
            continue
        now = at if now is None else now
        if LABEL in metric:
            figures[str(metric[LABEL])] = value
        else:
            own.append(series)
    return own, figures, now


def _clock(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%H:%M UTC")


def assess(selectors: list[RangeSelector], figures: dict[str, float], now: float) -> str | None:
    """A note saying why the figure is not meaningful yet, or None when every range had its history."""
    for i, sel in enumerate(selectors):
        samples = int(figures.get(f"samples:{i}", 0))
        if samples == 0:
            return f"no samples in the {sel.range} range"
        first = figures.get(f"first:{i}", now)  # missing when the only samples came after the last step
        range_start = sel.window_end(now) - sel.seconds
        young = sel.need is Need.coverage and first > range_start + sel.seconds / POINTS + 1
        if samples < 2 or young:
            return f"not enough history yet: {samples} sample(s) since {_clock(first)} (range {sel.range})"
    return None
