"""Render the chart with Helm's own engine (helm-python-sdk), once per set of values, for every test here.

Rendering is offline: no cluster is contacted and ``lookup`` returns nothing, so generated tokens and
passwords are new on each render.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART_DIR = REPO / "helm" / "aiops-responder"
RULES_LIBRARY = REPO / "rules" / "library"
RELEASE = "aiops"
NAMESPACE = "aiops-system"
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest with schemas.
KUBE_VERSIONS = ("1.30", "1.37")

GENERATED_TOKEN_ROLES = ("webhook", "viewer", "approver")


def _library_rules() -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(RULES_LIBRARY.glob("*.yaml"))}


# Each set is rendered once per test session. "default" is the chart as installed with no values.
VALUE_SETS: dict[str, dict[str, Any]] = {
    "default": {},
    "read-only": {"remediation": {"enabled": False}},
    "namespaced": {"watchNamespaces": ["shop", "payments"]},
    "external-redis": {
        "redis": {"existingSecret": "aiops-redis-url", "existingSecretKey": "url"},
        "networkPolicy": {"enabled": True, "externalRedis": {"cidrs": ["10.20.0.0/16"]}},
    },
    "keda": {
        "worker": {"keda": {"enabled": True, "listLength": 5}},
        "networkPolicy": {"enabled": True},
    },
    # Deferred intake on an external Sentinel-monitored Redis, workers scaled by KEDA through the Sentinels.
    "keda-sentinel": {
        "redis": {"existingSecret": "aiops-redis-url", "existingSecretKey": "url", "minReplicasAck": 1},
        "worker": {
            "keda": {
                "enabled": True,
                "redis": {
                    "passwordSecret": {
                        "name": "aiops-redis-keda",
                        "key": "password",
                        "usernameKey": "username",
                    },
                    "sentinel": {
                        "addresses": "sentinel-0.redis:26379,sentinel-1.redis:26379,sentinel-2.redis:26379",
                        "master": "aiops",
                        "passwordSecret": {"name": "aiops-sentinel", "key": "password"},
                    },
                },
            }
        },
        "settings": {"alerts": {"intake": "deferred"}},
    },
    "prometheus-operator": {
        "prometheusOperator": {
            "serviceMonitor": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
            "prometheusRule": {"enabled": True},
            "alertmanagerConfig": {"enabled": True},
        },
    },
    "ingress": {
        "ingress": {
            "enabled": True,
            "className": "nginx",
            "host": "aiops.example.org",
            "tls": {"enabled": True},
        },
        "networkPolicy": {"enabled": True, "receiver": {"fromAnywhere": False}},
    },
    # Remediation in every namespace: one ClusterRole, the denied namespaces left to the admission policy.
    "cluster-wide": {"rbac": {"clusterWide": True}, "watcher": {"enabled": True}},
    # Everything else at once: own tokens and rules, audit of Secrets, HPA, the watcher.
    "custom": {
        "auth": {
            "tokens": [
                {"name": "alertmanager", "role": "webhook", "token": "wh-0123456789abcdef"},
                {"name": "alice", "role": "approver", "token": "ap-0123456789abcdef"},
                {"name": "grafana", "role": "viewer", "sha256": "ab" * 32},
            ]
        },
        "rules": {"files": _library_rules()},
        "securityAudit": {"readSecrets": True},
        "worker": {"autoscaling": {"enabled": True, "maxReplicas": 6}},
        "watcher": {"enabled": True},
        "redis": {"bundled": {"auth": {"enabled": False}, "persistence": {"enabled": False}}},
        "settings": {
            "namespaces": {"deny": ["kube-system"]},
            "limits": {"max_body_bytes": 2097152},
            "logging": {"level": "DEBUG"},
        },
    },
}


@dataclass
class Rendered:
    """One render of the chart: the files Helm produced and the Kubernetes objects in them."""

    name: str
    values: dict[str, Any]
    files: dict[str, str]
    objects: list[dict[str, Any]] = field(default_factory=list)

    @property
    def notes(self) -> str:
        return next(text for path, text in self.files.items() if path.endswith("NOTES.txt"))

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [obj for obj in self.objects if obj["kind"] == kind]

    def one(self, kind: str, name: str) -> dict[str, Any]:
        """The object of ``kind`` named ``name``, or whose name ends with ``-name``."""
        found = [
            obj
            for obj in self.of_kind(kind)
            if obj["metadata"]["name"] == name or obj["metadata"]["name"].endswith(f"-{name}")
        ]
        assert len(found) == 1, f"{self.name}: expected one {kind} {name!r}, found {len(found)}"
        return found[0]

    def pod_specs(self) -> list[tuple[str, dict[str, Any]]]:
        """(``Kind/name``, pod spec) of every workload."""
        return [
            (f"{obj['kind']}/{obj['metadata']['name']}", obj["spec"]["template"]["spec"])
            for obj in self.objects
            if obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job")
        ]

    def containers(self) -> list[tuple[str, dict[str, Any]]]:
        """(``Kind/name/container``, container) of every container, init containers included."""
        found = []
        for where, spec in self.pod_specs():
            for key in ("initContainers", "containers"):
                found += [(f"{where}/{c['name']}", c) for c in spec.get(key, [])]
        return found

    def role_rules(self) -> list[tuple[str, dict[str, Any]]]:
        return [
            (f"{obj['kind']}/{obj['metadata']['name']}", rule)
            for obj in self.objects
            if obj["kind"] in ("Role", "ClusterRole")
            for rule in obj.get("rules", [])
        ]


def render(chart: helm.Chart, name: str, values: dict[str, Any]) -> Rendered:
    files = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    objects = []
    for path, text in sorted(files.items()):
        if not path.endswith(".yaml"):
            continue
        objects += [{**document, "_source": path} for document in yaml.safe_load_all(text) if document]
    return Rendered(name, values, files, objects)


@pytest.fixture(scope="session")
def chart() -> Iterator[helm.Chart]:
    with helm.Chart.load(CHART_DIR) as loaded:
        yield loaded


@pytest.fixture(scope="session")
def render_set(chart: helm.Chart) -> Callable[[str], Rendered]:
    """Render a named set of values, once per session."""
    cache: dict[str, Rendered] = {}

    def get(name: str) -> Rendered:
        if name not in cache:
            cache[name] = render(chart, name, VALUE_SETS[name])
        return cache[name]

    return get


@pytest.fixture(scope="module", params=list(VALUE_SETS))
def rendered(request: pytest.FixtureRequest, render_set: Callable[[str], Rendered]) -> Rendered:
    """Each set of values in turn."""
    return render_set(request.param)


def manifest(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as the API server would get it (without the test's bookkeeping keys)."""
    return {key: value for key, value in obj.items() if not key.startswith("_")}
