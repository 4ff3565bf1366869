"""The formula: requests and limits from usage figures, with the margin, the floors and the rounding.

- CPU request = max(floor, p95 × (1 + margin)), rounded up to 5m.
- Memory request = max(floor, p95 × (1 + margin)), rounded up to 1Mi.
- Memory limit = max(request, max observed × (1 + margin)), rounded up to 1Mi: never below any observed
  peak, start-up peaks included (the percentiles leave start-up out; the maxima do not).
- CPU limit by ``cpu_limit_policy``: ``none`` (no limit, no throttling), ``keep`` (the current limit, or the
  request when the request would exceed it), ``ratio`` (``cpu_limit_ratio`` × request, rounded up to 5m).
- Unstable (restarts or OOM kills in the window): memory request and limit are never lowered.

The same function sizes the backtest's fit (``backtest``), so that what is checked is what is proposed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from workers.integrations.kubernetes.quantities import MI
from workers.settings import RightsizingSettings
from workers.workflows.rightsizing.model import Resources

CPU_STEP_CORES = 0.005
"""CPU is rounded up to 5 millicores."""
MEMORY_STEP_BYTES = MI
"""Memory is rounded up to 1 MiB."""


@dataclass(frozen=True)
class Usage:
    """The figures the formula needs, in cores and bytes."""

    cpu_p95: float
    cpu_max: float
    memory_p95: float
    memory_max: float


@dataclass
class Sized:
    resources: Resources
    arithmetic: dict[str, str] = field(default_factory=dict)
    """Each value's derivation, as a line a person can check with a calculator."""
    kept: list[str] = field(default_factory=list)
    """Values held where they were by a guard (``memory_request``, ``memory_limit``)."""


def up(value: float, step: float) -> float:
    """``value`` rounded up to a multiple of ``step`` (a tiny float error does not add a step)."""
    return math.ceil(value / step - 1e-9) * step


def _m(cores: float) -> str:
    return f"{round(cores * 1000)}m"


def _m1(cores: float) -> str:
    """Millicores to a tenth: the figures the arithmetic starts from."""
    return f"{cores * 1000:.1f}m"


def _mi(count: float) -> str:
    return f"{count / MI:.1f}Mi"


def size(usage: Usage, current: Resources, settings: RightsizingSettings, stable: bool = True) -> Sized:
    """The recommended resources for ``usage``; ``stable=False`` keeps memory from going down."""
    margin = settings.margin
    factor = 1 + margin
    cpu_floor = settings.cpu_floor_millicores / 1000
    memory_floor = settings.memory_floor_mib * MI
    cpu_request = max(cpu_floor, up(usage.cpu_p95 * factor, CPU_STEP_CORES))
    memory_request = max(float(memory_floor), up(usage.memory_p95 * factor, MEMORY_STEP_BYTES))
    memory_limit = max(memory_request, up(usage.memory_max * factor, MEMORY_STEP_BYTES))
    sized = Sized(Resources())
    sized.arithmetic = {
        "cpu_request": f"p95 {_m1(usage.cpu_p95)} × (1 + {margin:.2f}) = {_m1(usage.cpu_p95 * factor)}"
        f" → {_m(cpu_request)} (rounded up to 5m, floor {_m(cpu_floor)})",
        "memory_request": f"p95 {_mi(usage.memory_p95)} × (1 + {margin:.2f}) = "
        f"{_mi(usage.memory_p95 * factor)} → {_mi(memory_request)} (rounded up to 1Mi, floor "
        f"{settings.memory_floor_mib}Mi)",
        "memory_limit": f"max {_mi(usage.memory_max)} (start-up included) × (1 + {margin:.2f}) = "
        f"{_mi(usage.memory_max * factor)} → {_mi(memory_limit)} (never below the request)",
    }
    if not stable:
        if current.memory_request is not None and current.memory_request > memory_request:
            memory_request = current.memory_request
            sized.kept.append("memory_request")
        if current.memory_limit is not None and current.memory_limit > memory_limit:
            memory_limit = current.memory_limit
            sized.kept.append("memory_limit")
        memory_limit = max(memory_limit, memory_request)
        if sized.kept:
            sized.arithmetic["memory_kept"] = (
                "restarts or OOM kills in the window: memory is not lowered below the current "
                + " and ".join(sized.kept)
            )
    cpu_limit: float | None
    policy = settings.cpu_limit_policy
    if policy == "none":
        cpu_limit = None
        sized.arithmetic["cpu_limit"] = "policy none: no CPU limit (no throttling)"
    elif policy == "ratio":
        cpu_limit = up(cpu_request * settings.cpu_limit_ratio, CPU_STEP_CORES)
        sized.arithmetic["cpu_limit"] = (
            f"policy ratio: {_m(cpu_request)} × {settings.cpu_limit_ratio:g} → {_m(cpu_limit)}"
        )
    else:
        cpu_limit = current.cpu_limit
        if cpu_limit is not None and cpu_limit < cpu_request:
            sized.arithmetic["cpu_limit"] = (
                f"policy keep: the current {_m(cpu_limit)} is below the new request; raised to it"
            )
            cpu_limit = cpu_request
        else:
            shown = _m(cpu_limit) if cpu_limit is not None else "none"
            sized.arithmetic["cpu_limit"] = f"policy keep: {shown} as it is"
    sized.resources = Resources(cpu_request, cpu_limit, memory_request, memory_limit)
    return sized


def change(current: float | None, new: float | None) -> float | None:
    """The relative change from ``current`` to ``new`` (None: one of them is unset)."""
    if current is None or new is None or current == 0:
        return None
    return (new - current) / current


def changes_enough(current: Resources, new: Resources, hysteresis: float) -> list[str]:
    """The fields whose change reaches the hysteresis (a value set or unset counts as a change)."""
    changed = []
    for name in ("cpu_request", "cpu_limit", "memory_request", "memory_limit"):
        before, after = getattr(current, name), getattr(new, name)
        if before is None and after is None:
            continue
        if before is None or after is None:
            changed.append(name)
            continue
        relative = change(before, after)
        if relative is None or abs(relative) >= hysteresis:
            changed.append(name)
    return changed
