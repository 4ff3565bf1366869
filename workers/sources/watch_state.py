"""What ``aiops watch`` remembers about pods, and the alerts their transitions make.

``PodTracker`` is fed pods as the API server returns them (camelCase dicts) and answers with the alerts
to send, in the shape the receiver gives Alertmanager's (``source: "watch"``). It keeps, per container,
the restart count last seen and the alerts firing, so a MODIFIED event that repeats a state sends
nothing; intake's dedup and incident keys are the backstop across watcher restarts. No I/O here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from workers.settings import WatchSettings

CRASH_LOOPING = "KubePodCrashLooping"
OOM_KILLED = "KubePodOOMKilled"
CONTAINER_WAITING = "KubeContainerWaiting"
SOURCE = "watch"
SEVERITY = "warning"

_RUNBOOKS = {
    CRASH_LOOPING: "docs/runbooks/crashloopbackoff.md",
    CONTAINER_WAITING: "docs/runbooks/crashloopbackoff.md",
    OOM_KILLED: "docs/runbooks/oomkilled.md",
}


def rfc3339(moment: datetime) -> str:
    """``2026-11-25T10:00:00Z``: second precision, as Kubernetes and Alertmanager write times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def fingerprint(alertname: str, namespace: str, pod: str, container: str) -> str:
    """Deterministic per source, alert name and container, so a resolved alert matches its firing one."""
    identity = "\x00".join([SOURCE, alertname, namespace, pod, container])
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


def _annotations(alertname: str, namespace: str, pod: str, container: str, reason: str) -> dict[str, str]:
    where = f"{namespace}/{pod} ({container})"
    texts = {
        CRASH_LOOPING: ("Pod is crash looping.", f'Pod {where} is in waiting state (reason: "{reason}").'),
        CONTAINER_WAITING: (
            "Pod container waiting.",
            f'Container {container} of pod {namespace}/{pod} is waiting (reason: "{reason}").',
        ),
        OOM_KILLED: (
            "Container was OOMKilled.",
            f"Container {container} of pod {namespace}/{pod} was killed for exceeding its memory limit.",
        ),
    }
    summary, description = texts[alertname]
    return {"summary": summary, "description": description, "runbook_url": _RUNBOOKS[alertname]}


