"""Sandboxed Jinja templates for rules, the ``promql`` quoting filter, and template lint.

Rule templates are rendered with jinja2's ``ImmutableSandboxedEnvironment`` (no access to
underscore attributes or to methods that change a value), ``StrictUndefined`` (a missing label is
an error, never an empty string) and autoescape off. Alert label values are untrusted input: in a
PromQL query they may appear only through the ``promql`` filter (or ``promql_re``), which turns
any value into one PromQL string literal. ``check_template`` enforces that at load time.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from rules.errors import RuleRenderError

__all__ = [
    "QUOTING_FILTERS",
    "TEMPLATE_VARIABLES",
    "check_template",
    "compile_template",
    "promql_quote",
    "promql_regex_quote",
    "render",
    "template_variables",
]

#: The names a template may use (besides Jinja's own globals such as ``range``).
TEMPLATE_VARIABLES: tuple[str, ...] = ("labels", "annotations", "status", "fingerprint", "startsAt", "alert")

#: Filters whose output is a complete PromQL string literal; a query's ``{{ }}`` must end in one.
QUOTING_FILTERS: frozenset[str] = frozenset({"promql", "promql_re"})

# Go string escapes understood by the PromQL lexer; every other control character becomes \uXXXX.
_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\v": "\\v",
}
_NEEDS_ESCAPE = re.compile(r'[\\"\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]')
_DICT_ATTRIBUTES = frozenset(name for name in dir(dict) if not name.startswith("_"))


def promql_quote(value: object) -> str:
    """Return ``value`` as one double-quoted PromQL string literal.

    Backslash, double quote and every control character are escaped, so no value can end the
    literal early: ``x"} or vector(1) #`` becomes ``"x\\"} or vector(1) #"``. Lone surrogates
    (not valid UTF-8) become U+FFFD. ``None`` is refused rather than quoted as ``"None"``.
    """
    if value is None:
        raise RuleRenderError("promql: cannot quote None (the value is missing)")
    return '"' + _NEEDS_ESCAPE.sub(_escape_char, str(value)) + '"'


def promql_regex_quote(value: object) -> str:
    """Return ``value`` as a PromQL string literal that matches it literally under ``=~``/``!~``."""
    if value is None:
        raise RuleRenderError("promql_re: cannot quote None (the value is missing)")
    return promql_quote(re.escape(str(value)))


def _escape_char(found: re.Match[str]) -> str:
    char = found.group()
    if char in _ESCAPES:
        return _ESCAPES[char]
    if 0xD800 <= ord(char) <= 0xDFFF:
        return "\ufffd"
    return f"\\u{ord(char):04x}"


class _RuleEnvironment(ImmutableSandboxedEnvironment):
    """The one Jinja environment rules render in."""

    def __init__(self) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
        self.filters["promql"] = promql_quote
        self.filters["promql_re"] = promql_regex_quote


_ENV = _RuleEnvironment()
_KNOWN_NAMES = frozenset(TEMPLATE_VARIABLES) | frozenset(_ENV.globals)


@functools.lru_cache(maxsize=4096)
def compile_template(source: str) -> Template:
    """Compile ``source`` once (cached by text). Raises ``RuleRenderError`` on a syntax error."""
    try:
        return _ENV.from_string(source)
    except TemplateSyntaxError as exc:
        raise RuleRenderError(f"template syntax error on template line {exc.lineno}: {exc.message}") from exc


def render(template: str, variables: Mapping[str, Any]) -> str:
    """Render ``template`` with ``variables`` in the rule sandbox.

    Raises ``RuleRenderError`` for a syntax error, an undefined value (e.g. a missing label), an
    unsafe access (``labels.__class__``, ``labels.pop(...)``) or any other template failure.
    """
    compiled = compile_template(template)
    try:
        return compiled.render(variables)
    except SecurityError as exc:
        raise RuleRenderError(f"unsafe template access: {exc}") from exc
    except UndefinedError as exc:
        raise RuleRenderError(f"undefined value: {exc.message}") from exc
    except RuleRenderError:
        raise
    except Exception as exc:  # TemplateError, TypeError, RecursionError, ...: all mean "this rule failed"
        raise RuleRenderError(f"template failed: {type(exc).__name__}: {exc}") from exc


def template_variables(alert: Mapping[str, Any]) -> dict[str, Any]:
    """Return the variables a rule template sees for ``alert`` (the receiver's normalised dict)."""
    return {
        "labels": dict(alert.get("labels") or {}),
        "annotations": dict(alert.get("annotations") or {}),
        "status": alert.get("status", "firing"),
        "fingerprint": alert.get("fingerprint", ""),
        "startsAt": alert.get("startsAt", ""),
        "alert": alert,
    }


class _AnyKey(dict[str, str]):
    """A label map that has every key: lint renders templates against it."""

    def __missing__(self, key: str) -> str:
        return "sample"


def _sample_variables() -> dict[str, Any]:
    labels = _AnyKey(alertname="SampleAlert")
    annotations = _AnyKey()
    alert = {
        "status": "firing",
        "labels": labels,
        "annotations": annotations,
        "startsAt": "2026-01-01T00:00:00Z",
        "endsAt": None,
        "generatorURL": "",
        "fingerprint": "0123456789abcdef",
        "source": "alertmanager",
        "receivedAt": "2026-01-01T00:00:01Z",
    }
    return template_variables(alert) | {"labels": labels, "annotations": annotations}


def check_template(source: str, *, promql: bool) -> list[str]:
    """Return what is wrong with the template ``source`` (an empty list when it is fine).

    Finds syntax errors, unknown variables (``lables.pod``), label names that are dict methods
    (``labels.items``), unsafe access found by rendering a sample alert, and, when ``promql`` is
    true, any ``{{ ... }}`` whose value is not piped through ``promql`` (or ``promql_re``) last.
    """
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        return [f"template syntax error on template line {exc.lineno}: {exc.message}"]
    problems: list[str] = []
    unknown = sorted(meta.find_undeclared_variables(tree) - _KNOWN_NAMES)
    for name in unknown:
        problems.append(
            f"unknown template variable {name!r} (known: {', '.join(sorted(TEMPLATE_VARIABLES))})"
        )
    called = {id(call.node) for call in tree.find_all(nodes.Call)}
    for node in tree.find_all(nodes.Getattr):
        if id(node) in called or not isinstance(node.node, nodes.Name):
            continue
        if node.node.name in ("labels", "annotations", "alert") and node.attr in _DICT_ATTRIBUTES:
            name = f"{node.node.name}.{node.attr}"
            problems.append(f"{name} is a dict method, not a key; write {node.node.name}[{node.attr!r}]")
    if promql:
        problems.extend(_unquoted_outputs(tree))
    if not problems:
        problems.extend(_sample_render_problems(source))
    return problems


def _unquoted_outputs(tree: nodes.Template) -> list[str]:
    problems: list[str] = []
    for block in tree.find_all(nodes.FilterBlock):
        problems.append(f"filter blocks are not allowed in PromQL templates (template line {block.lineno})")
    for output in tree.find_all(nodes.Output):
        for child in output.nodes:
            if isinstance(child, nodes.TemplateData | nodes.Const):
                continue
            if isinstance(child, nodes.Filter) and child.name in QUOTING_FILTERS:
                continue
            shown = _describe(child)
            if _filter_names(child) & QUOTING_FILTERS:
                problems.append(
                    f"{{{{ {shown} }}}}: promql must be the last filter (template line {child.lineno})"
                )
                continue
            problems.append(
                f"{{{{ {shown} }}}} reaches PromQL without the promql filter; "
                f"write {{{{ {shown} | promql }}}} (template line {child.lineno})"
            )
    return problems


def _filter_names(node: nodes.Node) -> set[str]:
    names: set[str] = set()
    while isinstance(node, nodes.Filter) and node.node is not None:
        names.add(node.name)
        node = node.node
    return names


def _describe(node: nodes.Node) -> str:
    """Best-effort source text of a simple expression, for messages."""
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{_describe(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return f"{_describe(node.node)}[{node.arg.value!r}]"
    if isinstance(node, nodes.Filter) and node.node is not None:
        return f"{_describe(node.node)} | {node.name}"
    return "..."


def _sample_render_problems(source: str) -> list[str]:
    try:
        render(source, _sample_variables())
    except RuleRenderError as exc:
        return [f"fails on a sample alert: {exc.detail.replace(_AnyKey.__name__, 'dict')}"]
    return []
