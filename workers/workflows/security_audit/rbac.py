"""RBAC checks, and the effective permissions of every subject aggregated over all its bindings.

Roles are resolved with ClusterRole aggregation (``aggregationRule``), and a subject inherits what
is bound to its groups: a ServiceAccount is in ``system:serviceaccounts``,
``system:serviceaccounts:<namespace>`` and ``system:authenticated``; a user in ``system:authenticated``.
Subject-level checks are skipped for subjects that can already do everything (the cluster-admin and
wildcard findings cover them), so one over-powered subject is one finding, not five.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from workers.domain import Finding
from workers.settings import SecuritySettings
from workers.workflows.security_audit.inventory import (
    Inventory,
    Obj,
    finding,
    labels_of,
    name_of,
    namespace_of,
    selector_matches,
)

BUILTIN_ROLES = frozenset({"cluster-admin", "admin", "edit", "view"})
BROAD_GROUPS = ("system:serviceaccounts", "system:authenticated", "system:unauthenticated")
WORKLOAD_RESOURCES = (
    ("", "pods"),
    ("apps", "deployments"),
    ("apps", "daemonsets"),
    ("apps", "statefulsets"),
    ("apps", "replicasets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
)
ALL = "*"


@dataclass(frozen=True)
class Permission:
    """One verb on one resource (``group/resource``, subresources as ``pods/exec``), in a scope."""

    scope: str
    """A namespace, or ``*`` for cluster-wide (a ClusterRoleBinding)."""
    group: str
    resource: str
    verb: str
    names: tuple[str, ...] = ()
    """``resourceNames`` the rule is limited to; empty: every object."""

    def __str__(self) -> str:
        group = f"{self.group}/" if self.group else ""
        names = f"[{','.join(self.names)}]" if self.names else ""
        return f"{self.verb} {group}{self.resource}{names} @{self.scope}"


def subject_key(subject: dict[str, Any], binding_namespace: str | None) -> str:
    kind = subject.get("kind", "")
    if kind == "ServiceAccount":
        return f"ServiceAccount:{subject.get('namespace') or binding_namespace}/{subject.get('name')}"
    return f"{kind}:{subject.get('name')}"


def is_system_subject(key: str) -> bool:
    """Control-plane identities; the broad ``system:`` groups (all service accounts, everyone) are not."""
    kind, _, name = key.partition(":")
    if kind == "ServiceAccount":
        return name.startswith("kube-system/")
    if any(name == group or name.startswith(f"{group}:") for group in BROAD_GROUPS):
        return False
    return name.startswith("system:")


def groups_of(key: str) -> list[str]:
    kind, _, name = key.partition(":")
    if kind == "ServiceAccount":
        namespace = name.split("/", 1)[0]
        return [
            "Group:system:serviceaccounts",
            f"Group:system:serviceaccounts:{namespace}",
            "Group:system:authenticated",
        ]
    if kind == "User":
        return ["Group:system:authenticated"]
    return []


def _rules_by_role(inventory: Inventory) -> tuple[dict[str, list[Obj]], dict[tuple[str, str], list[Obj]]]:
    cluster_roles = {name_of(role): role for role in inventory.kind("ClusterRole")}
    rules = {name: list(role.get("rules") or []) for name, role in cluster_roles.items()}
    aggregated = {
        name: (role.get("aggregationRule") or {}).get("clusterRoleSelectors") or []
        for name, role in cluster_roles.items()
        if role.get("aggregationRule")
    }
    # The aggregation controller repeats until stable, so an aggregated role may aggregate another.
    for _ in range(len(aggregated) + 1):
        changed = False
        for name, selectors in aggregated.items():
            own = list(cluster_roles[name].get("rules") or [])
            for other, role in cluster_roles.items():
                if other != name and any(selector_matches(s, labels_of(role)) for s in selectors):
                    own.extend(rule for rule in rules[other] if rule not in own)
            if own != rules[name]:
                rules[name], changed = own, True
        if not changed:
            break
    roles = {(namespace_of(r) or "", name_of(r)): list(r.get("rules") or []) for r in inventory.kind("Role")}
    return rules, roles


def _expand(rules: list[Obj], scope: str) -> set[Permission]:
    found: set[Permission] = set()
    for rule in rules:
        names = tuple(sorted(rule.get("resourceNames") or []))
        for group in rule.get("apiGroups") or [""]:
            for resource in rule.get("resources") or []:
                for verb in rule.get("verbs") or []:
                    found.add(Permission(scope, group, resource, verb, names))
    return found


@dataclass
class Grant:
    binding_kind: str
    binding: str
    namespace: str | None
    role_kind: str
    role: str
    subjects: list[str]
    permissions: set[Permission]


def grants(inventory: Inventory) -> list[Grant]:
    """Every binding with its subjects and the permissions its role gives, in the binding's scope."""
    cluster_rules, role_rules = _rules_by_role(inventory)
    found: list[Grant] = []
    for kind in ("ClusterRoleBinding", "RoleBinding"):
        for binding in inventory.kind(kind):
            namespace = namespace_of(binding) if kind == "RoleBinding" else None
            ref = binding.get("roleRef") or {}
            role_kind, role = str(ref.get("kind", "")), str(ref.get("name", ""))
            if role_kind == "ClusterRole":
                rules = cluster_rules.get(role, [])
            else:
                rules = role_rules.get((namespace or "", role), [])
            subjects = [subject_key(s, namespace) for s in binding.get("subjects") or []]
            perms = _expand(rules, namespace or ALL)
            found.append(Grant(kind, name_of(binding), namespace, role_kind, role, subjects, perms))
    return found


