"""The watch source against a sandbox cluster and a real Redis: pod failures become the alerts Alertmanager's
rules would raise, once per episode, and share incidents with Alertmanager's alerts."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from sandbox.resources import of_kind
from sandbox.store import HISTORY
from tests.support.pipeline import crash_alert
from tests.support.watching import (
    CRASHING,
    DENIED_POD,
    OTHER_POD,
    SCENARIOS,
    start_watching,
    wait_until,
    with_extra_pods,
)
from workers.errors import SettingsError
from workers.sources.watch import PodWatcher
from workers.sources.watch_state import fingerprint
from workers.spine import counters
from workers.spine.intake import incident_key

NOT_FROM_WATCH = {
    # Waits in ContainerCreating, a reason that is only a failure once it lasts: the alert comes from
    # Alertmanager's KubeContainerWaiting (for: 15m), not from the watch source.
    "node-sandbox-failure",
    "node-calico-sandbox-unauthorized",
    "missing-secret-volume-mount",
    # Runs again after an OOM kill hours before the watch starts: old news (see the test below).
    "oom-report-worker",
}
WATCHED_SCENARIOS = sorted(
    path.name
    for path in SCENARIOS.iterdir()
    if (path / "scenario.yaml").exists() and path.name not in NOT_FROM_WATCH
)


def counter(watching: Any, name: str, **labels: str) -> int:
    key = (name, tuple(sorted(labels.items())))
    return counters.read_all(watching.redis).get(key, 0)  # type: ignore[arg-type]


def core_api(watching: Any) -> client.CoreV1Api:
    return client.CoreV1Api(watching.pipeline.cluster.api_client())


def now_rfc3339(offset_s: float = 0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=offset_s)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_crash_looping_pods_become_alerts_in_the_alertmanager_shape(watching, tmp_path: Path) -> None:
    w = watching(with_extra_pods(tmp_path))
    jobs = w.jobs()
    assert sorted(alert["labels"]["pod"] for _, alert in jobs) == sorted([*CRASHING, OTHER_POD])
    assert DENIED_POD not in w.pods()  # kube-system is denied by default
    assert {rule for rule, _ in jobs} == {"pod-crashloop"}

    alert = next(alert for _, alert in jobs if alert["labels"]["pod"] == CRASHING[1])
    status = w.pipeline.cluster.get("Pod", "shop", CRASHING[1])["status"]["containerStatuses"][0]
    assert alert["labels"] == {
        "alertname": "KubePodCrashLooping",
        "namespace": "shop",
        "pod": CRASHING[1],
        "container": "app",
        "reason": "CrashLoopBackOff",
        "severity": "warning",
    }
    assert alert["status"] == "firing" and alert["source"] == "watch" and alert["endsAt"] is None
    assert alert["startsAt"] == status["lastState"]["terminated"]["finishedAt"]
    assert alert["fingerprint"] == fingerprint("KubePodCrashLooping", "shop", CRASHING[1], "app")
    assert alert["annotations"]["runbook_url"] == "docs/runbooks/crashloopbackoff.md"

    metrics = w.pipeline.client.get("/metrics").get_data(as_text=True)
    assert 'aiops_watch_alerts_total{alertname="KubePodCrashLooping",status="firing"} 3.0' in metrics


def test_namespace_flag_narrows_the_watch_and_denied_namespaces_are_dropped(watching, tmp_path: Path) -> None:
    w = watching(with_extra_pods(tmp_path), ["shop", "kube-system"])
    assert w.watcher.scopes == ["shop"]
    assert w.pods() == sorted(CRASHING)


def test_only_denied_namespaces_is_a_settings_error(make_pipeline) -> None:
    pipeline = make_pipeline("demo-crashloop")
    with pytest.raises(SettingsError, match="denied"):
        PodWatcher(pipeline.context, ["kube-system"])


def test_a_repeated_modified_event_sends_nothing(watching) -> None:
    w = watching("demo-crashloop")
    assert w.pods() == sorted(CRASHING)
    received = counter(w, "alerts_received_total")
    core = core_api(w)
    for value in ("a", "b"):
        core.patch_namespaced_pod(CRASHING[1], "shop", {"metadata": {"labels": {"touched": value}}})
    w.settle(events=2)
    assert w.pods() == sorted(CRASHING)
    assert counter(w, "alerts_received_total") == received  # not even a duplicate reached intake


def test_a_deleted_pod_resolves_and_its_crashing_replacement_is_a_new_alert(watching) -> None:
    w = watching("demo-crashloop")
    old = next(alert for _, alert in w.jobs() if alert["labels"]["pod"] == CRASHING[1])
    assert w.redis.exists(incident_key(old))
    core_api(w).delete_namespaced_pod(CRASHING[1], "shop")

    new_pods = wait_until(
        lambda: [pod for pod in w.pods() if pod not in CRASHING], what="an alert for the replacement pod"
    )
    assert len(new_pods) == 1 and new_pods[0].startswith("checkout-7d9f8b6c5-")
    assert len(w.jobs()) == 3
    rule, alert = next((rule, alert) for rule, alert in w.jobs() if alert["labels"]["pod"] == new_pods[0])
    assert rule == "pod-crashloop" and alert["labels"]["reason"] == "CrashLoopBackOff"
    replacement = w.pipeline.cluster.get("Pod", "shop", new_pods[0])
    # startsAt is the end of the crash the watcher saw first; the sandbox moves lastState on with every
    # restart, so compare with the pod's lifetime rather than with a later read of lastState.
    finished = replacement["status"]["containerStatuses"][0]["lastState"]["terminated"]["finishedAt"]
    assert replacement["metadata"]["creationTimestamp"] <= alert["startsAt"] <= finished
    # The deleted pod's alert resolved: its incident ended, the other pod's goes on.
    assert counter(w, "watch_alerts_total", alertname="KubePodCrashLooping", status="resolved") == 1
    assert not w.redis.exists(incident_key(old))
    other = next(alert for _, alert in w.jobs() if alert["labels"]["pod"] == CRASHING[0])
    assert w.redis.exists(incident_key(other))


@pytest.mark.parametrize("scenario", WATCHED_SCENARIOS)
def test_each_scenario_raises_the_alert_it_expects(watching, scenario: str) -> None:
    expected = yaml.safe_load((SCENARIOS / scenario / "scenario.yaml").read_text())["expect"]["alert"]
    w = watching(scenario)
    found = [
        (rule, alert)
        for rule, alert in w.jobs()
        if {key: alert["labels"].get(key) for key in expected} == expected
    ]
    assert len(found) == 1, (expected, [alert["labels"] for _, alert in w.jobs()])
    rule, alert = found[0]
    rules = {"KubePodCrashLooping": "pod-crashloop", "KubePodOOMKilled": "pod-oomkilled"}
    assert rule == rules.get(expected["alertname"], "container-waiting")
    assert alert["source"] == "watch" and alert["labels"]["severity"] == "warning"


def test_an_oom_killed_crash_loop_raises_both_alertmanager_alerts(watching) -> None:
    w = watching("oom-checkout")
    got = sorted((rule, alert["labels"]["alertname"], alert["labels"]["reason"]) for rule, alert in w.jobs())
    assert got == [
        ("pod-crashloop", "KubePodCrashLooping", "CrashLoopBackOff"),
        ("pod-oomkilled", "KubePodOOMKilled", "OOMKilled"),
    ]
    assert {alert["startsAt"] for _, alert in w.jobs()} == {"2026-11-25T09:43:37Z"}


def test_an_old_oom_kill_is_not_news_but_a_new_one_is(watching) -> None:
    """report-worker runs again after an OOM kill hours ago: nothing to say, until its pod is OOMKilled."""
    w = watching("oom-report-worker")
    assert w.jobs() == []
    core_api(w).delete_namespaced_pod("report-worker-kdrdgp7rrx-6wgrv", "analytics")
    jobs = wait_until(lambda: len(w.jobs()) >= 2 and w.jobs(), what="alerts for the new pod")
    assert sorted(alert["labels"]["alertname"] for _, alert in jobs) == [
        "KubePodCrashLooping",
        "KubePodOOMKilled",
    ]
    assert {alert["labels"]["pod"] for _, alert in jobs} != {"report-worker-kdrdgp7rrx-6wgrv"}


@pytest.mark.parametrize(
    ("scenario", "reason"),
    [("image-pull-bad-tag", "ImagePullBackOff"), ("missing-configmap", "CreateContainerConfigError")],
)
def test_image_pull_and_config_errors_are_container_waiting(watching, scenario: str, reason: str) -> None:
    w = watching(scenario)
    [(rule, alert)] = w.jobs()
    assert (rule, alert["labels"]["alertname"], alert["labels"]["reason"]) == (
        "container-waiting",
        "KubeContainerWaiting",
        reason,
    )
    labels = alert["labels"]
    pod = w.pipeline.cluster.get("Pod", labels["namespace"], labels["pod"])
    assert alert["startsAt"] == pod["status"]["startTime"]  # never ran: waiting since the pod started


def test_watch_alert_then_alertmanager_alert_is_one_investigation(watching) -> None:
    w = watching("demo-crashloop")
    assert len(w.jobs()) == 2
    result = w.pipeline.post_alerts(crash_alert(CRASHING[1]))
    assert (result["enqueued"], result["duplicates"]) == (0, 1)
    assert len(w.jobs()) == 2


def test_alertmanager_alert_then_watch_alert_is_one_investigation(make_pipeline) -> None:
    pipeline = make_pipeline("demo-crashloop")
    assert pipeline.post_alerts(crash_alert(CRASHING[1]))["enqueued"] == 1
    w = start_watching(pipeline)
    try:
        # The watch's fan-out job goes to the front of the queue, so the order says nothing.
        assert sorted(alert["source"] for _, alert in w.jobs()) == ["alertmanager", "watch"]
        assert w.pods() == sorted(CRASHING)
        assert w.watcher.stats.alerts == 2  # both sent; intake took the one for x2k4p as a duplicate
    finally:
        w.stop()


def _status(ready: bool, finished: str) -> dict[str, Any]:
    state: dict[str, Any] = (
        # A second ahead, so that second precision cannot make it look Ready for a second already.
        {"running": {"startedAt": now_rfc3339(1)}}
        if ready
        else {
            "waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s restarting failed container"}
        }
    )
    return {
        "status": {
            "containerStatuses": [
                {
                    "name": "app",
                    "image": "registry.example.com/shop/checkout:1.5.0",
                    "imageID": "",
                    "ready": ready,
                    "started": ready,
                    "restartCount": 8,
                    "state": state,
                    "lastState": {
                        "terminated": {
                            "exitCode": 1,
                            "reason": "Error",
                            "startedAt": finished,
                            "finishedAt": finished,
                        }
                    },
                }
            ]
        }
    }


def test_a_recovered_container_resolves_and_a_new_crash_is_a_new_episode(watching) -> None:
    w = watching("demo-crashloop", resolve_after_s=1)
    first = next(alert for _, alert in w.jobs() if alert["labels"]["pod"] == CRASHING[1])
    core = core_api(w)
    merge = {"_content_type": "application/merge-patch+json"}
    core.patch_namespaced_pod_status(CRASHING[1], "shop", _status(True, first["startsAt"]), **merge)
    w.settle(events=1)
    assert counter(w, "watch_alerts_total", alertname="KubePodCrashLooping", status="resolved") == 0
    # Ready for resolve_after_s: the sweep resolves it, and the incident ends.
    wait_until(
        lambda: counter(w, "watch_alerts_total", alertname="KubePodCrashLooping", status="resolved") == 1,
        what="the resolved alert",
    )
    assert not w.redis.exists(incident_key(first))

    crashed = now_rfc3339()
    core.patch_namespaced_pod_status(CRASHING[1], "shop", _status(False, crashed), **merge)
    wait_until(lambda: len(w.jobs()) == 3, what="the new episode's investigation")
    episodes = sorted(alert["startsAt"] for _, alert in w.jobs() if alert["labels"]["pod"] == CRASHING[1])
    assert episodes == sorted([first["startsAt"], crashed])


def test_an_expired_watch_lists_again_and_notices_what_it_missed(watching) -> None:
    """410 Gone: the history the watch would resume from is gone; a new list finds a pod deleted unseen."""
    w = watching("demo-crashloop", timeout_s=1)  # the stream that finds the history gone starts sooner
    store = w.pipeline.cluster.store
    namespace = store.get(of_kind("Namespace"), "", "shop")
    with store.lock:  # one burst: the deletion and then enough changes to push it out of the history
        store.delete(of_kind("Pod"), "shop", CRASHING[1])
        for _ in range(HISTORY + 1):
            store.update(of_kind("Namespace"), namespace)
    wait_until(lambda: w.watcher.stats.lists >= 2, what="a second list")
    wait_until(
        lambda: counter(w, "watch_alerts_total", alertname="KubePodCrashLooping", status="resolved") == 1,
        what="the missed deletion to resolve",
    )
    assert counter(w, "watch_relists_total") == 1
    assert w.pods() == sorted(CRASHING)  # no second alert for the pod still crashing
    assert w.watcher.stats.errors == 0


def test_an_api_server_outage_is_ridden_out_with_backoff(watching) -> None:
    w = watching("demo-crashloop")
    cluster = w.pipeline.cluster
    port = int(cluster.url.rsplit(":", 1)[1])
    cluster.stop()  # ends the open watch; reconnecting fails until the server is back
    wait_until(lambda: w.watcher.stats.errors >= 2, what="failed reconnections")
    cluster.start(port=port)
    wait_until(lambda: counter(w, "watch_errors_total") >= 2, what="the errors to be counted")
    core_api(w).delete_namespaced_pod(CRASHING[1], "shop")  # seen by the resumed watch
    wait_until(lambda: len(w.jobs()) == 3, what="the replacement pod's alert")
    assert w.watcher.stats.lists == 1  # resumed from the last resourceVersion: no new list
    assert counter(w, "watch_alerts_total", alertname="KubePodCrashLooping", status="resolved") == 1


def test_max_events_ends_a_run_in_the_calling_thread(make_pipeline) -> None:
    pipeline = make_pipeline("demo-crashloop")
    watcher = PodWatcher(pipeline.context, max_events=2)

    def touch() -> None:
        assert watcher.ready.wait(10)
        with pipeline.cluster.api_client() as api:
            for value in ("a", "b"):
                client.CoreV1Api(api).patch_namespaced_pod(
                    CRASHING[0], "shop", {"metadata": {"labels": {"t": value}}}
                )

    toucher = threading.Thread(target=touch)
    toucher.start()
    guard = threading.Timer(15, watcher.stop)  # a failure must not leave run() waiting forever
    guard.start()
    stats = watcher.run()
    guard.cancel()
    toucher.join(timeout=5)
    assert (stats.events, stats.alerts, stats.lists, stats.errors) == (2, 2, 1, 0)
