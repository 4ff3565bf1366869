"""The ``history:`` section of scenario.yaml (described in ``sandbox.history``), parsed and checked.

Read by ``sandbox.history_pods`` and ``sandbox.history_series``, checked with the rest of the file
by ``sandbox.scenario``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sandbox.units import parse_quantity

_DURATION = re.compile(r"^-?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_TOP_KEYS = {"days", "step_seconds", "slow_step_seconds", "seed", "workloads"}
_WORKLOAD_KEYS = {"cpu", "memory", "containers", "spikes", "startup", "replaced", "oom", "http", "since"}


def parse_ago(value: Any) -> float:
    """Seconds before the end for ``4d``, ``3d12h``, ``90m``, ``-2h`` or a number of seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return abs(float(value))
    match = _DURATION.match(str(value).strip())
    if match is None or not any(match.groups()):
        raise ValueError(f"not a duration like 4d, 3d12h or 90m: {value!r}")
    d, h, m, s = (int(g or 0) for g in match.groups())
    return float(((d * 24 + h) * 60 + m) * 60 + s)


@dataclass(frozen=True)
class Shape:
    """One resource's usage model: ``base`` (None: the live usage) and relative amplitudes."""

    base: float | None = None
    daily: float = 0.0
    weekly: float = 0.0
    noise: float = 0.0

    @classmethod
    def parse(cls, data: Any, default: Shape) -> Shape:
        data = data if isinstance(data, dict) else {}
        base = data.get("base", default.base)
        return cls(
            parse_quantity(base) if base is not None else None,
            float(data.get("daily", default.daily)),
            float(data.get("weekly", default.weekly)),
            float(data.get("noise", default.noise)),
        )


@dataclass(frozen=True)
class Factors:
    """A bump in usage: for ``minutes``, CPU × ``cpu`` and memory × ``memory``."""

    minutes: float
    cpu: float
    memory: float
    per_day: float = 0.0

    @classmethod
    def parse(cls, data: Any, default: Factors) -> Factors:
        data = data if isinstance(data, dict) else {}
        return cls(
            float(data.get("minutes", default.minutes)),
            float(data.get("cpu", default.cpu)),
            float(data.get("memory", default.memory)),
            float(data.get("per_day", default.per_day)),
        )


@dataclass(frozen=True)
class Workload:
    """The ``history.workloads`` entry of one workload (or the defaults)."""

    cpu: Shape = Shape(None, 0.3, 0.15, 0.05)
    memory: Shape = Shape(None, 0.05, 0.02, 0.01)
    containers: dict[str, tuple[Shape, Shape]] = field(default_factory=dict)
    spikes: Factors = Factors(10, 2.0, 1.2, per_day=1)
    startup: Factors = Factors(3, 3.0, 1.5)
    replaced: tuple[float, ...] = ()
    oom: dict[str, Any] | None = None
    http: dict[str, Any] | None = None
    since: float | None = None
    """Seconds before the end when the workload was created: no pod of it runs before (None: always)."""

    @classmethod
    def parse(cls, data: Any) -> Workload:
        data = data if isinstance(data, dict) else {}
        default = cls()
        cpu, memory = (
            Shape.parse(data.get("cpu"), default.cpu),
            Shape.parse(data.get("memory"), default.memory),
        )
        return cls(
            cpu,
            memory,
            {
                str(name): (
                    Shape.parse((c or {}).get("cpu"), cpu),
                    Shape.parse((c or {}).get("memory"), memory),
                )
                for name, c in (data.get("containers") or {}).items()
            },
            Factors.parse(data.get("spikes"), default.spikes),
            Factors.parse(data.get("startup"), default.startup),
            tuple(parse_ago(t) for t in data.get("replaced") or ()),
            dict(data["oom"]) if isinstance(data.get("oom"), dict) else None,
            dict(data["http"]) if isinstance(data.get("http"), dict) else None,
            parse_ago(data["since"]) if data.get("since") is not None else None,
        )

    def shapes(self, container: str) -> tuple[Shape, Shape]:
        return self.containers.get(container, (self.cpu, self.memory))


@dataclass(frozen=True)
class Settings:
    """The scenario's ``history:`` section."""

    days: int = 14
    step: int = 60
    slow_step: int = 300
    seed: int = 1
    workloads: dict[str, Workload] = field(default_factory=dict)

    @classmethod
    def from_scenario(cls, data: Any) -> Settings:
        data = data if isinstance(data, dict) else {}
        return cls(
            int(data.get("days", 14)),
            int(data.get("step_seconds", 60)),
            int(data.get("slow_step_seconds", 300)),
            int(data.get("seed", 1)),
            {str(k): Workload.parse(v) for k, v in (data.get("workloads") or {}).items()},
        )

    def workload(self, key: str) -> Workload:
        return self.workloads.get(key) or Workload()


def check(data: Any, where: str = "scenario.yaml: history") -> list[str]:
    """Problems with a ``history:`` section (empty when usable or absent)."""
    if data is None:
        return []
    if not isinstance(data, dict):
        return [f"{where}: must be a mapping"]
    problems = [f"{where}: unknown key {k!r}" for k in data if k not in _TOP_KEYS]
    days, step, slow = data.get("days", 14), data.get("step_seconds", 60), data.get("slow_step_seconds", 300)
    if not isinstance(days, int) or not 7 <= days <= 14:
        problems.append(f"{where}.days: a whole number of days from 7 to 14")
    if not isinstance(step, int) or not 10 <= step <= 300:
        problems.append(f"{where}.step_seconds: whole seconds from 10 to 300")
    if (
        not isinstance(slow, int)
        or not isinstance(step, int)
        or step <= 0
        or not step <= slow <= 300
        or slow % step
    ):
        problems.append(f"{where}.slow_step_seconds: a multiple of step_seconds, at most 300")
    if not isinstance(data.get("seed", 1), int):
        problems.append(f"{where}.seed: a whole number")
    workloads = data.get("workloads") or {}
    if not isinstance(workloads, dict):
        return [*problems, f"{where}.workloads: a mapping of namespace/name to settings"]
    for key, spec in workloads.items():
        problems += _workload_problems(spec, f"{where}.workloads[{key!r}]", "/" in str(key))
    return problems


def _workload_problems(spec: Any, here: str, named: bool) -> list[str]:
    if not named or not isinstance(spec, dict):
        return [f"{here}: a namespace/name key with a mapping"]
    problems = [f"{here}: unknown key {k!r}" for k in spec if k not in _WORKLOAD_KEYS]
    if not isinstance(spec.get("replaced") or [], list):
        problems.append(f"{here}.replaced: a list of times such as [5d, 2d12h]")
        return problems
    oom, http = spec.get("oom"), spec.get("http")
    errors = (http or {}).get("errors") or [] if isinstance(http, dict) else []
    try:
        Workload.parse(spec)
        times = [*(spec.get("replaced") or ()), *([oom.get("at", "1d")] if isinstance(oom, dict) else [])]
        times += [spec["since"]] if spec.get("since") is not None else []
        times += [e.get("at", "1d") for e in errors if isinstance(e, dict)]
        for t in times:
            parse_ago(t)
    except (ValueError, TypeError, AttributeError) as exc:
        problems.append(f"{here}: {exc}")
    return problems
