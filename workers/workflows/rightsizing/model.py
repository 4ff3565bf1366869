"""The shapes right-sizing passes around: what was read about a workload and its containers, and the
statuses a container's recommendation can end in."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")


class Status(StrEnum):
    """What became of one container's recommendation (``ok`` is the only one proposed)."""

    ok = "ok"
    insufficient_data = "insufficient_data"
    """Less history than ``rightsizing.history_days`` (or none): the reason says how much there is."""
    unstable = "unstable"
    """Restarts or OOM kills in the window kept memory from being lowered, and nothing else changes."""
    hpa_managed = "hpa_managed"
    """An HPA scales on the changed resource and no target in 10–95 % keeps its scale point."""
    no_change = "no_change"
    """Every change is under the hysteresis."""
    backtest_failed = "backtest_failed"
    """Fitted on the first days, the recommendation would have been OOM-killed or throttled on the last."""
    no_metrics = "no_metrics"
    """Prometheus could not answer; nothing can be said."""


@dataclass
class Resources:
    """A container's requests and limits in cores and bytes (None: not set)."""

    cpu_request: float | None = None
    cpu_limit: float | None = None
    memory_request: float | None = None
    memory_limit: float | None = None


@dataclass
class Figures:
    """Usage figures of one container over the window (the hottest of its pods), None when absent."""

    values: dict[str, float] = field(default_factory=dict)

    def get(self, name: str) -> float | None:
        return self.values.get(name)


@dataclass
class ContainerUsage:
    name: str
    current: Resources
    resources: dict[str, Any]
    """The container's ``resources`` as the workload's pod template holds it."""
    figures: Figures = field(default_factory=Figures)
    pods: int = 0
    """How many pods (live or past) contributed figures."""


@dataclass
class WorkloadUsage:
    kind: str
    namespace: str
    name: str
    replicas: int
    generation: int | None
    uid: str | None
    containers: list[ContainerUsage]
    hpas: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}"
