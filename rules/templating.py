"""Sandboxed Jinja templates for rules, the ``promql`` quoting filter, and template lint.

Rule templates are rendered with jinja2's ``ImmutableSandboxedEnvironment`` (no access to
underscore attributes or to methods that change a value), ``StrictUndefined`` (a missing label is
an error, never an empty string) and autoescape off. Alert label values are untrusted input: in a
PromQL query they may appear only through the ``promql`` filter (or ``promql_re``), which turns
any value into one PromQL string literal. ``check_template`` enforces that at load time.

Rule authors are trusted less than code: a render is bounded in work, size and time (see
``rules.bounds``). Only filters and methods whose cost is linear in their input are available
(no ``center``, ``indent``, ``wordwrap``, ``batch``, ``slice``, ``random``, ``urlize``, ``xmlattr``,
``lipsum``; no ``str.format``, ``ljust``, ``zfill``, ``join`` and the like), each loop's iterable
and each ``~`` goes through a counting wrapper, and the output is measured as it is produced.
Label values reach templates normalised as the matcher sees them (``rules.labels``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from rules import bounds
from rules.errors import RuleRenderError
from rules.labels import normalise_labels

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


# Filters that can build output far larger than their input (or loop on a size argument).
_WITHOUT_FILTERS = frozenset(
    {"batch", "center", "indent", "random", "slice", "urlize", "wordwrap", "xmlattr"}
)
# Globals: lipsum(n) makes n paragraphs.
_WITHOUT_GLOBALS = frozenset({"lipsum"})
# Methods a template may call on plain values: those whose result is at most linear in the value.
_STR_METHODS = frozenset({
    "capitalize", "casefold", "count", "endswith", "find", "index", "isalnum", "isalpha", "isascii",
    "isdecimal", "isdigit", "isidentifier", "islower", "isnumeric", "isspace", "istitle", "isupper",
    "lower", "lstrip", "partition", "removeprefix", "removesuffix", "replace", "rfind", "rindex",
    "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase",
    "title", "upper",
})  # fmt: skip
_SAFE_METHODS: tuple[tuple[type | tuple[type, ...], frozenset[str]], ...] = (
    (str, _STR_METHODS),
    (dict, frozenset({"get", "keys", "values", "items"})),
    ((list, tuple), frozenset({"index", "count"})),
    ((int, float), frozenset({"real", "imag"})),
)

_FilterCheck = Callable[[list[Any], dict[str, Any]], None]


def _check_join(args: list[Any], kwargs: dict[str, Any]) -> None:
    if not isinstance(args[0], list | tuple | str):
        args[0] = list(bounds.loop(args[0]))
    separator = args[1] if len(args) > 1 else kwargs.get("d", "")
    items = len(args[0])
    if bounds.weight(args[0]) + len(str(separator)) * max(items - 1, 0) > bounds.MAX_VALUE_CHARS:
        raise RuleRenderError(f"a join result would be larger than {bounds.MAX_VALUE_CHARS} characters")


def _check_format(args: list[Any], kwargs: dict[str, Any]) -> None:
    if isinstance(args[0], str):
        bounds.check_printf(args[0], [args[1:], kwargs])


def _check_replace(args: list[Any], kwargs: dict[str, Any]) -> None:
    if len(args) >= 3:
        bounds.check_replace(args[0], args[1], args[2], args[3] if len(args) > 3 else kwargs.get("count"))


def _check_tojson(args: list[Any], kwargs: dict[str, Any]) -> None:
    indent = args[1] if len(args) > 1 else kwargs.get("indent")
    if indent is not None and not (isinstance(indent, int) and 0 <= indent <= 8):
        raise RuleRenderError("tojson: indent must be a number from 0 to 8")


def _check_sum(args: list[Any], kwargs: dict[str, Any]) -> None:
    start = args[2] if len(args) > 2 else kwargs.get("start", 0)
    if not isinstance(start, int | float):
        raise RuleRenderError("sum: only numbers can be summed in rule templates")


_FILTER_CHECKS: dict[str, _FilterCheck] = {
    "join": _check_join,
    "format": _check_format,
    "replace": _check_replace,
    "tojson": _check_tojson,
    "sum": _check_sum,
}


def _bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` with each argument and its result checked against the size bounds, counted as a step."""
    passes_context = getattr(func, "jinja_pass_arg", None) is not None
    check = _FILTER_CHECKS.get(name)

    @functools.wraps(func)  # keeps jinja_pass_arg, so Jinja still passes the context first
    def bounded(*args: Any, **kwargs: Any) -> Any:
        bounds.step()
        head, values = (list(args[:1]), list(args[1:])) if passes_context else ([], list(args))
        for value in (*values, *kwargs.values()):
            bounds.checked(value, f"the input of {name}")
        if check is not None and values:
            check(values, kwargs)
        return bounds.checked(func(*head, *values, **kwargs), f"the result of {name}")

    return bounded


def _finalize(value: Any) -> Any:
    """Every ``{{ }}`` value, before it becomes text: checked and counted."""
    bounds.step()
    return bounds.checked(value, "an output value")


