"""Shared parts of the US4 rollout-gate tests: a sandbox shop whose checkout rolls out pod by pod, the
library's rollout-gate rule with a short window, and helpers to roll out, start gates and wait.

Traffic: 50 requests/s per Ready pod, 0.1 % 5xx, but image 2.1.0 answers 12 % with a 5xx; the ``quiet``
Deployment serves nothing. Pods turn Ready 4 s after they start (maxSurge 1, maxUnavailable 0), so six
replicas take about 24 s to roll over and a gate that decides within seconds halts in the first three.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from rules.registry import RuleRegistry
from tests.support.pipeline import Pipeline, auth
from workers.settings import DEFAULT_RULES_DIR

GOOD, BAD = "registry.example.com/shop/checkout:2.0.4", "registry.example.com/shop/checkout:2.1.0"
FIRST = "registry.example.com/shop/checkout:2.0.3"
STEP_S = 4
MANIFESTS = f"""
apiVersion: v1
kind: Namespace
metadata: {{name: shop}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkout
  namespace: shop
  labels: {{aiops.dev/rollout-gate: "true"}}
  annotations: {{sandbox.aiops.dev/rollout-step-seconds: "{STEP_S}"}}
spec:
  replicas: 6
  strategy: {{type: RollingUpdate, rollingUpdate: {{maxSurge: 1, maxUnavailable: 0}}}}
  selector: {{matchLabels: {{app: checkout}}}}
  template:
    metadata: {{labels: {{app: checkout}}}}
    spec:
      containers: [{{name: app, image: "{FIRST}"}}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: quiet
  namespace: shop
  annotations: {{sandbox.aiops.dev/rollout-step-seconds: "{STEP_S}"}}
spec:
  replicas: 3
  strategy: {{type: RollingUpdate, rollingUpdate: {{maxSurge: 1, maxUnavailable: 0}}}}
  selector: {{matchLabels: {{app: quiet}}}}
  template:
    metadata: {{labels: {{app: quiet}}}}
    spec:
      containers: [{{name: app, image: "registry.example.com/shop/quiet:1.0.0"}}]
"""
SCENARIO = """
traffic:
  rps: 50
  error_ratio: 0.001
  images: {"shop/checkout:2.1.0": 0.12}
  workloads: {shop/quiet: {rps: 0}}
outcomes:
  - deployment: shop/checkout
    container: app
    cases: [{state: running}]
  - deployment: shop/quiet
    container: app
    cases: [{state: running}]
"""


def write_scenario(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "shop.yaml").write_text(MANIFESTS)
    (folder / "scenario.yaml").write_text(SCENARIO)
    return folder


def gate_rules(directory: Path, **rollout: Any) -> Path:
    """The library's rollout-gate rule with a 20 s window of 2 s rounds (``rollout`` overrides), and an
    undo validated once, 12 s after it ran (the old pods are back by then)."""
    directory.mkdir(parents=True, exist_ok=True)
    rule = yaml.safe_load((DEFAULT_RULES_DIR / "rollout-gate.yaml").read_text())
    rule["rollout"].update({"window": "20s", "interval": "2s", **rollout})
    rule["validate"]["after"], rule["validate"]["for"] = "12s", "1s"
    (directory / "rollout-gate.yaml").write_text(yaml.safe_dump(rule, sort_keys=False))
    return directory


def fast_settings(pipeline: Pipeline, rules_dir: Path) -> None:
    """Look every second; the rules from ``rules_dir``."""
    settings = pipeline.context.settings
    pipeline.context.settings = settings.model_copy(
        update={"rollouts": settings.rollouts.model_copy(update={"check_every_s": 1.0})}
    )
    pipeline.context.rules = RuleRegistry(rules_dir)


def apps(pipeline: Pipeline) -> client.AppsV1Api:
    return client.AppsV1Api(pipeline.cluster.api_client())


def set_image(pipeline: Pipeline, image: str, deployment: str = "checkout") -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}
    apps(pipeline).patch_namespaced_deployment(deployment, "shop", patch)


def wait_ready(pipeline: Pipeline, deployment: str = "checkout", timeout: float = 60.0) -> None:
    """Until the Deployment's rollout is complete (every replica updated and available)."""
    api = apps(pipeline)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dep = api.read_namespaced_deployment(deployment, "shop")
        want = dep.spec.replicas
        if (dep.status.updated_replicas, dep.status.available_replicas, dep.status.replicas) == (want,) * 3:
            return
        time.sleep(0.25)
    raise TimeoutError(f"deployment shop/{deployment} did not finish its rollout")


def start_gate(pipeline: Pipeline, deployment: str = "checkout") -> dict[str, Any]:
    response = pipeline.client.post(
        "/api/v1/rollouts", json={"namespace": "shop", "deployment": deployment}, headers=auth("approver")
    )
    assert response.status_code == 202, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def gate(pipeline: Pipeline, gate_id: str) -> dict[str, Any]:
    response = pipeline.client.get(f"/api/v1/rollouts/{gate_id}", headers=auth("viewer"))
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def until_state(pipeline: Pipeline, gate_id: str, states: set[str], timeout: float = 90.0) -> dict[str, Any]:
    """Run the workers until the gate reaches one of ``states``."""

    def reached() -> dict[str, Any] | None:
        found = gate(pipeline, gate_id)
        return found if found["state"] in states else None

    found: dict[str, Any] = pipeline.work(until=reached, timeout=timeout)
    return found


def until(pipeline: Pipeline, check: Callable[[], Any], timeout: float = 90.0) -> Any:
    return pipeline.work(until=check, timeout=timeout)
