"""Helpers for tests of the pod watch source: scenarios with extra pods, a watcher in a thread, waits."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rq import Queue

from tests.support.pipeline import Pipeline
from workers.sources.watch import PodWatcher
from workers.spine import intake, queues

SCENARIOS = Path(__file__).resolve().parents[2] / "sandbox" / "scenarios"


CRASHING = ("checkout-7d9f8b6c5-q8wzt", "checkout-7d9f8b6c5-x2k4p")


DENIED_POD = "coredns-6f6b679f8f-kqzfl"


OTHER_POD = "toolbox-5d8c7b9f6-wq2rt"


def with_extra_pods(tmp_path: Path) -> Path:
    """The demo scenario plus the same crash-looping pod in kube-system (denied) and in tools."""
    scenario = Path(shutil.copytree(SCENARIOS / "demo-crashloop", tmp_path / "scenario"))
    template = next(yaml.safe_load_all((scenario / "pods.yaml").read_text()))
    documents: list[dict[str, Any]] = []
    for namespace, name, uid in (
        ("kube-system", DENIED_POD, "0a4c9e1f-5b8d-4e2a-9c7f-1d3e5a7b9c01"),
        ("tools", OTHER_POD, "0a4c9e1f-5b8d-4e2a-9c7f-1d3e5a7b9c02"),
    ):
        pod = yaml.safe_load(yaml.safe_dump(template))
        pod["metadata"] = {
            "name": name,
            "namespace": namespace,
            "uid": uid,
            "creationTimestamp": template["metadata"]["creationTimestamp"],
            "labels": {"app": name.split("-")[0]},
        }
        pod["spec"]["serviceAccountName"] = "default"
        documents += [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}, pod]
    (scenario / "extra.yaml").write_text(yaml.safe_dump_all(documents, sort_keys=False))
    return scenario


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "a condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class Watching:
    """A pipeline with a ``PodWatcher`` running in a thread."""

    pipeline: Pipeline
    watcher: PodWatcher
    thread: threading.Thread
    outcome: dict[str, Any]

    @property
    def redis(self) -> Any:
        return self.pipeline.context.redis

    def jobs(self) -> list[tuple[str, dict[str, Any]]]:
        """(rule, alert) of every investigation queued on ``alerts``, in queue order."""
        queue = Queue(queues.ALERTS, connection=self.redis)
        found: list[tuple[str, dict[str, Any]]] = []
        for job in queue.get_jobs():
            if job.func_name == "workers.spine.investigation.investigate_job":
                found.append((job.args[1], job.args[0]))
            elif job.func_name == "workers.spine.intake.fan_out_job":  # several alerts in one intake call
                # The batch holds the whole payload; its claim says which alerts were new.
                claim = job.args[1] if len(job.args) > 1 else None
                new = set(intake.claimed(self.redis, claim)) if claim else None
                found.extend(
                    (item["args"][1], item["args"][0])
                    for item in job.args[0]
                    if item["kind"] == "investigate" and (new is None or item.get("alert") in new)
                )
        return found

    def pods(self, alertname: str | None = None) -> list[str]:
        return sorted(
            alert["labels"]["pod"]
            for _, alert in self.jobs()
            if alertname is None or alert["labels"]["alertname"] == alertname
        )

    def settle(self, events: int) -> None:
        """Wait until the watcher has handled ``events`` watch events and queued what they made."""
        wait_until(lambda: self.watcher.stats.events >= events, what=f"{events} watch events")

    def stop(self) -> None:
        self.watcher.stop()
        self.thread.join(timeout=5)
        assert not self.thread.is_alive(), "the watcher did not stop"
        if "error" in self.outcome:
            raise self.outcome["error"]


def start_watching(
    pipeline: Pipeline, namespaces: list[str] | None = None, **watch_settings: Any
) -> Watching:
    settings = pipeline.context.settings.watch
    settings.timeout_s = 2  # streams end and resume often, as they do (less often) on a real cluster
    settings.backoff_max_s = 0.5
    for key, value in watch_settings.items():  # after the defaults above, so a test may override them
        setattr(settings, key, value)
    watcher = PodWatcher(pipeline.context, namespaces)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["stats"] = watcher.run()
        except Exception as exc:  # surfaced by Watching.stop in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="test-watcher", daemon=True)
    thread.start()
    assert watcher.ready.wait(10), "the watcher did not list the pods in time"
    return Watching(pipeline, watcher, thread, outcome)
