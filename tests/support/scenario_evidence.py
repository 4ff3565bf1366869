"""Build the evidence dict of docs/ARCHITECTURE.md straight from a scenario folder's files.

This is pure file reading, with no sandbox server, no Prometheus and no redaction: it lets unit tests
check that the classifier and the proposals reach each scenario's ``expect`` from the same objects
the sandbox serves. The shape follows what ``workers.spine.evidence`` gathers (events without
``firstTimestamp``, revisions with image lists and env variable names), so that a scenario passing
here sees the same facts through the real pipeline, which is tested elsewhere against the server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from workers.integrations.kubernetes.quantities import parse_bytes

SCENARIOS_DIR = Path(__file__).resolve().parents[2] / "sandbox" / "scenarios"
USAGE_MEMORY = "sandbox.aiops.dev/usage-memory"
REVISION = "deployment.kubernetes.io/revision"
LOG_TAIL_LINES = 100


@dataclass
class Scenario:
    """One scenario folder: its objects, its log files and its scenario.yaml."""

    path: Path
    objects: list[dict[str, Any]] = field(default_factory=list)
    spec: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name

    def of_kind(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        return [
            o
            for o in self.objects
            if o.get("kind") == kind and (namespace is None or o["metadata"].get("namespace") == namespace)
        ]

    def get(self, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        return next((o for o in self.of_kind(kind, namespace) if o["metadata"]["name"] == name), None)


def manifest_files(path: Path) -> list[Path]:
    """The manifest files of a scenario folder (every *.yaml but scenario.yaml and logs/)."""
    return [
        p
        for p in sorted(path.rglob("*.y*ml"))
        if p.name != "scenario.yaml" and "logs" not in p.relative_to(path).parts
    ]


def load_scenario(path: Path) -> Scenario:
    """Read every manifest document and scenario.yaml of one folder."""
    scenario = Scenario(path)
    for file in manifest_files(path):
        scenario.objects += [doc for doc in yaml.safe_load_all(file.read_text(encoding="utf-8")) if doc]
    spec_file = path / "scenario.yaml"
    if spec_file.exists():
        scenario.spec = yaml.safe_load(spec_file.read_text(encoding="utf-8")) or {}
    return scenario


def scenario_dirs(root: Path = SCENARIOS_DIR, *, with_expect: bool = True) -> list[Path]:
    """Scenario folders, those whose scenario.yaml has a diagnosis ``expect`` when ``with_expect``."""
    found = []
    for path in sorted(p for p in root.iterdir() if p.is_dir()):
        spec = path / "scenario.yaml"
        data = yaml.safe_load(spec.read_text(encoding="utf-8")) if spec.exists() else None
        expect = (data or {}).get("expect") or {}
        if not with_expect or (expect.get("alert") and expect.get("category")):
            found.append(path)
    return found


def _is_ready(pod: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def target_pod(scenario: Scenario) -> dict[str, Any]:
    """The pod named by ``expect.alert``, else the only pod that is not Ready."""
    alert = (scenario.spec.get("expect") or {}).get("alert") or {}
    if alert.get("pod"):
        pod = scenario.get("Pod", alert.get("namespace"), alert["pod"])
        if pod is None:
            raise LookupError(
                f"{scenario.name}: expect.alert names pod {alert['pod']!r}, which is not defined"
            )
        return pod
    failing = [pod for pod in scenario.of_kind("Pod") if not _is_ready(pod)]
    if len(failing) != 1:
        raise LookupError(
            f"{scenario.name}: expected exactly one pod that is not Ready, found {len(failing)}"
        )
    return failing[0]


def _container_entries(pod: dict[str, Any]) -> list[dict[str, Any]]:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    entries = []
    for init, specs, statuses in (
        (True, spec.get("initContainers"), status.get("initContainerStatuses")),
        (False, spec.get("containers"), status.get("containerStatuses")),
    ):
        by_name = {s["name"]: s for s in statuses or []}
        for container in specs or []:
            state = by_name.get(container["name"], {})
            entries.append(
                {
                    "name": container["name"],
                    "image": container.get("image"),
                    "init": init,
                    "ready": bool(state.get("ready")),
                    "restartCount": int(state.get("restartCount") or 0),
                    "waiting": (state.get("state") or {}).get("waiting"),
                    "lastTerminated": (state.get("lastState") or {}).get("terminated"),
                    "resources": container.get("resources") or {},
                    "livenessProbe": container.get("livenessProbe"),
                    "readinessProbe": container.get("readinessProbe"),
                    "startupProbe": container.get("startupProbe"),
                    "env": [env.get("name") for env in container.get("env") or []],
                }
            )
    return entries


def _logs(scenario: Scenario, namespace: str, pod: str, containers: list[dict[str, Any]]) -> dict[str, str]:
    logs = {}
    for container in containers:
        path = scenario.path / "logs" / namespace / pod / f"{container['name']}.previous.log"
        if path.exists():
            lines = path.read_text(encoding="utf-8").splitlines()[-LOG_TAIL_LINES:]
            logs[container["name"]] = "\n".join(lines) + "\n"
    return logs


def _events(scenario: Scenario, namespace: str, names: dict[str, str]) -> list[dict[str, Any]]:
    events = []
    for event in scenario.of_kind("Event", namespace):
        involved = event.get("involvedObject") or {}
        if names.get(involved.get("kind")) != involved.get("name"):
            continue
        events.append(
            {
                "type": event.get("type"),
                "reason": event.get("reason"),
                "message": event.get("message"),
                "count": event.get("count") or 1,
                "lastTimestamp": event.get("lastTimestamp"),
                "object": f"{involved.get('kind')}/{involved.get('name')}",
            }
        )
    return sorted(events, key=lambda e: e.get("lastTimestamp") or "")


def _controller(obj: dict[str, Any], kind: str) -> str | None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("kind") == kind and ref.get("controller"):
            return ref["name"]
    return None


def _owner(scenario: Scenario, pod: dict[str, Any]) -> dict[str, Any] | None:
    namespace = pod["metadata"]["namespace"]
    rs_name = _controller(pod, "ReplicaSet")
    rs = scenario.get("ReplicaSet", namespace, rs_name) if rs_name else None
    deployment_name = _controller(rs, "Deployment") if rs else None
    deployment = scenario.get("Deployment", namespace, deployment_name) if deployment_name else None
    if rs is None or deployment is None:
        return None
    revisions = []
    for other in scenario.of_kind("ReplicaSet", namespace):
        if _controller(other, "Deployment") != deployment_name:
            continue
        containers = other["spec"]["template"]["spec"].get("containers") or []
        revisions.append(
            {
                "revision": int(other["metadata"]["annotations"][REVISION]),
                "replicaset": other["metadata"]["name"],
                "images": [c["image"] for c in containers],
                "env": {c["name"]: sorted(e["name"] for e in c.get("env") or []) for c in containers},
                "created": other["metadata"].get("creationTimestamp"),
            }
        )
    revisions.sort(key=lambda r: -r["revision"])
    current = int(deployment["metadata"]["annotations"][REVISION])
    current_rs = next((r for r in revisions if r["revision"] == current), None)
    return {
        "replicaset": rs["metadata"]["name"],
        "deployment": deployment_name,
        "revision": current,
        "rolled_out_at": current_rs["created"] if current_rs else None,
        "revisions": revisions,
    }


def _node(scenario: Scenario, pod: dict[str, Any]) -> dict[str, Any] | None:
    name = (pod.get("spec") or {}).get("nodeName")
    node = scenario.get("Node", None, name) if name else None
    if node is None:
        return None
    conditions = (node.get("status") or {}).get("conditions") or []
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    return {"name": name, "ready": ready, "conditions": conditions}


def _metrics(pod: dict[str, Any], containers: list[dict[str, Any]]) -> dict[str, float | None]:
    usage = (pod["metadata"].get("annotations") or {}).get(USAGE_MEMORY)
    failing = max(containers, key=lambda c: (not c["ready"], c["restartCount"]), default=None)
    limit = ((failing or {}).get("resources") or {}).get("limits", {}).get("memory") if failing else None
    return {
        "restarts_1h": float(sum(c["restartCount"] for c in containers)),
        "memory_peak_bytes": float(parse_bytes(usage)) if usage else None,
        "memory_limit_bytes": float(parse_bytes(limit)) if limit else None,
        "cpu_throttled_ratio": None,
    }


def build_evidence(scenario: Scenario) -> dict[str, Any]:
    """The evidence dict for the scenario's target pod, as the pipeline would gather it."""
    pod = target_pod(scenario)
    namespace, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    containers = _container_entries(pod)
    owner = _owner(scenario, pod)
    names = {"Pod": name}
    if owner:
        names.update({"ReplicaSet": owner["replicaset"], "Deployment": owner["deployment"]})
    return {
        "target": {"kind": "Pod", "namespace": namespace, "name": name},
        "pod": pod,
        "containers": containers,
        "previous_logs": _logs(scenario, namespace, name, containers),
        "events": _events(scenario, namespace, names),
        "owner": owner,
        "node": _node(scenario, pod),
        "metrics": _metrics(pod, containers),
        "queries": {},
        "errors": [],
    }
