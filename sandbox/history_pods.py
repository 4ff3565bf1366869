"""The pods of a history: each live pod's slot cut into predecessors and its own stretch, on a time grid.

A predecessor has the live pod's ReplicaSet, node, labels and containers under another name and uid
(a StatefulSet's or a bare pod keeps its name); ``replaced`` times cut a slot into several, an OOM kill
splits a container's life in two. Used by ``sandbox.history_series``.
"""

from __future__ import annotations

import hashlib
import math
import random
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Any

from sandbox.history_settings import Settings, Workload, parse_ago
from sandbox.rollouts import controller_of
from sandbox.store import ObjectStore
from sandbox.units import parse_time

_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_PREDECESSOR_UPTIME = 2 * 86400.0
"""How long the first predecessor had been running when the window opens (its CPU counter's start)."""


# --- the time grid and the usage shape ------------------------------------------------------------
@dataclass
class Grid:
    """Sample times ``end - (n - k) * step`` for k = 0..n, with their OpenMetrics text."""

    end: int
    step: int
    n: int

    def __post_init__(self) -> None:
        self.times = [self.end - (self.n - k) * self.step for k in range(self.n + 1)]
        self.stamps = [f" {t}\n" for t in self.times]

    def span(self, start: float, stop: float) -> range:
        """Indices of the samples in [start, stop)."""
        first = max(0, math.ceil((start - self.times[0]) / self.step))
        last = min(self.n + 1, math.ceil((stop - self.times[0]) / self.step))
        return range(first, max(first, last))


def season(times: list[int], daily: float, weekly: float) -> list[float]:
    """The daily and weekly factor (mean about 1) at each time."""
    out = []
    for t in times:
        day = 1 + daily * math.sin(2 * math.pi * ((t % 86400) / 3600 - 9) / 24)
        weekday = (t // 86400 + 3) % 7  # 1970-01-01 was a Thursday; 5 and 6 are the weekend
        out.append(day * (1 - weekly if weekday >= 5 else 1 + 0.4 * weekly))
    return out


def seeded(settings: Settings, *parts: Any) -> random.Random:
    return random.Random(zlib.crc32("/".join(map(str, parts)).encode()) ^ settings.seed)


def noise(rng: random.Random, amount: float, count: int) -> list[float]:
    """``count`` factors 1 + amount * N(0, 1) (all 1 without noise)."""
    if not amount:
        return [1.0] * count
    gauss = rng.gauss
    return [1 + amount * gauss(0, 1) for _ in range(count)]


def digest(*parts: Any) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


# --- pods of the history ----------------------------------------------------------------------------
@dataclass
class Life:
    """One container incarnation: [start, stop), the restarts before it, and what ended the one before."""

    start: float
    stop: float
    cid: str
    restarts: int
    startup: bool
    oom_before: bool


@dataclass
class HistoryPod:
    """A pod of the history: a predecessor, or a live pod's own stretch (``own``)."""

    name: str
    uid: str
    start: float
    stop: float
    own: bool
    slot: int
    lives: dict[str, list[Life]] = field(default_factory=dict)
    oom: tuple[str, float] | None = None


@dataclass
class WorkloadHistory:
    """The live pods of one workload and the history pods of each."""

    key: str
    spec: Workload
    live: list[dict[str, Any]]
    pods: list[tuple[dict[str, Any], HistoryPod]] = field(default_factory=list)


def _live_start(store: ObjectStore, pod: dict[str, Any]) -> float:
    behaviour = store.behaviours.get(pod["metadata"].get("uid", ""))
    if behaviour is not None:
        return float(behaviour.started)
    started = (pod.get("status") or {}).get("startTime") or pod["metadata"]["creationTimestamp"]
    return parse_time(started)


def _predecessor_name(pod: dict[str, Any], settings: Settings, slot: int, k: int) -> str:
    meta = pod["metadata"]
    ref = controller_of(pod)
    prefix = meta.get("generateName") or (
        f"{ref['name']}-" if ref and ref.get("kind") == "ReplicaSet" else None
    )
    if not prefix:
        return str(meta["name"])  # a StatefulSet's or a bare pod keeps its name
    rng = seeded(settings, meta["namespace"], prefix, slot, k)
    return prefix + "".join(rng.choice(_ALPHABET) for _ in range(5))


def plan(store: ObjectStore, settings: Settings, work: WorkloadHistory, w0: float, end: float) -> None:
    """Cut each live pod's slot into predecessors (at ``replaced`` times) and its own stretch."""
    born = end - work.spec.since if work.spec.since is not None else None
    cuts = sorted(end - ago for ago in work.spec.replaced if max(w0, born or w0) < end - ago < end)
    oom = work.spec.oom
    for slot, pod in enumerate(work.live):
        live_start = min(_live_start(store, pod), end)
        meta = pod["metadata"]
        containers = [c["name"] for c in (pod.get("spec") or {}).get("containers") or []]
        first = w0 - _PREDECESSOR_UPTIME if born is None or born < w0 else born
        if live_start > w0 and first < live_start:
            starts = [first] + [t + 20 * slot for t in cuts if t + 20 * slot < live_start]
            for k, start in enumerate(starts):
                stop = starts[k + 1] if k + 1 < len(starts) else live_start
                name = _predecessor_name(pod, settings, slot, k)
                uid = str(uuid.UUID(digest(meta["namespace"], name, slot, k, settings.seed)[:32]))
                hp = HistoryPod(name, uid, start, stop, False, slot)
                if oom is not None and slot == 0:
                    at = end - parse_ago(oom.get("at", "1d"))
                    if start + 600 < at < stop - 600:
                        hp.oom = (str(oom.get("container") or containers[0]), at)
                _lives(hp, containers, w0)
                work.pods.append((pod, hp))
        own = HistoryPod(meta["name"], meta.get("uid", ""), max(live_start, w0), end + 1, True, slot)
        _lives(own, containers, w0)
        work.pods.append((pod, own))


def _lives(hp: HistoryPod, containers: list[str], w0: float) -> None:
    for name in containers:
        first = Life(
            hp.start,
            hp.stop,
            digest(hp.uid, name, 0),
            0,
            startup=hp.start >= w0 and not hp.own,
            oom_before=False,
        )
        if hp.oom is not None and hp.oom[0] == name:
            at = hp.oom[1]
            first.stop = at
            hp.lives[name] = [
                first,
                Life(at + 5, hp.stop, digest(hp.uid, name, 1), 1, startup=True, oom_before=True),
            ]
        else:
            hp.lives[name] = [first]
