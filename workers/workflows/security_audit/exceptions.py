"""Audit exceptions: accepted findings, each with a reason and an expiry date.

The file is a YAML list (or ``{exceptions: [...]}``) of entries::

    - check: images.latest_tag          # a check id, or a glob such as ``images.*``
      selector: {namespace: tools, kind: Deployment, name: "debug-*", labels: {team: sre}}
      reason: the debug toolbox follows upstream on purpose
      expires: 2027-03-31

Every selector key is optional (names and namespaces may be globs) but the selector must hold at
least one. An excepted finding is listed apart with its reason; once ``expires`` has passed, the
finding counts again and says that its exception expired. ``lint`` reports malformed entries as
``file:line: message``; ``load`` refuses a file with any.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from workers.domain import Finding
from workers.workflows.security_audit import severity
from workers.workflows.security_audit.errors import ExceptionsFileError

ENTRY_KEYS = frozenset({"check", "selector", "reason", "expires"})
SELECTOR_KEYS = frozenset({"namespace", "kind", "name", "labels"})


@dataclass(frozen=True)
class AuditException:
    """One accepted finding pattern."""

    check: str
    reason: str
    expires: dt.date
    namespace: str | None = None
    kind: str | None = None
    name: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    line: int = 0

    def matches(self, found: Finding, labels: dict[str, str]) -> bool:
        if not fnmatch.fnmatchcase(found.check, self.check):
            return False
        for wanted, actual in (
            (self.namespace, found.namespace),
            (self.kind, found.kind),
            (self.name, found.name),
        ):
            if wanted is not None and not fnmatch.fnmatchcase(actual or "", wanted):
                return False
        return all(labels.get(key) == value for key, value in self.labels.items())

    def expired(self, today: dt.date) -> bool:
        return self.expires < today


def _entries(text: str, where: str) -> tuple[list[tuple[int, Any]], list[str]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        return [], [f"{where}:{line}: not valid YAML: {getattr(exc, 'problem', exc)}"]
    if data is None:
        return [], []
    if isinstance(data, dict) and set(data) == {"exceptions"} and isinstance(node, yaml.MappingNode):
        data, node = data["exceptions"], node.value[0][1]
    if not isinstance(data, list) or not isinstance(node, yaml.SequenceNode):
        return [], [f"{where}:1: expected a list of exceptions (or a mapping with key `exceptions`)"]
    return [(item.start_mark.line + 1, value) for item, value in zip(node.value, data, strict=True)], []


def _parse(line: int, raw: Any, where: str) -> tuple[AuditException | None, list[str]]:
    at = f"{where}:{line}"
    if not isinstance(raw, dict):
        return None, [f"{at}: an exception must be a mapping with check, selector, reason, expires"]
    errors = [f"{at}: unknown key {key!r}" for key in sorted(set(map(str, raw)) - ENTRY_KEYS)]
    check = raw.get("check")
    if not isinstance(check, str) or not check:
        errors.append(f"{at}: `check` is required (a check id or a glob)")
    elif not any(fnmatch.fnmatchcase(known, check) for known in severity.CHECKS):
        errors.append(f"{at}: `check` {check!r} matches no check")
    reason = raw.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        errors.append(f"{at}: `reason` is required: say why the finding is accepted")
    expires = raw.get("expires")
    if isinstance(expires, str):
        with contextlib.suppress(ValueError):
            expires = dt.date.fromisoformat(expires)
    if isinstance(expires, dt.datetime):
        expires = expires.date()
    if not isinstance(expires, dt.date):
        errors.append(f"{at}: `expires` is required, a date such as 2027-03-31")
    selector = raw.get("selector")
    if not isinstance(selector, dict) or not selector:
        errors.append(f"{at}: `selector` is required: one or more of namespace, kind, name, labels")
        selector = {}
    errors += [
        f"{at}: unknown selector key {key!r}" for key in sorted(set(map(str, selector)) - SELECTOR_KEYS)
    ]
    labels = selector.get("labels") or {}
    if not isinstance(labels, dict):
        errors.append(f"{at}: `selector.labels` must be a mapping")
        labels = {}
    for key in ("namespace", "kind", "name"):
        if key in selector and not isinstance(selector[key], str):
            errors.append(f"{at}: `selector.{key}` must be a string")
    if errors:
        return None, errors
    assert isinstance(check, str) and isinstance(reason, str) and isinstance(expires, dt.date)
    return AuditException(
        check=check,
        reason=reason.strip(),
        expires=expires,
        namespace=selector.get("namespace"),
        kind=selector.get("kind"),
        name=selector.get("name"),
        labels={str(k): str(v) for k, v in labels.items()},
        line=line,
    ), []


def parse(text: str, where: str = "<exceptions>") -> tuple[list[AuditException], list[str]]:
    """The valid exceptions of a file's text, and ``where:line: message`` for each malformed one."""
    entries, errors = _entries(text, where)
    found: list[AuditException] = []
    for line, raw in entries:
        parsed, problems = _parse(line, raw, where)
        errors += problems
        if parsed is not None:
            found.append(parsed)
    return found, errors


def lint(path: Path) -> list[str]:
    """``file:line: message`` for every malformed entry of an exceptions file; empty when it is good."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return [f"{path}:0: cannot read: {exc.strerror}"]
    return parse(text, str(path))[1]


def load(path: Path) -> list[AuditException]:
    """The exceptions of a file; ``ExceptionsFileError`` listing every lint message if any is malformed."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ExceptionsFileError([f"{path}:0: cannot read: {exc.strerror}"]) from exc
    found, errors = parse(text, str(path))
    if errors:
        raise ExceptionsFileError(errors)
    return found


def apply(
    findings: list[Finding],
    exceptions: list[AuditException],
    labels_of: Callable[[Finding], dict[str, str]],
    today: dt.date,
) -> tuple[list[Finding], list[Finding]]:
    """(counted, excepted): excepted ones carry the reason; expired exceptions are noted on counted ones."""
    counted: list[Finding] = []
    excepted: list[Finding] = []
    for found in findings:
        rules = [e for e in exceptions if e.matches(found, labels_of(found))] if exceptions else []
        live = [e for e in rules if not e.expired(today)]
        if live:
            rule = live[0]
            excepted.append(
                found.model_copy(
                    update={
                        "evidence": {
                            **found.evidence,
                            "exception": {
                                "reason": rule.reason,
                                "expires": rule.expires.isoformat(),
                                "line": rule.line,
                            },
                        }
                    }
                )
            )
        elif rules:
            rule = rules[0]
            note = f" (exception expired on {rule.expires.isoformat()}: {rule.reason})"
            counted.append(
                found.model_copy(
                    update={
                        "message": found.message + note,
                        "evidence": {
                            **found.evidence,
                            "exception_expired": {"reason": rule.reason, "expires": rule.expires.isoformat()},
                        },
                    }
                )
            )
        else:
            counted.append(found)
    return counted, excepted
