"""Discount the signals that are consequences of the crash, or less telling than the terminal error.

The table's weights say how much a signal means on its own; these rules say how much it still means
beside the rest of the evidence. Each discount lowers a hit's ``factor`` and is recorded (``Discount``)
so the diagnosis can say what it set aside and why:

1. **Probe failures after an exit of the process's own.** When a container terminates with its own exit
   code (not 137/143, not OOMKilled), failing probes only say that nothing was listening: the process
   died by itself. Probe signals weigh ``OWN_EXIT_FACTOR``.
2. **A probe kill of a process that was failing anyway.** Exit 137 without OOMKilled is an outside kill,
   typically the liveness probe; but when the log ends in an error of a specific cause, the probe only
   cut short a process that was already failing. Probe signals weigh ``FAILING_ANYWAY_FACTOR``.
3. **Generic crash reports beside a specific terminal message.** An exception header, a traceback, a
   panic or an abort exit code says that the process died, not why. When a specific signal of another
   category sits as close to the exit, the generic ones weigh ``GENERIC_FACTOR``.
4. **Lines the process outlived, or logged below error level** weigh their ``logscan`` factor already;
   the notable ones (specific signals whose line factor is under ``logscan.TERMINAL_FACTOR``) are
   recorded so that a person sees the misleading line was read and set aside.

The kubelet's restart back-off (``BackOff`` events) follows every crash and is no signal at all; it is
recorded once as a consequence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workers.workflows.pod_failure.logscan import TERMINAL_FACTOR, Level
from workers.workflows.pod_failure.matching import ContainerView, Hit

OWN_EXIT_FACTOR = 0.25
FAILING_ANYWAY_FACTOR = 0.4
GENERIC_FACTOR = 0.5
CLOSENESS = 0.05
"""A specific line counts as "as close to the exit" as a generic one within this much line factor."""
KILLED = (137, 143)
_ERROR_LEVELS = (Level.error, Level.fatal, Level.none)


@dataclass(frozen=True)
class Discount:
    """A signal the diagnosis set aside (wholly or partly), with the evidence and the reason."""

    signal: str
    category: str
    source: str
    text: str
    why: str
    weight: float
    """The signal's weight after the discount (its table weight is in signals.SIGNALS)."""
    rule: str
    """``own-exit``, ``failing-anyway``, ``generic``, ``outlived`` or ``backoff`` (module docstring)."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "signal": self.signal,
            "category": self.category,
            "source": self.source,
            "text": self.text,
            "why": self.why,
            "weight": round(self.weight, 2),
            "rule": self.rule,
        }


def _record(hit: Hit, rule: str, why: str) -> Discount:
    source = hit.source
    return Discount(hit.signal.name, hit.signal.category, source.source, source.text, why, hit.weight, rule)


def _view_of(hit: Hit, views: list[ContainerView]) -> ContainerView | None:
    by_name = {view.name: view for view in views}
    if hit.container in by_name:
        return by_name[hit.container]
    failing = [view for view in views if view.failing and not view.init] or [v for v in views if v.failing]
    return failing[0] if failing else None


def _own_exit(view: ContainerView) -> bool:
    term = view.terminated or {}
    code = term.get("exitCode")
    return isinstance(code, int) and code not in (0, *KILLED) and term.get("reason") != "OOMKilled"


def _terminal_specific(hits: list[Hit], container: str | None) -> Hit | None:
    """The specific, error-level log hit of ``container`` nearest the exit, if it is in the terminal block."""
    candidates = [
        hit
        for hit in hits
        if hit.container == container
        and hit.line is not None
        and hit.signal.kind == "specific"
        and hit.line.level in _ERROR_LEVELS
        and hit.line.terminal
    ]
    return max(candidates, key=lambda hit: hit.weight, default=None)


def weigh(hits: list[Hit], views: list[ContainerView], events: list[dict[str, Any]]) -> list[Discount]:
    """Apply the rules of the module docstring to ``hits`` (their ``factor``); return what was discounted."""
    discounts: list[Discount] = []
    for hit in hits:
        if hit.signal.kind != "probe":
            continue
        view = _view_of(hit, views)
        if view is None:
            continue
        term = view.terminated or {}
        if _own_exit(view):
            hit.factor *= OWN_EXIT_FACTOR
            discounts.append(
                _record(
                    hit,
                    "own-exit",
                    f"container {view.name} exits {term.get('exitCode')} on its own ({term.get('reason')}): "
                    "the probe fails because the process is not up, the probe is not what stops it",
                )
            )
            continue
        failing = _terminal_specific(hits, view.name)
        if term.get("exitCode") in KILLED and failing is not None:
            hit.factor *= FAILING_ANYWAY_FACTOR
            discounts.append(
                _record(
                    hit,
                    "failing-anyway",
                    f"the log of {view.name} ends in its own error ({failing.source.text!r}): "
                    "the probe cut short a process that was failing anyway",
                )
            )
    for hit in hits:
        if hit.signal.kind != "generic":
            continue
        rivals = [
            other
            for other in hits
            if other.container == hit.container
            and other.signal.kind == "specific"
            and other.signal.category != hit.signal.category
            and other.line is not None
            and other.line.level in _ERROR_LEVELS
            and other.line.factor >= min(hit.line.factor if hit.line else 1.0, TERMINAL_FACTOR) - CLOSENESS
        ]
        if rivals:
            best = max(rivals, key=lambda other: other.weight)
            hit.factor *= GENERIC_FACTOR
            discounts.append(
                _record(
                    hit,
                    "generic",
                    f"it only says that the process died; the terminal message {best.source.text!r} says why "
                    f"({best.signal.category})",
                )
            )
    for hit in hits:
        if hit.line is None or hit.signal.kind != "specific" or hit.line.terminal:
            continue
        parts = []
        if hit.line.level not in _ERROR_LEVELS:
            parts.append(f"logged at {hit.line.level.value} level")
        if hit.line.pushes:
            parts.append(f"the process carried on for {hit.line.pushes} more log lines after it")
        discounts.append(_record(hit, "outlived", "; ".join(parts) + f" (line weight x{hit.line.factor:g})"))
    backoff = next(
        (
            event
            for event in events
            if event.get("reason") == "BackOff" and "restarting" in str(event.get("message"))
        ),
        None,
    )
    if backoff is not None:
        discounts.append(
            Discount(
                "restart-backoff",
                "none",
                "events",
                f"{backoff.get('reason')}: {backoff.get('message')}",
                "the kubelet's restart back-off follows every crash; it says nothing about the cause",
                0.0,
                "backoff",
            )
        )
    return discounts
