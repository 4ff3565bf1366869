"""How the HPA controller turns a metric's proposal into the replica count it sets (``horizontal.go``).

The controller remembers, per HPA, its recent recommendations and scale events. Without
``spec.behavior``: a scale-down waits until no recommendation of the stabilization window (300 s)
was higher, and one sync may scale up to ``max(2 * current, 4)``. With ``spec.behavior``: each
direction has its own stabilization window (scale-down defaults to the controller's), and the
scale events of each policy's period bound the change (``selectPolicy`` Max, Min or Disabled).
Each step sets the AbleToScale and ScalingLimited conditions with the real controller's reasons.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from sandbox.units import rfc3339

HIGHER = "recent recommendations were higher than current one, applying the highest recent recommendation"
LOWER = "recent recommendations were lower than current one, applying the lowest recent recommendation"
READY = "recommended size matches current size"
LIMITS = {
    "ScaleUpLimit": "the desired replica count is increasing faster than the maximum scale rate",
    "ScaleDownLimit": "the desired replica count is decreasing faster than the maximum scale rate",
    "TooManyReplicas": "the desired replica count is more than the maximum replica count",
    "TooFewReplicas": "the desired replica count is less than the minimum replica count",
    "DesiredWithinRange": "the desired count is within the acceptable range",
}
"""ScalingLimited reason -> message."""


def set_condition(
    status: dict[str, Any], kind: str, value: bool, reason: str, message: str, now: float
) -> None:
    """Set an HPA condition; ``lastTransitionTime`` moves only when its status changes."""
    conditions = status.setdefault("conditions", [])
    existing = next((c for c in conditions if c.get("type") == kind), None)
    if existing is None:
        existing = {"type": kind}
        conditions.append(existing)
    text = "True" if value else "False"
    if existing.get("status") != text:
        existing["lastTransitionTime"] = rfc3339(now)
    existing.update(status=text, reason=reason, message=message)


def _limited(status: dict[str, Any], desired: int, stabilized: int, reason: str, now: float) -> int:
    set_condition(status, "ScalingLimited", desired != stabilized, reason, LIMITS[reason], now)
    return desired


@dataclass
class ScaleEvent:
    change: int
    time: float
    outdated: bool = False


@dataclass
class ScalingMemory:
    """The controller's per-HPA memory (lost on restart, as kube-controller-manager's is)."""

    recommendations: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    scale_up: dict[str, list[ScaleEvent]] = field(default_factory=dict)
    scale_down: dict[str, list[ScaleEvent]] = field(default_factory=dict)

    def forget_all_but(self, live: set[str]) -> None:
        for memory in (self.recommendations, self.scale_up, self.scale_down):
            for key in set(memory) - live:
                del memory[key]

    def _record(self, key: str, proposed: int, now: float, old: int | None) -> None:
        history = self.recommendations.setdefault(key, [])
        if old is not None:
            history[old] = (proposed, now)
        else:
            history.append((proposed, now))

    # --- without spec.behavior ----------------------------------------------------------------
    def normalize(
        self, key: str, current: int, proposed: int, bounds: tuple[int, int], window: float,
        status: dict[str, Any], now: float,
    ) -> int:  # fmt: skip
        """``normalizeDesiredReplicas``: stabilize a scale-down, then clamp to the bounds and 2x."""
        stabilized, old = proposed, None
        for i, (value, at) in enumerate(self.recommendations.setdefault(key, [])):
            if at < now - window:
                old = i
            elif value > stabilized:
                stabilized = value
        self._record(key, proposed, now, old)
        if stabilized != proposed:
            set_condition(status, "AbleToScale", True, "ScaleDownStabilized", HIGHER, now)
        else:
            set_condition(status, "AbleToScale", True, "ReadyForNewScale", READY, now)
        minimum, maximum = bounds
        scale_up_limit = max(2 * current, 4)
        ceiling, reason = (
            (scale_up_limit, "ScaleUpLimit") if maximum > scale_up_limit else (maximum, "TooManyReplicas")
        )
        if stabilized < minimum:
            return _limited(status, minimum, stabilized, "TooFewReplicas", now)
        if stabilized > ceiling:
            return _limited(status, ceiling, stabilized, reason, now)
        return _limited(status, stabilized, stabilized, "DesiredWithinRange", now)

    # --- with spec.behavior -------------------------------------------------------------------
    def normalize_with_behavior(
        self, key: str, current: int, proposed: int, bounds: tuple[int, int], behavior: dict[str, Any],
        window: float, status: dict[str, Any], now: float,
    ) -> int:  # fmt: skip
        """``normalizeDesiredReplicasWithBehaviors``: per-direction windows, then the rate policies."""
        up, down = behavior["scaleUp"], dict(behavior["scaleDown"])
        down.setdefault("stabilizationWindowSeconds", int(window))
        stabilized, reason, message = self._stabilize(key, current, proposed, up, down, now)
        if stabilized != proposed:
            set_condition(status, "AbleToScale", True, reason, message, now)
        else:
            set_condition(status, "AbleToScale", True, "ReadyForNewScale", READY, now)
        minimum, maximum = bounds
        if stabilized > current:
            limit = max(self._scale_up_limit(key, current, up, now), current)
            ceiling, why = (limit, "ScaleUpLimit") if maximum > limit else (maximum, "TooManyReplicas")
            if stabilized > ceiling:
                return _limited(status, ceiling, stabilized, why, now)
        elif stabilized < current:
            limit = min(self._scale_down_limit(key, current, down, now), current)
            floor, why = (limit, "ScaleDownLimit") if minimum < limit else (minimum, "TooFewReplicas")
            if stabilized < floor:
                return _limited(status, floor, stabilized, why, now)
        return _limited(status, stabilized, stabilized, "DesiredWithinRange", now)

    def _stabilize(
        self, key: str, current: int, proposed: int, up: dict[str, Any], down: dict[str, Any], now: float
    ) -> tuple[int, str, str]:
        up_window, down_window = (
            float(up["stabilizationWindowSeconds"]),
            float(down["stabilizationWindowSeconds"]),
        )
        if proposed >= current:
            window, pick, reason, message = up_window, min, "ScaleUpStabilized", LOWER
        else:
            window, pick, reason, message = down_window, max, "ScaleDownStabilized", HIGHER
        best, old = proposed, None
        for i, (value, at) in enumerate(self.recommendations.setdefault(key, [])):
            if at > now - window:
                best = pick(value, best)
            if at < now - max(up_window, down_window):
                old = i
        self._record(key, proposed, now, old)
        return best, reason, message

    @staticmethod
    def _changed_within(events: list[ScaleEvent], period: float, now: float) -> int:
        return sum(e.change for e in events if e.time > now - period)

    def _scale_up_limit(self, key: str, current: int, rules: dict[str, Any], now: float) -> int:
        policy = rules.get("selectPolicy", "Max")
        if policy == "Disabled":
            return current
        proposals = []
        for p in rules.get("policies") or []:
            start = current - self._changed_within(self.scale_up.get(key, []), float(p["periodSeconds"]), now)
            pods = p["type"] == "Pods"
            proposals.append(start + int(p["value"]) if pods else math.ceil(start * (1 + p["value"] / 100)))
        if not proposals:
            return current
        return min(proposals) if policy == "Min" else max(proposals)

    def _scale_down_limit(self, key: str, current: int, rules: dict[str, Any], now: float) -> int:
        policy = rules.get("selectPolicy", "Max")
        if policy == "Disabled":
            return current
        proposals = []
        for p in rules.get("policies") or []:
            start = current + self._changed_within(
                self.scale_down.get(key, []), float(p["periodSeconds"]), now
            )
            pods = p["type"] == "Pods"
            proposals.append(start - int(p["value"]) if pods else int(start * (1 - p["value"] / 100)))
        if not proposals:
            return current
        return max(proposals) if policy == "Min" else min(proposals)

    def store_scale_event(
        self, behavior: dict[str, Any], key: str, before: int, after: int, now: float
    ) -> None:
        """Remember a rescale for the rate policies, reusing a slot older than the longest period."""
        rules = behavior.get("scaleUp" if after > before else "scaleDown") or {}
        longest = max((float(p["periodSeconds"]) for p in rules.get("policies") or []), default=0.0)
        events = (self.scale_up if after > before else self.scale_down).setdefault(key, [])
        for event in events:
            if event.time < now - longest:
                event.outdated = True
        new = ScaleEvent(abs(after - before), now)
        slot = next((i for i in reversed(range(len(events))) if events[i].outdated), None)
        if slot is None:
            events.append(new)
        else:
            events[slot] = new
