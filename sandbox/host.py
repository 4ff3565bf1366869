"""What the controller modules use of ``sandbox.controllers.Controllers``, as a Protocol.

The Deployment, HPA, PodDisruptionBudget and aggregation controllers and the writer are driven by
``Controllers`` and call back into it; typing them against this Protocol (which ``Controllers``
satisfies structurally) keeps them from importing the module that imports them.
"""

from __future__ import annotations

import random
from typing import Any, Protocol

from sandbox.resources import ResourceType
from sandbox.store import ObjectStore


class ControllerHost(Protocol):
    """The store, the scenario and the reconcile and event hooks of the running controllers."""

    store: ObjectStore
    scenario: dict[str, Any]
    """The parsed scenario.yaml."""
    rng: random.Random

    def emit(self, event: dict[str, Any], behaviour: Any = None, per_restart: int = 0) -> None:
        """Store an Event (one that grows with a pod's restarts when ``per_restart`` is set)."""

    def object_event(self, obj: dict[str, Any], reason: str, message: str, component: str) -> None:
        """Store a Normal Event about ``obj``."""

    def admit_pod(self, pod: dict[str, Any]) -> dict[str, Any]:
        """Default, schedule and address a pod that is about to be created."""

    def reconcile_replicaset(self, rs: dict[str, Any]) -> dict[str, Any]:
        """Create or delete pods until ``spec.replicas`` run; the refreshed ReplicaSet."""

    def created(self, rtype: ResourceType, obj: dict[str, Any]) -> None:
        """Run the controllers after ``obj`` was created."""

    def updated(self, rtype: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> None:
        """Run the controllers after ``old`` became ``new``."""

    def deleted(self, rtype: ResourceType, obj: dict[str, Any], propagation: str | None) -> None:
        """Run the controllers (and garbage collection) after ``obj`` was deleted."""
