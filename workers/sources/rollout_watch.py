"""``aiops watch``, Deployments: a new pod template on an opted-in Deployment starts a rollout gate.

A Deployment is opted in by the label or annotation ``aiops.dev/rollout-gate: "true"``
(``rollouts.watch_label``) **and** a loaded rule with ``playbook: rollout-gate`` whose namespace
conditions admit it. ``RolloutTracker`` remembers each Deployment's pod template (no I/O); the watcher
lists Deployments, then watches them from the list's resourceVersion (410 Gone lists again, any other
failure reconnects after a growing backoff) and queues the start of a gate for every template change it
sees (``gate.start_job``, run by a worker). A Deployment that already has an active gate keeps it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from kubernetes import watch
from kubernetes.client.exceptions import ApiException

from workers.spine import queues
from workers.spine.context import Context
from workers.workflows.rollout_gate import config
from workers.workflows.rollout_gate import gate as engine

log = logging.getLogger(__name__)


def template_key(deployment: dict[str, Any]) -> str:
    template = (deployment.get("spec") or {}).get("template") or {}
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:16]


def opted_in(deployment: dict[str, Any], label: str) -> bool:
    meta = deployment.get("metadata") or {}
    marks = {**(meta.get("annotations") or {}), **(meta.get("labels") or {})}
    return str(marks.get(label, "")).lower() == "true"


class RolloutTracker:
    """Which Deployments got a new pod template since they were last seen."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.templates: dict[tuple[str, str], str] = {}

    def snapshot(self, deployments: Iterable[dict[str, Any]]) -> None:
        """A full list: remember every template, start nothing (those rollouts began before us)."""
        for deployment in deployments:
            meta = deployment.get("metadata") or {}
            self.templates[(meta.get("namespace", ""), meta.get("name", ""))] = template_key(deployment)

    def event(self, kind: str, deployment: dict[str, Any]) -> tuple[str, str] | None:
        """The (namespace, name) whose gate should start for this event, if any."""
        meta = deployment.get("metadata") or {}
        key = (str(meta.get("namespace", "")), str(meta.get("name", "")))
        if kind == "DELETED":
            self.templates.pop(key, None)
            return None
        new, old = template_key(deployment), self.templates.get(key)
        self.templates[key] = new
        changed = old is not None and new != old
        return key if changed and opted_in(deployment, self.label) else None


class RolloutWatcher:
    """Watches Deployments and starts gates, until ``stopping`` is set."""

    def __init__(
        self, context: Context, namespaces: Sequence[str | None], stopping: threading.Event | None = None
    ) -> None:
        self.context = context
        self.scopes = list(namespaces) or [None]
        self.stopping = stopping or threading.Event()
        self.tracker = RolloutTracker(context.settings.rollouts.watch_label)
        self.started: list[str] = []
        self._lock = threading.Lock()
        self._streams: set[watch.Watch] = set()

    def stop(self) -> None:
        """Stop watching, from another thread: open streams are cut so that it takes effect at once."""
        self.stopping.set()
        with self._lock:
            streams = list(self._streams)
        for stream in streams:
            stream.stop()

    def start_gate(self, namespace: str, name: str) -> str | None:
        """Queue the start of a gate when a rule admits the Deployment; the job's id, or None.

        A worker starts it (``gate.start_job``): the watcher only queues jobs, as it does for alerts.
        """
        if config.rule_for(self.context.rules, namespace, name) is None:
            log.info("deployment %s/%s has a new template; no rollout-gate rule admits it", namespace, name)
            return None
        job = queues.queue(queues.ALERTS, self.context.redis).enqueue_call(
            engine.start_job,
            args=(namespace, name, "aiops watch"),
            **queues.rq_options(engine.LOOK_OPTIONS),
        )
        log.info("rollout gate queued for %s/%s (job %s)", namespace, name, job.id)
        with self._lock:
            self.started.append(job.id)
        return str(job.id)

    def run(self) -> None:
        threads = [
            threading.Thread(
                target=self._scope, args=(scope,), name=f"watch-deployments:{scope or '*'}", daemon=True
            )
            for scope in self.scopes
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _calls(self, scope: str | None) -> tuple[Any, tuple[Any, ...]]:
        apps = self.context.kube.apps
        if scope is None:
            return apps.list_deployment_for_all_namespaces, ()
        return apps.list_namespaced_deployment, (scope,)

    def _scope(self, scope: str | None) -> None:
        delay, version = 0.0, None
        deny = set(self.context.settings.namespaces.deny)
        func, args = self._calls(scope)
        timeout = self.context.kube.timeout_s
        while not self.stopping.is_set():
            try:
                if version is None:
                    raw = func(*args, _preload_content=False, _request_timeout=timeout)
                    data = json.loads(raw.data)
                    items = [d for d in data.get("items") or [] if d["metadata"]["namespace"] not in deny]
                    with self._lock:
                        self.tracker.snapshot(items)
                    version = (data.get("metadata") or {}).get("resourceVersion")
                stream = watch.Watch(return_type=object)
                with self._lock:
                    self._streams.add(stream)
                for event in stream.stream(
                    func, *args, resource_version=version, timeout_seconds=60, _request_timeout=(timeout, 90)
                ):
                    obj = event.get("raw_object") or {}
                    version = (obj.get("metadata") or {}).get("resourceVersion") or version
                    if (obj.get("metadata") or {}).get("namespace") in deny:
                        continue
                    with self._lock:
                        found = self.tracker.event(str(event.get("type")), obj)
                    if found is not None:
                        self.start_gate(*found)
                    if self.stopping.is_set():
                        break
                with self._lock:
                    self._streams.discard(stream)
                delay = 0.0
            except ApiException as exc:
                if exc.status == 410:
                    version = None
                    continue
                delay = min(30.0, max(0.5, delay * 2))
                log.warning("watch of deployments failed (%s), retrying in %.1fs", exc.status, delay)
                self.stopping.wait(delay)
            except Exception as exc:  # the watch must outlive any one failure
                delay = min(30.0, max(0.5, delay * 2))
                log.warning("watch of deployments failed: %s; retrying in %.1fs", exc, delay)
                self.stopping.wait(delay)
