"""Evaluate the signal table against one evidence dict: which signals fire, where, and on which lines.

Each firing signal becomes a ``Hit`` carrying the citations (source and text) that made it fire.
While some container is failing now, hits on containers that are ready again weigh half: an old
OOM kill of a recovered sidecar should not outvote the container that is crash-looping. A log hit
weighs as much as its strongest line (``logscan``: the line's level and how long the process went on
after it), so the terminal error outweighs an earlier note that happens to match another category.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from workers.integrations.kubernetes.quantities import QuantityError, humanize_bytes, parse_bytes
from workers.workflows.pod_failure.logscan import Level, LineWeight, line_levels, line_weight
from workers.workflows.pod_failure.model import Citation
from workers.workflows.pod_failure.signals import SIGNALS, Signal, compiled

MAX_LINES_PER_SIGNAL = 10
_CONTAINER_IN_EVENT = re.compile(r"(?i)\bcontainer \"?([a-z0-9]([-a-z0-9]*[a-z0-9])?)\"?")


@dataclass
class ContainerView:
    """A container's status in the shape the table is evaluated against."""

    name: str
    init: bool
    ready: bool
    restart_count: int
    waiting: dict[str, Any] | None
    terminated: dict[str, Any] | None
    terminated_source: str
    waiting_source: str
    raw: dict[str, Any]

    @property
    def failing(self) -> bool:
        """Waiting (other than for init containers to finish) or last terminated in error."""
        if self.waiting and self.waiting.get("reason") != "PodInitializing":
            return True
        term = self.terminated or {}
        return bool(term) and (
            term.get("exitCode") not in (0, None) or term.get("reason") not in ("Completed", None)
        )


@dataclass
class Hit:
    """One signal that fired, with the lines that made it fire."""

    signal: Signal
    container: str | None
    citations: list[Citation]
    values: dict[str, Any] = field(default_factory=dict)
    factor: float = 1.0
    """Discounts from the container's state and from the weighing rules (``weighing``)."""
    line: LineWeight | None = None
    """For a log hit: the weight of its strongest line (``values["match"]``)."""

    @property
    def weight(self) -> float:
        return self.signal.weight * self.factor * (self.line.factor if self.line else 1.0)

    @property
    def source(self) -> Citation:
        """The one piece of evidence this hit stands on: its strongest log line, else its first citation."""
        if self.line is not None and self.container:
            return Citation(f"logs/{self.container}", str(self.values.get("match")))
        return self.citations[0] if self.citations else Citation("evidence", self.signal.name)

    def sentence(self, shown: set[str] | None = None) -> str:
        """The signal's text filled in; a match already in ``shown`` is not quoted again."""
        text = self.signal.text
        match = self.values.get("match")
        if shown is not None and match:
            if match in shown:
                text = text.replace(": {match}", "")
            shown.add(str(match))
        return text.format_map(defaultdict(lambda: "?", self.values))


def container_views(evidence: dict[str, Any]) -> list[ContainerView]:
    """Container views from ``evidence["containers"]``, filling the current terminated state from the pod."""
    pod_status = (evidence.get("pod") or {}).get("status") or {}
    raw_states = {(False, s.get("name")): s for s in pod_status.get("containerStatuses") or []}
    raw_states.update({(True, s.get("name")): s for s in pod_status.get("initContainerStatuses") or []})
    containers = evidence.get("containers")
    if containers is None:  # evidence gathered without the container summary: derive it from the pod
        containers = [_summary(status, init) for (init, _), status in raw_states.items()]
    views = []
    for item in containers:
        init = bool(item.get("init"))
        base = f"pod.status.{'initContainerStatuses' if init else 'containerStatuses'}[{item['name']}]"
        terminated, term_source = item.get("lastTerminated"), f"{base}.lastState.terminated"
        if not terminated:
            state = (raw_states.get((init, item["name"])) or {}).get("state") or {}
            terminated, term_source = state.get("terminated"), f"{base}.state.terminated"
        views.append(
            ContainerView(
                name=item["name"],
                init=init,
                ready=bool(item.get("ready")),
                restart_count=int(item.get("restartCount") or 0),
                waiting=item.get("waiting"),
                terminated=terminated or None,
                terminated_source=term_source,
                waiting_source=f"{base}.state.waiting",
                raw=item,
            )
        )
    return views


def _summary(status: dict[str, Any], init: bool) -> dict[str, Any]:
    return {
        "name": status.get("name"),
        "init": init,
        "ready": status.get("ready"),
        "restartCount": status.get("restartCount", 0),
        "waiting": (status.get("state") or {}).get("waiting"),
        "lastTerminated": (status.get("lastState") or {}).get("terminated"),
    }


def _active(view: ContainerView) -> bool:
    """Failing right now: not ready, or waiting (other than for init containers to finish)."""
    waiting = (view.waiting or {}).get("reason")
    return bool(waiting and waiting != "PodInitializing") or (not view.ready and view.failing)


