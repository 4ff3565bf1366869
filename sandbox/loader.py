"""Loading a scenario folder: manifests, logs and scenario.yaml into a fresh store.

Every manifest is normalised, defaulted and validated against the Kubernetes schema; all problems
are collected and raised together as a ``ScenarioError`` naming file, document and object. Owner
references are linked by kind and name (their uid is fixed up), so authors need not invent uids.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from sandbox import rollouts, scenario
from sandbox.controllers import Controllers
from sandbox.defaults import apply_defaults
from sandbox.errors import ScenarioError
from sandbox.logs import load_logs
from sandbox.resources import ResourceType, by_kind, of_kind
from sandbox.store import ObjectStore, clone
from sandbox.units import normalize
from sandbox.validation import validate

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
DEFAULT_NODE = {
    "apiVersion": "v1",
    "kind": "Node",
    "metadata": {"name": "sandbox-node-1", "labels": {"kubernetes.io/hostname": "sandbox-node-1",
                                                      "kubernetes.io/os": "linux"}},
    "status": {
        "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
        "allocatable": {"cpu": "3800m", "memory": "15Gi", "pods": "110"},
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                        "message": "kubelet is posting ready status"}],
        "addresses": [{"type": "InternalIP", "address": "10.0.0.11"},
                      {"type": "Hostname", "address": "sandbox-node-1"}],
        "nodeInfo": {"kubeletVersion": "v1.30.0", "containerRuntimeVersion": "containerd://1.7.15",
                     "kernelVersion": "6.1.0", "osImage": "Debian GNU/Linux 12 (bookworm)",
                     "architecture": "amd64",
                     "operatingSystem": "linux", "machineID": "", "systemUUID": "", "bootID": "",
                     "kubeProxyVersion": "v1.30.0"},
    },
}  # fmt: skip


_SAFE_LOADER = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
"""libyaml's safe loader when present: ten times faster on generated 5,000-pod clusters."""
_PARSED: dict[tuple[str, int, int], list[Any]] = {}
"""Parsed manifest files by (path, mtime, size): tests load the same scenario many times."""


def _parse(path: Path) -> list[Any]:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _PARSED:
        _PARSED[key] = list(yaml.load_all(path.read_text(), Loader=_SAFE_LOADER))
    parsed: list[Any] = clone(_PARSED[key])
    return parsed


def _documents(path: Path, problems: list[str]) -> list[tuple[str, dict[str, Any]]]:
    try:
        docs = _parse(path)
    except yaml.YAMLError as exc:
        problems.append(f"{path}: not valid YAML: {exc}")
        return []
    found = []
    for i, doc in enumerate(docs):
        where = f"{path}: document {i + 1}"
        if doc is None:
            continue
        if not isinstance(doc, dict) or "kind" not in doc or "apiVersion" not in doc:
            problems.append(f"{where}: not a Kubernetes object (needs apiVersion and kind)")
        elif doc["kind"] == "List":
            found += [(f"{where} item {j + 1}", item) for j, item in enumerate(doc.get("items") or [])]
        else:
            found.append((where, doc))
    return found


def _manifest_files(directory: Path) -> list[Path]:
    files = [p for p in sorted(directory.rglob("*")) if p.suffix in (".yaml", ".yml") and p.is_file()]
    return [p for p in files if p.relative_to(directory).parts[0] != "logs" and p.name != "scenario.yaml"]


def _admit(
    where: str, raw: dict[str, Any], problems: list[str]
) -> tuple[ResourceType, dict[str, Any]] | None:
    rtype = by_kind(raw["kind"])
    name = (raw.get("metadata") or {}).get("name", "?")
    if rtype is None or rtype.api_version != raw["apiVersion"]:
        problems.append(
            f"{where}: {raw['apiVersion']} {raw['kind']} {name!r} is not a kind the sandbox serves"
        )
        return None
    obj = normalize(raw)
    meta = obj.setdefault("metadata", {})
    if rtype.namespaced:
        meta.setdefault("namespace", "default")
    else:
        meta.pop("namespace", None)
    return rtype, obj


