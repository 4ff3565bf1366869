"""The RBAC objects of a generated cluster (``sandbox.generate``): the built-in roles, risky grants, bulk.

Built-in: ``cluster-admin`` (bound to ``system:masters``), and ``admin`` / ``edit`` / ``view``
aggregated from the ``system:aggregate-to-*`` roles by their labels, as kube-controller-manager does.
Risky, one of each, as a security audit should find them: ``cluster-admin`` bound to a user and to a
group; a ``*``-on-``*`` ClusterRole bound to a ServiceAccount; secrets readable cluster-wide; ``pods/exec``
and ``pods/attach``; ``escalate``, ``bind`` and ``impersonate``; creating pods in ``kube-system``; the
``default`` ServiceAccount bound to ``edit``; secrets read reached only through an aggregated
ClusterRole bound to a group. The rest, up to the requested count, are ordinary namespaced readers
and deployers bound to ServiceAccounts, users and groups.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

Obj = dict[str, Any]
GROUP = "rbac.authorization.k8s.io"
API = f"{GROUP}/v1"
_READ = ["get", "list", "watch"]
_AGGREGATE = "rbac.authorization.k8s.io/aggregate-to-"
_USERS = ("alice@example.com", "bob@example.com", "carol@example.com", "dan@example.com", "erin@example.com")
_GROUPS = ("developers", "sre", "qa", "data-eng", "support")


def _rule(groups: list[str], resources: list[str], verbs: list[str]) -> Obj:
    return {"apiGroups": groups, "resources": resources, "verbs": verbs}


class _Rbac:
    def __init__(self, out: list[Obj], uid: Callable[[], str], created: str) -> None:
        self.out, self.uid, self.created, self.count = out, uid, created, 0

    def _meta(self, name: str, namespace: str | None, labels: Obj | None) -> Obj:
        meta: Obj = {"name": name, "uid": self.uid(), "creationTimestamp": self.created}
        if namespace:
            meta["namespace"] = namespace
        if labels:
            meta["labels"] = labels
        return meta

    def role(
        self,
        name: str,
        namespace: str | None,
        rules: list[Obj],
        labels: Obj | None = None,
        aggregate: list[str] | None = None,
    ) -> None:
        obj: Obj = {
            "apiVersion": API,
            "kind": "Role" if namespace else "ClusterRole",
            "metadata": self._meta(name, namespace, labels),
            "rules": rules,
        }
        if aggregate is not None:
            selectors = [{"matchLabels": {label: "true"}} for label in aggregate]
            obj["aggregationRule"] = {"clusterRoleSelectors": selectors}
            obj["rules"] = []
        self.out.append(obj)
        self.count += 1

    def bind(self, name: str, namespace: str | None, role: tuple[str, str], subjects: list[Obj]) -> None:
        self.out.append(
            {
                "apiVersion": API,
                "kind": "RoleBinding" if namespace else "ClusterRoleBinding",
                "metadata": self._meta(name, namespace, None),
                "roleRef": {"apiGroup": GROUP, "kind": role[0], "name": role[1]},
                "subjects": subjects,
            }
        )
        self.count += 1


def _sa(name: str, namespace: str) -> Obj:
    return {"kind": "ServiceAccount", "name": name, "namespace": namespace}


def _user(name: str) -> Obj:
    return {"apiGroup": GROUP, "kind": "User", "name": name}


def _group(name: str) -> Obj:
    return {"apiGroup": GROUP, "kind": "Group", "name": name}


def _builtins(r: _Rbac) -> None:
    everything = [_rule(["*"], ["*"], ["*"]), {"nonResourceURLs": ["*"], "verbs": ["*"]}]
    r.role("cluster-admin", None, everything, {"kubernetes.io/bootstrapping": "rbac-defaults"})
    r.bind("cluster-admin", None, ("ClusterRole", "cluster-admin"), [_group("system:masters")])
    for name in ("admin", "edit", "view"):
        r.role(
            name,
            None,
            [],
            {"kubernetes.io/bootstrapping": "rbac-defaults"},
            aggregate=[f"{_AGGREGATE}{name}"],
        )
    views = [
        _rule([""], ["pods", "services", "endpoints", "configmaps", "persistentvolumeclaims"], _READ),
        _rule(["apps"], ["deployments", "replicasets", "statefulsets", "daemonsets"], _READ),
    ]
    edits = [
        _rule([""], ["pods", "services", "configmaps", "secrets"], ["create", "delete", "patch", "update"]),
        _rule([""], ["pods/exec", "pods/attach"], ["create", "get"]),
        _rule(["apps"], ["deployments", "statefulsets"], ["create", "delete", "patch", "update"]),
    ]
    admins = [_rule([GROUP], ["roles", "rolebindings"], ["create", "delete", "patch", "update", *_READ])]
    for name, rules, levels in (
        ("view", views, ("view", "edit", "admin")),
        ("edit", edits, ("edit", "admin")),
        ("admin", admins, ("admin",)),
    ):
        labels = {
            "kubernetes.io/bootstrapping": "rbac-defaults",
            **{f"{_AGGREGATE}{lv}": "true" for lv in levels},
        }
        r.role(f"system:aggregate-to-{name}", None, rules, labels)
    r.role("system:node-proxier", None, [_rule([""], ["endpoints", "services", "nodes"], _READ)])
    r.bind("system:node-proxier", None, ("ClusterRole", "system:node-proxier"), [_user("system:kube-proxy")])


def _risky(r: _Rbac, namespaces: list[str]) -> None:
    first, second = namespaces[0], namespaces[min(1, len(namespaces) - 1)]
    r.bind("alice-cluster-admin", None, ("ClusterRole", "cluster-admin"), [_user("alice@example.com")])
    r.bind("devops-cluster-admin", None, ("ClusterRole", "cluster-admin"), [_group("devops")])
    r.role("ci-deployer-wildcard", None, [_rule(["*"], ["*"], ["*"])])
    r.bind("ci-deployer-wildcard", None, ("ClusterRole", "ci-deployer-wildcard"), [_sa("deployer", first)])
    r.role("secret-reader", None, [_rule([""], ["secrets"], _READ)])
    r.bind("monitoring-secret-reader", None, ("ClusterRole", "secret-reader"), [_sa("default", second)])
    r.role(
        "debug-exec",
        first,
        [_rule([""], ["pods"], _READ), _rule([""], ["pods/exec", "pods/attach"], ["create"])],
    )
    r.bind("developers-debug-exec", first, ("Role", "debug-exec"), [_group("developers")])
    r.role(
        "rbac-escalator",
        None,
        [
            _rule([GROUP], ["roles", "clusterroles"], ["escalate", "bind"]),
            _rule([""], ["users", "groups", "serviceaccounts"], ["impersonate"]),
        ],
    )
    r.bind("platform-rbac-escalator", None, ("ClusterRole", "rbac-escalator"), [_user("bob@example.com")])
    r.role(
        "kube-system-deployer",
        "kube-system",
        [_rule([""], ["pods"], ["create", "delete"]), _rule(["apps"], ["deployments"], ["create", "patch"])],
    )
    r.bind(
        "bob-kube-system-deployer",
        "kube-system",
        ("Role", "kube-system-deployer"),
        [_user("bob@example.com")],
    )
    r.bind("default-edit", second, ("ClusterRole", "edit"), [_sa("default", second)])
    label = "rbac.example.com/aggregate-to-monitoring"
    r.role("monitoring", None, [], aggregate=[label])
    r.role("monitoring-metrics", None, [_rule([""], ["pods", "nodes", "services"], _READ)], {label: "true"})
    r.role("monitoring-secrets", None, [_rule([""], ["secrets"], ["get", "list"])], {label: "true"})
    r.bind("sre-monitoring", None, ("ClusterRole", "monitoring"), [_group("sre")])


def add(
    out: list[Obj],
    rng: random.Random,
    uid: Callable[[], str],
    namespaces: list[str],
    accounts: dict[str, list[str]],
    count: int,
    created: str,
) -> None:
    """Append about ``count`` RBAC objects (never fewer than the built-in and risky ones) to ``out``."""
    r = _Rbac(out, uid, created)
    _builtins(r)
    if namespaces:
        _risky(r, namespaces)
    i = 0
    while r.count < count and namespaces:
        ns = namespaces[i % len(namespaces)]
        i += 1
        kind = rng.random()
        if kind < 0.1:
            r.role(
                f"crd-reader-{i}", None, [_rule([f"team{i % 7}.example.com"], ["widgets", "gadgets"], _READ)]
            )
            r.bind(f"crd-reader-{i}", None, ("ClusterRole", f"crd-reader-{i}"), [_group(rng.choice(_GROUPS))])
            continue
        if kind < 0.6:
            name, rules = f"reader-{i}", [_rule([""], ["pods", "pods/log", "configmaps", "services"], _READ)]
        else:
            name, rules = (
                f"deployer-{i}",
                [_rule(["apps"], ["deployments", "deployments/scale"], ["get", "list", "patch", "update"])],
            )
        r.role(name, ns, rules)
        pick = rng.random()
        own = accounts.get(ns) or ["default"]
        subject = (
            _sa(rng.choice(own), ns)
            if pick < 0.6
            else _user(rng.choice(_USERS))
            if pick < 0.8
            else _group(rng.choice(_GROUPS))
        )
        r.bind(name, ns, ("Role", name), [subject])
