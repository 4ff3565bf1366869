"""The object store: every object by type, namespace and name, with resourceVersions and a watch log.

All reads and writes go through one re-entrant lock; ``changed`` is a condition on it that watch
streams wait on. Each write takes the next resourceVersion (a cluster-wide counter, as in etcd)
and appends an ``ADDED``/``MODIFIED``/``DELETED`` entry to a bounded history that watches replay.
"""

from __future__ import annotations

import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.resources import RESOURCES, ResourceType
from sandbox.units import SandboxClock, rfc3339

HISTORY = 10_000
"""How many watch events the store keeps; a watch from an older resourceVersion gets 410 Expired."""

Key = tuple[str, str]


def clone(obj: Any) -> Any:
    """A deep copy of JSON-shaped data (dicts, lists, scalars), several times faster than copy.deepcopy."""
    if isinstance(obj, dict):
        return {k: clone(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [clone(v) for v in obj]
    return obj


@dataclass(frozen=True)
class Change:
    """One entry of the watch history."""

    resource_version: int
    type: str
    rtype: ResourceType
    obj: dict[str, Any]


class ObjectStore:
    """Objects, side data (pod logs, pod behaviours) and the resourceVersion counter."""

    def __init__(self, clock: SandboxClock) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.closed = False
        self._rv = 0
        self._objects: dict[str, dict[Key, dict[str, Any]]] = {r.kind: {} for r in RESOURCES}
        self._history: deque[Change] = deque(maxlen=HISTORY)
        self.logs: dict[tuple[str, str, str, bool], str] = {}
        """Pod logs by (namespace, pod, container, previous)."""
        self.behaviours: dict[str, Any] = {}
        """``scenario.PodBehaviour`` of the pods whose status the sandbox computes, by pod uid."""
        self.event_growth: dict[Key, tuple[Any, int]] = {}
        """Events whose count grows with a pod's restarts: event key -> (behaviour, events per restart)."""
        self.manifest_growth: tuple[float, float] = (clock.time(), 10.0)
        """(loaded_at, restart period) for manifest pods in CrashLoopBackOff."""

    @property
    def resource_version(self) -> str:
        with self.lock:
            return str(self._rv)

    @property
    def oldest_resource_version(self) -> int:
        with self.lock:
            return self._history[0].resource_version if self._history else self._rv

    @staticmethod
    def key(obj: dict[str, Any]) -> Key:
        metadata = obj["metadata"]
        return metadata.get("namespace") or "", metadata["name"]

    def stamp(self, obj: dict[str, Any], rtype: ResourceType) -> dict[str, Any]:
        """Fill what the server sets on create: uid, creationTimestamp, generation."""
        metadata = obj.setdefault("metadata", {})
        if not metadata.get("uid"):
            metadata["uid"] = str(uuid.uuid4())
        if not metadata.get("creationTimestamp"):
            metadata["creationTimestamp"] = rfc3339(self.clock.time())
        if rtype.has_generation and not metadata.get("generation"):
            metadata["generation"] = 1
        obj["apiVersion"], obj["kind"] = rtype.api_version, rtype.kind
        return obj

    def get(self, rtype: ResourceType, namespace: str, name: str) -> dict[str, Any] | None:
        """A copy of the stored object, or None."""
        with self.lock:
            obj = self._objects[rtype.kind].get((namespace if rtype.namespaced else "", name))
            return clone(obj) if obj is not None else None

    def items(
        self,
        rtype: ResourceType,
        namespace: str | None = None,
        keep: Callable[[dict[str, Any]], bool] | None = None,
    ) -> list[dict[str, Any]]:
        """Copies of the stored objects of a type, sorted by namespace and name.

        ``keep`` filters the stored objects before they are copied (copying is the expensive part).
        """
        with self.lock:
            found = [
                clone(obj)
                for (ns, _), obj in sorted(self._objects[rtype.kind].items())
                if (namespace is None or ns == namespace) and (keep is None or keep(obj))
            ]
        return found

    def _record(self, kind: str, rtype: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        # ``obj`` is a private copy that is never mutated again, so the history may share it.
        self._history.append(Change(self._rv, kind, rtype, obj))
        self.changed.notify_all()
        copied: dict[str, Any] = clone(obj)
        return copied

    def create(self, rtype: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        """Store a new object (the caller has checked it does not exist); returns the stored copy."""
        obj = clone(obj)
        with self.lock:
            self._objects[rtype.kind][self.key(obj)] = obj
            return self._record("ADDED", rtype, obj)

    def update(self, rtype: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        """Replace a stored object with a new resourceVersion; returns the stored copy."""
        obj = clone(obj)
        with self.lock:
            self._objects[rtype.kind][self.key(obj)] = obj
            return self._record("MODIFIED", rtype, obj)

    def delete(self, rtype: ResourceType, namespace: str, name: str) -> dict[str, Any] | None:
        """Remove an object; returns it (with the deletion's resourceVersion), or None."""
        with self.lock:
            obj = self._objects[rtype.kind].pop((namespace if rtype.namespaced else "", name), None)
            if obj is None:
                return None
            return self._record("DELETED", rtype, clone(obj))

    def changes_since(self, resource_version: int, kind: str) -> list[Change]:
        """History entries of one kind after ``resource_version``, oldest first."""
        with self.lock:
            return [
                c for c in self._history if c.resource_version > resource_version and c.rtype.kind == kind
            ]

    def owned_by(self, rtype: ResourceType, owner: dict[str, Any]) -> list[dict[str, Any]]:
        """Objects of ``rtype`` in the owner's namespace whose controller reference names the owner."""
        namespace, name = self.key(owner)
        uid = owner["metadata"].get("uid")
        found = []
        for obj in self.items(rtype, namespace):
            for ref in obj["metadata"].get("ownerReferences") or []:
                if ref.get("kind") == owner["kind"] and ref.get("name") == name and ref.get("uid") == uid:
                    found.append(obj)
                    break
        return found

    def close(self) -> None:
        """Wake every watch so that it can end (server shutdown)."""
        with self.lock:
            self.closed = True
            self.changed.notify_all()