class _BoundLoops(NodeTransformer):
    """Route every loop's iterable and every ``~`` through ``rules.bounds`` (and refuse recursive loops)."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        if node.recursive:
            raise RuleRenderError(
                f"recursive loops are not allowed in rule templates (template line {node.lineno})"
            )
        node.iter = _call("rules.bounds.loop", node.iter, node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _call("rules.bounds.concat", nodes.Tuple(node.nodes, "load", lineno=node.lineno), node.lineno)


def _call(function: str, argument: nodes.Node, lineno: int) -> nodes.Call:
    return nodes.Call(nodes.ImportedName(function, lineno=lineno), [argument], [], None, None, lineno=lineno)


class _RuleEnvironment(ImmutableSandboxedEnvironment):
    """The one Jinja environment rules render in."""

    intercepted_binops = frozenset({"+", "*", "**", "%"})

    def __init__(self) -> None:
        super().__init__(
            undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False, finalize=_finalize
        )
        for name in _WITHOUT_GLOBALS:
            self.globals.pop(name, None)
        self.globals["range"] = bounds.bounded_range
        self.filters["promql"] = promql_quote
        self.filters["promql_re"] = promql_regex_quote
        self.filters = {
            name: _bounded_filter(name, func)
            for name, func in self.filters.items()
            if name not in _WITHOUT_FILTERS
        }

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        for kinds, names in _SAFE_METHODS:
            if isinstance(obj, kinds):
                return attr in names
        return True

    def wrap_str_format(self, value: Any) -> None:
        return None  # str.format is not allowed at all (is_safe_attribute refuses it)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        return bounds.binop(operator, left, right, self.binop_table[operator])

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        bounds.step()
        for value in (*args, *kwargs.values()):
            bounds.checked(value, "a call argument")
        if getattr(__obj, "__name__", None) == "replace" and isinstance(
            getattr(__obj, "__self__", None), str
        ):
            bounds.check_replace(__obj.__self__, *args[:3])
        return bounds.checked(super().call(__context, __obj, *args, **kwargs), "a call result")


_ENV = _RuleEnvironment()
_KNOWN_NAMES = frozenset(TEMPLATE_VARIABLES) | frozenset(_ENV.globals)


@functools.lru_cache(maxsize=4096)
def compile_template(source: str) -> Template:
    """Compile ``source`` once (cached by text), its loops and ``~`` bounded.

    Raises ``RuleRenderError`` on a syntax error, a recursive loop or an over-long template.
    """
    if len(source) > bounds.MAX_TEMPLATE_CHARS:
        raise RuleRenderError(f"the template is longer than {bounds.MAX_TEMPLATE_CHARS} characters")
    try:
        tree = _BoundLoops().visit(_ENV.parse(source))
        tree.set_environment(_ENV)
        return _ENV.from_string(tree)
    except TemplateSyntaxError as exc:
        raise RuleRenderError(f"template syntax error on template line {exc.lineno}: {exc.message}") from exc


def render(template: str, variables: Mapping[str, Any], *, time_limit_s: float = bounds.TIME_LIMIT_S) -> str:
    """Render ``template`` with ``variables`` in the rule sandbox, within ``rules.bounds``.

    Raises ``RuleRenderError`` for a syntax error, an undefined value (e.g. a missing label), an
    unsafe access (``labels.__class__``, ``labels.pop(...)``), a bound exceeded (loops, size, time;
    ``time_limit_s`` overrides the time bound) or any other template failure.
    """
    compiled = compile_template(template)
    try:
        with bounds.render_budget(time_limit_s) as budget:
            parts = []
            for part in compiled.generate(variables):
                budget.emit(len(part))
                parts.append(part)
            return "".join(parts)
    except SecurityError as exc:
        raise RuleRenderError(f"unsafe template access: {exc}") from exc
    except UndefinedError as exc:
        raise RuleRenderError(f"undefined value: {exc.message}") from exc
    except RuleRenderError:
        raise
    except Exception as exc:  # TemplateError, TypeError, RecursionError, ...: all mean "this rule failed"
        raise RuleRenderError(f"template failed: {type(exc).__name__}: {exc}") from exc


def template_variables(alert: Mapping[str, Any]) -> dict[str, Any]:
    """Return the variables a rule template sees for ``alert`` (the receiver's normalised dict).

    Label values are normalised as the matcher sees them (``rules.labels``), in ``labels`` and in
    ``alert.labels`` alike, so a template renders the value that the rule's conditions tested.
    """
    labels = normalise_labels(alert.get("labels"))
    return {
        "labels": labels,
        "annotations": dict(alert.get("annotations") or {}),
        "status": alert.get("status", "firing"),
        "fingerprint": alert.get("fingerprint", ""),
        "startsAt": alert.get("startsAt", ""),
        "alert": {**alert, "labels": labels},
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
    # The label maps that answer every key, also under alert.labels (template_variables copies them).
    return template_variables(alert) | {"labels": labels, "annotations": annotations, "alert": alert}


def check_template(source: str, *, promql: bool) -> list[str]:
    """Return what is wrong with the template ``source`` (an empty list when it is fine).

    Finds syntax errors, unknown variables (``lables.pod``), label names that are dict methods
    (``labels.items``), unsafe access found by rendering a sample alert, and, when ``promql`` is
    true, any ``{{ ... }}`` whose value is not piped through ``promql`` (or ``promql_re``) last.
    """
    if len(source) > bounds.MAX_TEMPLATE_CHARS:
        return [f"the template is longer than {bounds.MAX_TEMPLATE_CHARS} characters"]
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        return [f"template syntax error on template line {exc.lineno}: {exc.message}"]
    problems: list[str] = []
    try:  # this compiles the template, which is where an unknown filter or test is found
        unknown = sorted(meta.find_undeclared_variables(tree) - _KNOWN_NAMES)
    except TemplateSyntaxError as exc:
        return [f"template syntax error on template line {exc.lineno}: {exc.message}"]
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
