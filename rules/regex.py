"""Rule regexes, compiled with RE2: matching time is linear in the label's length, whatever the pattern.

A rule author's regex runs on every alert, in the receiver's request thread, so a pattern such as
``(x+x+)+y`` must not be able to backtrack for seconds. RE2 (the engine Prometheus and
Alertmanager use) never backtracks; in exchange it has no lookarounds and no backreferences, which
lint refuses with a hint: to exclude values, a rule writes ``!~regex`` instead of a negative
lookahead. Patterns are compiled with RE2's memory bound, so a huge repetition is refused too.
"""

from __future__ import annotations

import importlib
import re
import warnings
from typing import Any, Protocol, cast

import re2

__all__ = ["Regex", "compile_regex", "matches_only_empty"]

#: RE2's memory budget for one compiled pattern (its default is 8 MiB); larger programs are refused.
MAX_PROGRAM_BYTES = 1 << 20

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # errors are reported to the rule author, not to stderr
_OPTIONS.max_mem = MAX_PROGRAM_BYTES

# (?!x$).* and ^(?!x$).*: the lookahead exclusion that ~regex needed before !~ existed.
_LOOKAHEAD_EXCLUSION = re.compile(r"\^?\(\?!(?P<excluded>.+)\$\)\.\*\$?")
_UNSUPPORTED = re.compile(r"\(\?<?[=!]|\\[1-9]|\(\?P=|\\[AZ]")


class Regex(Protocol):
    """A compiled RE2 pattern (the part of ``re2``'s API rules use)."""

    @property
    def pattern(self) -> str:
        """The source pattern."""

    def fullmatch(self, text: str) -> object | None:
        """A match object when the pattern matches the whole of ``text``, else None."""


def compile_regex(pattern: str) -> Regex:
    """Compile ``pattern`` with RE2. Raises ``ValueError`` with a message meant for the rule author."""
    try:
        compiled: Any = re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        raise ValueError(_explain(pattern, exc)) from None
    return cast(Regex, compiled)


def _explain(pattern: str, exc: Exception) -> str:
    detail = exc.args[0] if exc.args else str(exc)
    if isinstance(detail, bytes):
        detail = detail.decode("utf-8", "replace")
    message = f"invalid regex {pattern!r}: {detail}"
    if _UNSUPPORTED.search(pattern):
        message += (
            "; rule regexes use RE2 syntax (linear time, as in Prometheus), which has no lookahead, "
            "lookbehind or backreferences and writes \\z for \\Z"
        )
        excluded = _LOOKAHEAD_EXCLUSION.fullmatch(pattern)
        if excluded:
            message += f"; to exclude values write '!~{excluded.group('excluded')}'"
        elif "(?!" in pattern:
            message += "; to exclude values write '!~regex'"
    elif "pattern too large" in detail:
        message += f" (a compiled rule regex may use at most {MAX_PROGRAM_BYTES} bytes)"
    return message


def matches_only_empty(pattern: str) -> bool:
    """True when ``pattern`` can only match an empty value (it is made of anchors and the like).

    Best effort through Python's own regex parser, which reads nearly all RE2 syntax; a pattern it
    cannot read is given the benefit of the doubt.
    """
    try:
        parser: Any = importlib.import_module("re._parser")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return bool(parser.parse(pattern).getwidth()[1] == 0)
    except (ImportError, AttributeError, re.error, ValueError, TypeError, OverflowError):
        return False