def effective_permissions(inventory: Inventory) -> dict[str, set[Permission]]:
    """Each subject's permissions: its own bindings plus those of its groups."""
    direct: dict[str, set[Permission]] = defaultdict(set)
    for grant in grants(inventory):
        for subject in grant.subjects:
            direct[subject] |= grant.permissions
    subjects = set(direct)
    subjects |= {
        f"ServiceAccount:{namespace_of(sa)}/{name_of(sa)}" for sa in inventory.kind("ServiceAccount")
    }
    effective: dict[str, set[Permission]] = {}
    for subject in subjects:
        perms = set(direct.get(subject, set()))
        for group in groups_of(subject):
            perms |= direct.get(group, set())
        if perms:
            effective[subject] = perms
    return effective


def allows(
    perms: set[Permission], scope: str, group: str, resource: str, verbs: tuple[str, ...]
) -> list[Permission]:
    """The permissions (on every object, not named ones) allowing one of ``verbs`` on a resource."""
    return [
        p
        for p in perms
        if not p.names
        and p.scope in (ALL, scope)
        and p.group in (ALL, group)
        and p.resource in (ALL, resource)
        and p.verb in (ALL, *verbs)
    ]


def _verbs(perms: list[Permission]) -> str:
    return "/".join(sorted({p.verb for p in perms}))


def _scopes(perms: list[Permission]) -> str:
    return ", ".join(sorted({p.scope for p in perms}))


def _resources(perms: list[Permission]) -> str:
    return ", ".join(sorted({p.resource for p in perms}))


def _subject_parts(key: str) -> tuple[str, str | None, str]:
    kind, _, name = key.partition(":")
    if kind == "ServiceAccount":
        namespace, _, short = name.partition("/")
        return kind, namespace, short
    return kind, None, name


