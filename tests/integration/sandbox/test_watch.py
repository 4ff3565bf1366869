"""Watch streams through kubernetes.watch.Watch: replay from a resourceVersion, live events, timeouts."""

from __future__ import annotations

import threading
import time

from kubernetes import client, watch

from sandbox.server import SandboxCluster
from tests.support.sandbox_api import CRASHING


def _collect(stream: watch.Watch, func: object, count: int, *args: object, **kwargs: object) -> list[dict]:
    """The first ``count`` events of a watch (stopping it then), or all of them until its timeout."""
    events = []
    for event in stream.stream(func, *args, **kwargs):
        events.append(event)
        if len(events) == count:
            stream.stop()
    return events


def test_watch_without_resource_version_starts_with_added_for_all(core: client.CoreV1Api) -> None:
    events = _collect(watch.Watch(), core.list_namespaced_pod, 3, "shop", timeout_seconds=30)
    assert [e["type"] for e in events] == ["ADDED"] * 3
    assert {e["object"].metadata.name for e in events} >= set(CRASHING)
    assert isinstance(events[0]["object"], client.V1Pod)


def test_watch_honours_timeout_seconds(core: client.CoreV1Api) -> None:
    started = time.monotonic()
    events = list(watch.Watch().stream(core.list_namespaced_pod, "kube-system", timeout_seconds=1))
    assert events == []
    assert 0.9 <= time.monotonic() - started < 5


def test_watch_replays_changes_after_a_resource_version(core: client.CoreV1Api) -> None:
    listed = core.list_namespaced_pod("shop", label_selector="app=checkout")
    core.delete_namespaced_pod(CRASHING[0], "shop")
    events = _collect(
        watch.Watch(), core.list_namespaced_pod, 2, "shop", label_selector="app=checkout",
        resource_version=listed.metadata.resource_version, timeout_seconds=30,
    )  # fmt: skip
    kinds = [(e["type"], e["object"].metadata.name) for e in events]
    assert kinds[0] == ("DELETED", CRASHING[0])
    assert kinds[1][0] == "ADDED" and kinds[1][1].startswith("checkout-7d9f8b6c5-")
    versions = [int(e["object"].metadata.resource_version) for e in events]
    assert versions == sorted(versions) and versions[0] > int(listed.metadata.resource_version)


def test_watch_delivers_live_events(cluster: SandboxCluster, core: client.CoreV1Api) -> None:
    rv = core.list_namespaced_pod("shop").metadata.resource_version
    seen: list[tuple[str, str]] = []
    stream = watch.Watch()

    def consume() -> None:
        for event in stream.stream(core.list_namespaced_pod, "shop", resource_version=rv, timeout_seconds=10):
            seen.append((event["type"], event["object"].metadata.name))
            if event["type"] == "DELETED":
                stream.stop()

    thread = threading.Thread(target=consume)
    thread.start()
    time.sleep(0.2)
    with cluster.api_client() as api:
        client.CoreV1Api(api).delete_namespaced_pod(CRASHING[1], "shop")
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert ("DELETED", CRASHING[1]) in seen


def test_watch_field_selector_and_stop_on_server_shutdown(
    cluster: SandboxCluster, core: client.CoreV1Api
) -> None:
    events = list(
        watch.Watch().stream(
            core.list_pod_for_all_namespaces, field_selector=f"metadata.name={CRASHING[1]}", timeout_seconds=1
        )
    )
    assert [(e["type"], e["object"].metadata.name) for e in events] == [("ADDED", CRASHING[1])]
    finished = threading.Event()

    def consume() -> None:
        for _ in watch.Watch().stream(core.list_namespaced_pod, "shop", timeout_seconds=60):
            pass
        finished.set()

    threading.Thread(target=consume, daemon=True).start()
    time.sleep(0.2)
    cluster.stop()
    assert finished.wait(5)
