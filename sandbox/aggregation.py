"""ClusterRole aggregation, as kube-controller-manager's clusterrole-aggregation controller does it.

A ClusterRole with an ``aggregationRule`` gets, as its ``rules``, the rules of every other ClusterRole
whose labels match one of its ``clusterRoleSelectors``: roles taken in name order, each distinct rule
once. Run when any ClusterRole changed since the last sync, so a labelled role created or edited
over the API shows up in the aggregate on the next request.
"""

from __future__ import annotations

from typing import Any

from sandbox.host import ControllerHost
from sandbox.resources import of_kind
from sandbox.selectors import selector_matches

CLUSTER_ROLE = of_kind("ClusterRole")


def aggregated_rules(role: dict[str, Any], roles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rules ``role``'s aggregationRule selects from ``roles``."""
    selectors = (role.get("aggregationRule") or {}).get("clusterRoleSelectors") or []
    rules: list[dict[str, Any]] = []
    for other in sorted(roles, key=lambda r: r["metadata"]["name"]):
        if other["metadata"]["name"] == role["metadata"]["name"]:
            continue
        labels = other["metadata"].get("labels") or {}
        if not any(selector_matches(s, labels) for s in selectors):
            continue
        for rule in other.get("rules") or []:
            if rule not in rules:
                rules.append(rule)
    return rules


class AggregationController:
    """Fills the rules of aggregated ClusterRoles; callers hold ``store.lock``."""

    def __init__(self, controllers: ControllerHost) -> None:
        self.store = controllers.store
        self._seen = -1

    def sync(self) -> None:
        version = int(self.store.resource_version)
        if version == self._seen:
            return
        last, self._seen = self._seen, version
        stale = last < 0 or last < self.store.oldest_resource_version - 1
        if not stale and not self.store.changes_since(last, "ClusterRole"):
            return
        for _ in range(8):  # an aggregate may select another aggregate: repeat until nothing changes
            roles, changed = self.store.items(CLUSTER_ROLE), False
            for role in roles:
                if role.get("aggregationRule") is None:
                    continue
                rules = aggregated_rules(role, roles)
                if rules != (role.get("rules") or []):
                    role["rules"] = rules
                    self.store.update(CLUSTER_ROLE, role)
                    changed = True
            if not changed:
                break
        self._seen = int(self.store.resource_version)