def check(inventory: Inventory, settings: SecuritySettings) -> tuple[list[Finding], dict[str, Any], int]:
    """RBAC findings, the section's summary (effective permissions, who can do what) and objects audited."""
    found: list[Finding] = []
    all_grants = grants(inventory)
    bound_to: dict[tuple[str, str | None, str], list[str]] = defaultdict(list)
    for grant in all_grants:
        key = (grant.role_kind, grant.namespace if grant.role_kind == "Role" else None, grant.role)
        bound_to[key].extend(grant.subjects)
    cluster_rules, role_rules = _rules_by_role(inventory)
    roles: list[tuple[str, str | None, str, list[Obj]]] = [
        ("ClusterRole", None, name, rules) for name, rules in cluster_rules.items()
    ] + [("Role", namespace or None, name, rules) for (namespace, name), rules in role_rules.items()]
    for kind, namespace, name, rules in roles:
        if name.startswith("system:") or (kind == "ClusterRole" and name in BUILTIN_ROLES):
            continue
        subjects = sorted(set(bound_to.get((kind, namespace, name), [])))
        where = f"{kind} {namespace + '/' if namespace else ''}{name}"
        if any(ALL in (r.get("verbs") or []) and ALL in (r.get("resources") or []) for r in rules):
            found.append(
                finding(
                    "rbac.wildcard_all",
                    settings,
                    namespace=namespace,
                    kind=kind,
                    name=name,
                    message=f"{where} grants every verb on every resource",
                    evidence={"bound_subjects": subjects},
                )
            )
        elif any(ALL in (r.get("verbs") or []) or ALL in (r.get("resources") or []) for r in rules):
            wild = [r for r in rules if ALL in (r.get("verbs") or []) or ALL in (r.get("resources") or [])]
            found.append(
                finding(
                    "rbac.wildcard",
                    settings,
                    namespace=namespace,
                    kind=kind,
                    name=name,
                    message=f"{where} uses a wildcard in {len(wild)} rule(s)",
                    evidence={"rules": wild[:5], "bound_subjects": subjects},
                )
            )
    for grant in all_grants:
        outsiders = [s for s in grant.subjects if not is_system_subject(s)]
        where = f"{grant.binding_kind} {grant.namespace + '/' if grant.namespace else ''}{grant.binding}"
        if grant.role_kind == "ClusterRole" and grant.role == "cluster-admin" and outsiders:
            found.append(
                finding(
                    "rbac.cluster_admin",
                    settings,
                    namespace=grant.namespace,
                    kind=grant.binding_kind,
                    name=grant.binding,
                    message=f"{where} binds cluster-admin to {', '.join(outsiders)}",
                    evidence={"subjects": outsiders},
                )
            )
        defaults = [s for s in grant.subjects if s.startswith("ServiceAccount:") and s.endswith("/default")]
        if defaults and grant.permissions:
            found.append(
                finding(
                    "rbac.default_sa_bound",
                    settings,
                    namespace=grant.namespace,
                    kind=grant.binding_kind,
                    name=grant.binding,
                    message=f"{where} binds {grant.role_kind} {grant.role} to {', '.join(defaults)}",
                    evidence={"subjects": defaults, "role": grant.role},
                )
            )
    effective = effective_permissions(inventory)
    who: dict[str, list[str]] = {"read_secrets": [], "exec_pods": [], "escalate": []}
    for subject, perms in sorted(effective.items()):
        secret_reads = allows(perms, ALL, "", "secrets", ("get", "list", "watch"))
        secret_any = [
            p for p in perms if p.resource in (ALL, "secrets") and p.verb in (ALL, "get", "list", "watch")
        ]
        execs = [
            p
            for p in perms
            if p.resource in (ALL, "pods/exec", "pods/attach") and p.verb in (ALL, "create", "get")
        ]
        escalations = [p for p in perms if p.verb in (ALL, "escalate", "bind", "impersonate") and not p.names]
        who["read_secrets"] += [
            f"{subject} @{p.scope}" for p in sorted({p.scope: p for p in secret_any}.values(), key=str)
        ]
        who["exec_pods"] += [
            f"{subject} @{p.scope}" for p in sorted({p.scope: p for p in execs}.values(), key=str)
        ]
        if is_system_subject(subject) or allows(perms, ALL, ALL, ALL, (ALL,)):
            continue
        kind, namespace, name = _subject_parts(subject)
        if secret_reads:
            found.append(
                finding(
                    "rbac.secrets_cluster_read",
                    settings,
                    namespace=namespace,
                    kind=kind,
                    name=name,
                    message=f"{subject} can {_verbs(secret_reads)} secrets in every namespace",
                    evidence={"permissions": sorted(map(str, secret_reads))},
                )
            )
        if execs:
            found.append(
                finding(
                    "rbac.pod_exec",
                    settings,
                    namespace=namespace,
                    kind=kind,
                    name=name,
                    message=f"{subject} can exec or attach into pods in {_scopes(execs)}",
                    evidence={"permissions": sorted(map(str, execs))},
                )
            )
        if escalations:
            who["escalate"].append(subject)
            found.append(
                finding(
                    "rbac.escalation_verbs",
                    settings,
                    namespace=namespace,
                    kind=kind,
                    name=name,
                    message=f"{subject} can {'/'.join(sorted({p.verb for p in escalations}))}",
                    evidence={"permissions": sorted(map(str, escalations))},
                )
            )
        creates = [
            p
            for group, resource in WORKLOAD_RESOURCES
            for p in allows(perms, "kube-system", group, resource, ("create",))
        ]
        if creates:
            found.append(
                finding(
                    "rbac.kube_system_create",
                    settings,
                    namespace=namespace,
                    kind=kind,
                    name=name,
                    message=f"{subject} can create {_resources(creates)} in kube-system",
                    evidence={"permissions": sorted(map(str, creates))},
                )
            )
    summary = {
        "subjects": len(effective),
        "bindings": len(all_grants),
        "roles": len(roles),
        "who_can": who,
        "permissions": {subject: sorted(map(str, perms)) for subject, perms in sorted(effective.items())},
    }
    return found, summary, len(roles) + len(all_grants)