def _role_ok(signal: Signal, view: ContainerView) -> bool:
    return signal.role == "any" or (signal.role == "init") == view.init


def _search(signal: Signal, text: str | None) -> re.Match[str] | None:
    if not text:
        return None
    if signal.pattern is None:
        return None
    found = compiled(signal.pattern).search(text)
    if found and signal.exclude and compiled(signal.exclude).search(text):
        return None
    return found


def _fullmatch(pattern: str | None, text: Any) -> bool:
    return pattern is None or (isinstance(text, str) and compiled(pattern).fullmatch(text) is not None)


def _match_waiting(signal: Signal, view: ContainerView) -> Hit | None:
    waiting = view.waiting or {}
    reason, message = waiting.get("reason"), waiting.get("message")
    if not reason or not _fullmatch(signal.reason, reason):
        return None
    found = _search(signal, message) if signal.pattern else None
    if signal.pattern and not found:
        return None
    text = f"reason={reason}" + (f" message={message}" if message else "")
    values = {"reason": reason, "match": message if found else reason}
    return Hit(signal, view.name, [Citation(view.waiting_source, text)], values)


def _match_terminated(signal: Signal, view: ContainerView) -> Hit | None:
    term = view.terminated or {}
    if not term:
        return None
    reason, code, message = term.get("reason"), term.get("exitCode"), term.get("message")
    if code == 0 and reason in ("Completed", None):
        return None
    if not _fullmatch(signal.reason, reason):
        return None
    if signal.not_reason and _fullmatch(signal.not_reason, reason):
        return None
    if signal.exit_codes and code not in signal.exit_codes:
        return None
    if signal.signal is not None and term.get("signal") != signal.signal:
        return None
    found = _search(signal, message) if signal.pattern else None
    if signal.pattern and not found:
        return None
    text = f"reason={reason} exitCode={code}"
    if term.get("signal"):
        text += f" signal={term['signal']}"
    if message:
        text += f" message={message}"
    values = {"reason": reason, "exit_code": code, "match": message if found else reason}
    return Hit(signal, view.name, [Citation(view.terminated_source, text)], values)


@dataclass
class LogView:
    """One failing container's previous log: its lines, which lines each log signal matches, their levels
    and the categories of the specific signals on each line (what pushes an earlier line back)."""

    lines: list[str]
    matches: dict[str, list[int]]
    levels: list[Level]
    evidence: list[frozenset[str]]

    def weight(self, index: int, category: str) -> LineWeight:
        return line_weight(index, self.levels, self.evidence, category)


def log_view(view: ContainerView, logs: dict[str, Any]) -> LogView | None:
    """Scan a failing container's log once for every log signal; None without a log or when not failing."""
    text = logs.get(view.name)
    if not isinstance(text, str) or not view.failing:
        return None
    lines = text.splitlines()
    log_signals = [signal for signal in SIGNALS if "log" in signal.where and _termination_ok(signal, view)]
    matches = {
        signal.name: [index for index, line in enumerate(lines) if _search(signal, line)]
        for signal in log_signals
    }
    evidence: list[set[str]] = [set() for _ in lines]
    for signal in log_signals:
        if signal.kind == "specific":
            for index in matches[signal.name]:
                evidence[index].add(signal.category)
    return LogView(lines, matches, line_levels(lines), [frozenset(item) for item in evidence])


def _termination_ok(signal: Signal, view: ContainerView) -> bool:
    """A log signal's conditions on the container's last termination (reason, exit code)."""
    term = view.terminated or {}
    reason, code = term.get("reason"), term.get("exitCode")
    if signal.reason is not None and not _fullmatch(signal.reason, reason):
        return False
    if signal.not_reason is not None and isinstance(reason, str) and _fullmatch(signal.not_reason, reason):
        return False
    return not signal.exit_codes or code in signal.exit_codes


def _match_log(signal: Signal, view: ContainerView, scanned: LogView | None) -> Hit | None:
    if scanned is None or not _termination_ok(signal, view):
        return None
    indexes = scanned.matches.get(signal.name) or []
    if not indexes:
        return None
    all_lines = scanned.lines
    lines: list[str] = []
    for index in indexes:
        lines.append(all_lines[index].strip())
        if all_lines[index].startswith("Traceback (most recent call last)"):
            lines.extend(_exception_line(all_lines, index))
    lines = list(dict.fromkeys(lines))
    # The strongest line decides the hit's weight; among equals the latest, nearest the exit.
    weights = {index: scanned.weight(index, signal.category) for index in indexes}
    strongest = max(indexes, key=lambda index: (weights[index].factor, index))
    cited = [Citation(f"logs/{view.name}", line) for line in lines[:MAX_LINES_PER_SIGNAL]]
    if len(lines) > MAX_LINES_PER_SIGNAL:
        cited.append(
            Citation(f"logs/{view.name}", f"... and {len(lines) - MAX_LINES_PER_SIGNAL} more matching lines")
        )
    return Hit(signal, view.name, cited, {"match": all_lines[strongest].strip()}, line=weights[strongest])