def _link_owners(store: ObjectStore, loaded: list[tuple[str, ResourceType, dict[str, Any]]]) -> None:
    uids = {
        (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"]): obj["metadata"]["uid"]
        for _, _, obj in loaded
    }
    for _, _, obj in loaded:
        for ref in obj["metadata"].get("ownerReferences") or []:
            uid = uids.get((ref.get("kind"), obj["metadata"].get("namespace", ""), ref.get("name")))
            if uid is not None:
                ref["uid"] = uid


def load_into(directory: Path, store: ObjectStore, controllers: Controllers) -> dict[str, Any]:
    """Fill ``store`` from a scenario folder; returns the parsed scenario.yaml (``{}`` when absent)."""
    if not directory.is_dir():
        raise ScenarioError([f"{directory}: not a directory"])
    problems: list[str] = []
    data = scenario.load(directory / "scenario.yaml")
    loaded: list[tuple[str, ResourceType, dict[str, Any]]] = []
    for path in _manifest_files(directory):
        for where, raw in _documents(path, problems):
            admitted = _admit(where, raw, problems)
            if admitted is not None:
                rtype, obj = admitted
                loaded.append((where, rtype, apply_defaults(rtype, store.stamp(obj, rtype))))
    namespaces = {obj["metadata"]["name"] for _, rtype, obj in loaded if rtype.kind == "Namespace"}
    needed = set(SYSTEM_NAMESPACES) | {obj["metadata"]["namespace"] for _, r, obj in loaded if r.namespaced}
    extra: list[tuple[str, ResourceType, dict[str, Any]]] = []
    ns_type, sa_type, node_type = of_kind("Namespace"), of_kind("ServiceAccount"), of_kind("Node")
    for name in sorted(needed - namespaces):
        obj = {"metadata": {"name": name}}
        extra.append(("(implicit)", ns_type, apply_defaults(ns_type, store.stamp(obj, ns_type))))
    accounts = {
        (o["metadata"]["namespace"], o["metadata"]["name"])
        for _, r, o in loaded
        if r.kind == "ServiceAccount"
    }
    for name in sorted(needed | namespaces):
        if (name, "default") not in accounts:
            extra.append(
                (
                    "(implicit)",
                    sa_type,
                    store.stamp({"metadata": {"name": "default", "namespace": name}}, sa_type),
                )
            )
    if not any(r.kind == "Node" for _, r, _ in loaded):
        extra.append(("(implicit)", node_type, store.stamp(clone(DEFAULT_NODE), node_type)))
    loaded = extra + loaded
    _link_owners(store, loaded)
    seen: dict[tuple[str, str, str], str] = {}
    for where, rtype, obj in loaded:
        key = (rtype.kind, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        label = f"{where}: {rtype.kind} {'/'.join(key[1:]).lstrip('/')}"
        if key in seen:
            problems.append(f"{label}: already defined in {seen[key]}")
            continue
        seen[key] = where
        problems += [f"{label}: {field}: {message}" for field, message in validate(obj, rtype)]
    if problems:
        raise ScenarioError(problems)
    controllers.scenario.update(data)
    with store.lock:
        for _, rtype, obj in loaded:
            store.create(rtype, obj)
        store.logs.update(load_logs(directory))
        store.manifest_growth = (store.clock.time(), float(data.get("restart_period_s", 10.0)))
        _start_workloads(store, controllers)
    return data


def _unschedulable(pod: dict[str, Any]) -> bool:
    """A pod the scheduler could not place (``PodScheduled`` False): it stays Pending as written."""
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "PodScheduled" and c.get("status") == "False" for c in conditions)


def _owner_uids(store: ObjectStore, kind: str) -> set[str]:
    """The uids that objects of ``kind`` name as owners, gathered once (per owner is quadratic)."""
    refs = (o["metadata"].get("ownerReferences") or [] for o in store.items(of_kind(kind)))
    return {ref.get("uid", "") for group in refs for ref in group}


def _start_workloads(store: ObjectStore, controllers: Controllers) -> None:
    """Give manifest pods without a status a running behaviour, and create what workloads lack."""
    for pod in store.items(of_kind("Pod")):
        if not (pod.get("status") or {}).get("containerStatuses") and not _unschedulable(pod):
            admitted = controllers.admit_pod(pod)
            pod["spec"], pod["status"] = admitted["spec"], admitted["status"]
            controllers.pod_started(store.update(of_kind("Pod"), pod))
    pod_owners = _owner_uids(store, "Pod")
    for rs in store.items(of_kind("ReplicaSet")):
        orphaned = rs["spec"].get("replicas", 1) and rs["metadata"]["uid"] not in pod_owners
        if not rs.get("status") or orphaned:
            controllers.reconcile_replicaset(rs)
    rs_owners = _owner_uids(store, "ReplicaSet")
    for dep in store.items(of_kind("Deployment")):
        if dep["metadata"]["uid"] not in rs_owners:
            rollouts.reconcile(controllers, dep)
        elif not dep.get("status"):
            rollouts.update_status(controllers, dep, None)
