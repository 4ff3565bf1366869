"""Errors of the rules package, under one root, and the ``Problem`` that lint reports.

Every rule error is permanent: a rule that does not load or render will not do better on a
retry, so callers record it and stop. ``RuleSetError`` carries every problem found in a rule
directory, each with the file and line to fix; ``RuleRenderError`` names the rule and the field
whose template failed for one alert.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a rule file, at a 1-based line (line 1 for a file-level problem)."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class RuleError(Exception):
    """Root of every error raised by the rules package. Permanent: record it, do not retry."""

    code = "rule_error"


class RuleSetError(RuleError):
    """A rule directory holds at least one problem; nothing from it was loaded."""

    code = "invalid_rules"

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        count = len(self.problems)
        lines = "\n".join(str(p) for p in self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in rules:\n{lines}")


class RuleRenderError(RuleError):
    """A rule's template could not be rendered for an alert (missing label, unsafe access, ...)."""

    code = "rule_render_failed"

    def __init__(self, detail: str, *, rule: str | None = None, field: str | None = None) -> None:
        self.detail = detail
        self.rule = rule
        self.field = field
        where = "".join(part for part in (f"rule {rule!r}: " if rule else "", f"{field}: " if field else ""))
        super().__init__(f"{where}{detail}")