def _exception_line(lines: list[str], start: int) -> list[str]:
    """The ``Error: message`` line that ends a Python traceback starting at ``start``."""
    for line in lines[start + 1 :]:
        if line.strip() and not line[0].isspace() and not line.startswith("Traceback"):
            return [line.strip()]
    return []


def _event_container(event: dict[str, Any], names: set[str]) -> str | None:
    for key in ("fieldPath", "object"):
        found = re.search(r"\{([^}]+)\}", str(event.get(key) or ""))
        if found and found.group(1) in names:
            return found.group(1)
    found = _CONTAINER_IN_EVENT.search(str(event.get("message") or ""))
    return found.group(1) if found and found.group(1) in names else None


def _match_events(signal: Signal, events: list[dict[str, Any]], names: set[str]) -> list[Hit]:
    by_container: dict[str | None, Hit] = {}
    for event in events:
        if not _fullmatch(signal.reason, event.get("reason")):
            continue
        message = str(event.get("message") or "")
        found = _search(signal, message) if signal.pattern else None
        if signal.pattern and not found:
            continue
        count = event.get("count")
        text = (
            f"{event.get('type', '')} {event.get('reason')}"
            + (f" (x{count})" if count else "")
            + f": {message}"
        )
        container = _event_container(event, names)
        hit = by_container.setdefault(
            container, Hit(signal, container, [], {"match": message, "container": container, "count": 0})
        )
        if int(count or 1) > hit.values["count"]:  # quote the most frequent event
            hit.values.update(match=message, count=int(count or 1))
        hit.citations.append(Citation("events", text.strip()))
    return list(by_container.values())


def _metric_value(evidence: dict[str, Any], name: str, views: list[ContainerView]) -> float | None:
    value = (evidence.get("metrics") or {}).get(name)
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    if name == "memory_limit_bytes":  # fall back to the spec limit of the failing container
        for view in views:
            limit = ((view.raw.get("resources") or {}).get("limits") or {}).get("memory")
            if view.failing and limit:
                try:
                    return float(parse_bytes(limit))
                except QuantityError:
                    return None
    return None


def _match_metric(signal: Signal, evidence: dict[str, Any], views: list[ContainerView]) -> Hit | None:
    assert signal.metric is not None
    numerator, denominator, ratio = signal.metric
    top, bottom = _metric_value(evidence, numerator, views), _metric_value(evidence, denominator, views)
    if top is None or not bottom or top < ratio * bottom:
        return None
    share = f"{top / bottom:.1%}"
    text = f"{numerator}={top:.0f} ({humanize_bytes(top)}) is {share} of {denominator}={bottom:.0f}"
    return Hit(signal, None, [Citation(f"prometheus:{numerator}", text)], {"match": share})


def _match_node(signal: Signal, node: dict[str, Any] | None) -> Hit | None:
    if not node:
        return None
    for condition in node.get("conditions") or []:
        kind, status = condition.get("type"), condition.get("status")
        bad = status != "True" if kind == "Ready" else status == "True"
        if bad and _fullmatch(signal.reason, kind):
            text = f"{kind}={status}"
            for key in ("reason", "message"):
                if condition.get(key):
                    text += f" {key}={condition[key]}"
            values = {"node": node.get("name"), "match": text}
            return Hit(signal, None, [Citation(f"node/{node.get('name')}", text)], values)
    return None


def find_hits(evidence: dict[str, Any]) -> tuple[list[Hit], list[ContainerView]]:
    """Every signal of the table that fires on ``evidence``."""
    views = container_views(evidence)
    logs = evidence.get("previous_logs") or {}
    events = evidence.get("events") or []
    names = {view.name for view in views}
    scanned = {view.name: log_view(view, logs) for view in views}
    hits: list[Hit] = []
    for signal in SIGNALS:
        for where in signal.where:
            if where in ("waiting", "terminated", "log"):
                for view in views:
                    if not _role_ok(signal, view):
                        continue
                    if where == "waiting":
                        hit = _match_waiting(signal, view)
                    elif where == "terminated":
                        hit = _match_terminated(signal, view)
                    else:
                        hit = _match_log(signal, view, scanned[view.name])
                    if hit is not None:
                        hit.values.setdefault("container", view.name)
                        recovered = view.ready and not view.waiting
                        hit.factor = (
                            0.5 if recovered and any(_active(v) for v in views if v is not view) else 1.0
                        )
                        hits.append(hit)
            elif where == "event":
                hits.extend(_match_events(signal, events, names))
            elif where == "metric":
                hits.extend(h for h in [_match_metric(signal, evidence, views)] if h)
            elif where == "node":
                hits.extend(h for h in [_match_node(signal, evidence.get("node"))] if h)
    return hits, views