@dataclass
class _Container:
    restarts: int | None
    """Restart count last seen; None until seen (a pod from the first list has an unknown past)."""
    firing: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Alert name -> the firing alert sent, kept to send its resolved twin."""
    healthy_since: datetime | None = None
    """When the container last started running Ready (None while it is not)."""
    fired_at: datetime | None = None
    """When the latest of ``firing`` was sent: recovery is counted from then at the earliest."""


@dataclass
class _Pod:
    uid: str
    containers: dict[str, _Container] = field(default_factory=dict)


class PodTracker:
    """Per-container memory of what was seen and sent; turns pod observations into alerts."""

    def __init__(
        self,
        settings: WatchSettings,
        clock: Callable[[], datetime],
        wanted: Callable[[str], bool] = lambda namespace: True,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.wanted = wanted
        self._pods: dict[tuple[str, str], _Pod] = {}
        self._primed: set[str | None] = set()

    def __len__(self) -> int:
        return len(self._pods)

    # --- inputs -------------------------------------------------------------------------------
    def snapshot(self, scope: str | None, pods: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """A full list of ``scope`` (one namespace, or None for all): at start-up, or after 410 Gone.

        Pods in the first list of a scope have an unknown past; pods first seen later are new, so any
        restart they show happened while watched. Tracked pods missing from the list were deleted.
        """
        baseline = scope not in self._primed
        self._primed.add(scope)
        alerts: list[dict[str, Any]] = []
        present = set()
        for pod in pods:
            meta = pod.get("metadata") or {}
            present.add((meta.get("namespace", ""), meta.get("name", "")))
            alerts += self._observe(pod, baseline)
        for key in [k for k in self._pods if (scope is None or k[0] == scope) and k not in present]:
            alerts += self._forget(key)
        return alerts

    def event(self, kind: str, pod: dict[str, Any]) -> list[dict[str, Any]]:
        """One watch event (ADDED, MODIFIED or DELETED) about ``pod``."""
        meta = pod.get("metadata") or {}
        key = (meta.get("namespace", ""), meta.get("name", ""))
        if kind == "DELETED":
            return self._forget(key)
        if kind in ("ADDED", "MODIFIED"):
            return self._observe(pod, baseline=False)
        return []

    def sweep(self) -> list[dict[str, Any]]:
        """Resolutions that came due with time: containers running Ready for ``resolve_after_s``."""
        now = self.clock()
        alerts: list[dict[str, Any]] = []
        for (namespace, name), pod in self._pods.items():
            for container_name, state in pod.containers.items():
                if state.firing and self._recovered(state, now):
                    alerts += self._resolve(namespace, name, container_name, state, now)
        return alerts

    # --- transitions --------------------------------------------------------------------------
    def _observe(self, pod: dict[str, Any], baseline: bool) -> list[dict[str, Any]]:
        meta, status = pod.get("metadata") or {}, pod.get("status") or {}
        namespace, name, uid = meta.get("namespace", ""), meta.get("name", ""), meta.get("uid", "")
        if not namespace or not name or not self.wanted(namespace):
            return []
        alerts: list[dict[str, Any]] = []
        tracked = self._pods.get((namespace, name))
        if tracked is not None and tracked.uid != uid:  # replaced under the same name (StatefulSet)
            alerts += self._forget((namespace, name))
            tracked, baseline = None, False
        if tracked is None:
            tracked = self._pods[(namespace, name)] = _Pod(uid)
        terminating = bool(meta.get("deletionTimestamp"))
        now = self.clock()
        statuses = [(s, True) for s in status.get("initContainerStatuses") or []]
        statuses += [(s, False) for s in status.get("containerStatuses") or []]
        for container, init in statuses:
            cname = container.get("name") or ""
            state = tracked.containers.get(cname)
            if state is None:
                state = tracked.containers[cname] = _Container(restarts=None if baseline else 0)
            if not terminating:
                alerts += self._container(namespace, name, pod, container, init, state, now)
            state.restarts = int(container.get("restartCount") or 0)
        return alerts

    def _container(
        self,
        namespace: str,
        pod_name: str,
        pod: dict[str, Any],
        container: dict[str, Any],
        init: bool,
        state: _Container,
        now: datetime,
    ) -> list[dict[str, Any]]:
        name = container.get("name") or ""
        current = container.get("state") or {}
        waiting = (current.get("waiting") or {}).get("reason")
        last = (container.get("lastState") or {}).get("terminated") or {}
        restarts = int(container.get("restartCount") or 0)
        healthy = _healthy(container, init)
        if healthy:
            started = _parse((current.get("running") or {}).get("startedAt")) if not init else None
            state.healthy_since = started or state.healthy_since or now
        else:
            state.healthy_since = None

        found: list[tuple[str, str, str]] = []  # (alertname, reason, startsAt)
        if waiting == "CrashLoopBackOff":
            found.append((CRASH_LOOPING, waiting, last.get("finishedAt") or rfc3339(now)))
        if waiting in self.settings.waiting_reasons:
            starts = last.get("finishedAt") or (
                (pod.get("status") or {}).get("startTime") if restarts == 0 else None
            )
            found.append((CONTAINER_WAITING, waiting, starts or rfc3339(now)))
        if last.get("reason") == "OOMKilled" and self._new_oom(state, restarts, healthy, last, now):
            found.append((OOM_KILLED, "OOMKilled", last.get("finishedAt") or rfc3339(now)))

        alerts = []
        for alertname, reason, starts in found:
            if alertname in state.firing:
                continue  # the same episode: already sent
            alert = self._alert(alertname, namespace, pod_name, name, reason, starts, now)
            state.firing[alertname] = alert
            state.fired_at = now
            alerts.append(alert)
        if state.firing and self._recovered(state, now):
            alerts += self._resolve(namespace, pod_name, name, state, now)
        return alerts

    def _new_oom(
        self, state: _Container, restarts: int, healthy: bool, last: dict[str, Any], now: datetime
    ) -> bool:
        """An OOM kill counts when the restart count grew since last seen; on first sight (unknown past),
        when the container has not recovered from it or it ended within ``oom_recent_s``."""
        if state.restarts is not None:
            return restarts > state.restarts
        finished = _parse(last.get("finishedAt"))
        recent = finished is not None and (now - finished).total_seconds() <= self.settings.oom_recent_s
        return restarts > 0 and (not healthy or recent)

    def _recovered(self, state: _Container, now: datetime) -> bool:
        if state.healthy_since is None:
            return False
        since = max(state.healthy_since, state.fired_at or state.healthy_since)
        return (now - since).total_seconds() >= self.settings.resolve_after_s

    def _resolve(
        self, namespace: str, pod: str, container: str, state: _Container, now: datetime
    ) -> list[dict[str, Any]]:
        firing, state.firing = state.firing, {}
        if not self.settings.send_resolved:
            return []
        received = rfc3339(now)
        return [
            {**alert, "status": "resolved", "endsAt": received, "receivedAt": received}
            for alert in firing.values()
        ]

    def _forget(self, key: tuple[str, str]) -> list[dict[str, Any]]:
        """A pod that is gone: its alerts resolve (as Alertmanager's do when the series vanish)."""
        tracked = self._pods.pop(key, None)
        if tracked is None:
            return []
        now = self.clock()
        alerts = []
        for cname, state in tracked.containers.items():
            if state.firing:
                alerts += self._resolve(key[0], key[1], cname, state, now)
        return alerts

    def _alert(
        self,
        alertname: str,
        namespace: str,
        pod: str,
        container: str,
        reason: str,
        starts: str,
        now: datetime,
    ) -> dict[str, Any]:
        labels = {
            "alertname": alertname,
            "namespace": namespace,
            "pod": pod,
            "container": container,
            "reason": reason,
            "severity": SEVERITY,
        }
        return {
            "status": "firing",
            "labels": labels,
            "annotations": _annotations(alertname, namespace, pod, container, reason),
            "startsAt": starts,
            "endsAt": None,
            "generatorURL": "",
            "fingerprint": fingerprint(alertname, namespace, pod, container),
            "source": SOURCE,
            "receivedAt": rfc3339(now),
        }


def _healthy(container: dict[str, Any], init: bool) -> bool:
    """Running and Ready; for an init container, finished successfully."""
    current = container.get("state") or {}
    if init and (current.get("terminated") or {}).get("exitCode") == 0:
        return True
    return bool(container.get("ready")) and "running" in current
