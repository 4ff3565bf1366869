"""PodTracker's transitions on plain pod dicts: what is news, what is the same episode, what ends one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from workers.errors import SettingsError
from workers.settings import NamespaceSettings, WatchSettings
from workers.sources.watch import watch_scopes
from workers.sources.watch_state import PodTracker, rfc3339

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def container(
    state: dict[str, Any], restarts: int = 0, ready: bool = False, last: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "name": "app",
        "ready": ready,
        "restartCount": restarts,
        "state": state,
        "lastState": {"terminated": last} if last else {},
    }


def pod(
    *statuses: dict[str, Any], uid: str = "u1", init: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    status: dict[str, Any] = {"startTime": "2026-11-25T09:00:00Z", "containerStatuses": list(statuses)}
    if init:
        status["initContainerStatuses"] = init
    return {"metadata": {"namespace": "shop", "name": "api-1", "uid": uid}, "status": status}


def crashloop(restarts: int, finished: datetime, reason: str = "Error") -> dict[str, Any]:
    last = {
        "reason": reason,
        "exitCode": 137 if reason == "OOMKilled" else 1,
        "finishedAt": rfc3339(finished),
    }
    return container({"waiting": {"reason": "CrashLoopBackOff"}}, restarts, last=last)


def running(
    restarts: int, started: datetime, last_reason: str | None = None, finished: datetime | None = None
):
    last = {"reason": last_reason, "finishedAt": rfc3339(finished or started)} if last_reason else None
    return container({"running": {"startedAt": rfc3339(started)}}, restarts, ready=True, last=last)


def names(alerts: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(a["labels"]["alertname"], a["status"]) for a in alerts]


def tracker(clock: Clock | None = None, **settings: Any) -> PodTracker:
    return PodTracker(WatchSettings(**settings), clock or Clock())


def test_first_sight_old_oom_of_a_running_container_is_not_news() -> None:
    t = tracker()
    old = running(4, NOW - timedelta(hours=2), "OOMKilled", NOW - timedelta(hours=2))
    assert t.snapshot(None, [pod(old)]) == []
    recent = running(4, NOW - timedelta(minutes=3), "OOMKilled", NOW - timedelta(minutes=3))
    assert names(tracker().snapshot(None, [pod(recent)])) == [("KubePodOOMKilled", "firing")]


def test_oom_counts_when_the_restart_count_grows() -> None:
    t = tracker()
    t.snapshot(None, [pod(running(4, NOW - timedelta(hours=2), "OOMKilled", NOW - timedelta(hours=2)))])
    assert t.event("MODIFIED", pod(running(4, NOW - timedelta(hours=2), "OOMKilled"))) == []
    grown = t.event("MODIFIED", pod(crashloop(5, NOW, "OOMKilled")))
    assert names(grown) == [("KubePodCrashLooping", "firing"), ("KubePodOOMKilled", "firing")]
    assert {a["startsAt"] for a in grown} == {rfc3339(NOW)}


def test_a_flapping_crash_loop_stays_one_episode() -> None:
    clock = Clock()
    t = tracker(clock, resolve_after_s=300)
    assert names(t.snapshot(None, [pod(crashloop(3, NOW))])) == [("KubePodCrashLooping", "firing")]
    for step in range(1, 6):  # each restart: Ready for a few seconds, then back-off again
        clock.now = NOW + timedelta(seconds=30 * step)
        assert t.event("MODIFIED", pod(running(3 + step, clock.now))) == []
        clock.now += timedelta(seconds=5)
        assert t.event("MODIFIED", pod(crashloop(3 + step, clock.now))) == []
        assert t.sweep() == []


def test_ready_long_enough_resolves_and_a_new_crash_is_a_new_episode() -> None:
    clock = Clock()
    t = tracker(clock, resolve_after_s=300)
    [fired] = t.snapshot(None, [pod(crashloop(3, NOW))])
    clock.now = NOW + timedelta(seconds=20)
    assert t.event("MODIFIED", pod(running(4, clock.now))) == []
    clock.now += timedelta(seconds=299)
    assert t.sweep() == []
    clock.now += timedelta(seconds=1)
    [resolved] = t.sweep()
    assert resolved["status"] == "resolved" and resolved["endsAt"] == rfc3339(clock.now)
    assert (resolved["fingerprint"], resolved["startsAt"]) == (fired["fingerprint"], fired["startsAt"])
    again = t.event("MODIFIED", pod(crashloop(5, clock.now)))
    assert names(again) == [("KubePodCrashLooping", "firing")]
    assert again[0]["startsAt"] == rfc3339(clock.now) != fired["startsAt"]


def test_deleted_or_replaced_pods_resolve_unless_resolved_alerts_are_off() -> None:
    t = tracker()
    t.snapshot(None, [pod(crashloop(3, NOW))])
    assert names(t.event("DELETED", pod(crashloop(3, NOW)))) == [("KubePodCrashLooping", "resolved")]
    assert len(t) == 0

    t.event("ADDED", pod(crashloop(1, NOW), uid="u2"))
    replaced = t.event("ADDED", pod(crashloop(1, NOW), uid="u3"))  # same name, new pod (StatefulSet)
    assert names(replaced) == [("KubePodCrashLooping", "resolved"), ("KubePodCrashLooping", "firing")]

    quiet = tracker(send_resolved=False)
    quiet.snapshot(None, [pod(crashloop(3, NOW))])
    assert quiet.event("DELETED", pod(crashloop(3, NOW))) == []


def test_init_containers_waiting_reasons_and_terminating_pods() -> None:
    failing_init = {**crashloop(2, NOW), "name": "migrate"}
    waiting = container({"waiting": {"reason": "PodInitializing"}})
    [alert] = tracker().snapshot(None, [pod(waiting, init=[failing_init])])
    assert (alert["labels"]["container"], alert["labels"]["alertname"]) == ("migrate", "KubePodCrashLooping")

    pulling = container({"waiting": {"reason": "ErrImagePull"}})
    [alert] = tracker().snapshot(None, [pod(pulling)])
    assert alert["labels"]["reason"] == "ErrImagePull" and alert["startsAt"] == "2026-11-25T09:00:00Z"
    assert tracker(waiting_reasons=["ImagePullBackOff"]).snapshot(None, [pod(pulling)]) == []

    going = pod(crashloop(3, NOW))
    going["metadata"]["deletionTimestamp"] = rfc3339(NOW)
    assert tracker().snapshot(None, [going]) == []


def test_a_relist_forgets_pods_of_its_scope_only() -> None:
    t = tracker()
    t.snapshot("shop", [pod(crashloop(3, NOW))])
    assert t.snapshot("web", []) == []
    assert names(t.snapshot("shop", [])) == [("KubePodCrashLooping", "resolved")]


def test_unwanted_namespaces_are_ignored() -> None:
    t = PodTracker(WatchSettings(), Clock(), wanted=lambda namespace: namespace != "shop")
    assert t.snapshot(None, [pod(crashloop(3, NOW))]) == []


def test_watch_scopes() -> None:
    assert watch_scopes(NamespaceSettings()) == [None]
    assert watch_scopes(NamespaceSettings(allow=["shop", "web"])) == ["shop", "web"]
    assert watch_scopes(NamespaceSettings(allow=["shop", "web"]), ["web", "tools"]) == ["web"]
    assert watch_scopes(NamespaceSettings(), ["shop", "kube-system", "shop"]) == ["shop"]
    with pytest.raises(SettingsError):
        watch_scopes(NamespaceSettings(), ["kube-system"])
