"""Gates in Redis: one JSON document per gate, an index by time, and one slot per Deployment.

``aiops:rollout:{id}`` holds the gate, ``aiops:rollouts`` its id scored by creation time, and
``aiops:rollout:active:{namespace}/{deployment}`` the id of the Deployment's active gate: it is taken
with ``SET NX``, so two requests racing for one Deployment start one gate and the other gets
``Conflict``. Only the gate's own job writes the document after it is created.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import redis

from workers.errors import Conflict, NotFound
from workers.integrations.redis.connection import as_text
from workers.workflows.rollout_gate.model import Gate, GateState

PREFIX = "aiops:rollout:"
INDEX = "aiops:rollouts"
ACTIVE = "aiops:rollout:active:"
MAX_LIMIT = 500


def active_key(namespace: str, deployment: str) -> str:
    return f"{ACTIVE}{namespace}/{deployment}"


class GateStore:
    """Create, read, update and list gates."""

    def __init__(self, connection: redis.Redis, clock: Callable[[], datetime], retention_s: int) -> None:
        self.redis = connection
        self.clock = clock
        self.retention_s = retention_s

    def create(self, gate: Gate) -> Gate:
        """Store a new gate and take its Deployment's slot; ``Conflict`` names the gate holding it."""
        slot = active_key(gate.namespace, gate.deployment)
        if not self.redis.set(slot, gate.id, nx=True, ex=self.retention_s):
            holder = self.active_for(gate.namespace, gate.deployment)
            if holder is not None:
                raise Conflict(
                    f"gate {holder.id} is already {holder.state} for deployment "
                    f"{gate.namespace}/{gate.deployment}"
                )
            self.redis.set(slot, gate.id, ex=self.retention_s)  # the holder ended without freeing it
        pipe = self.redis.pipeline()
        pipe.set(PREFIX + gate.id, gate.model_dump_json(), ex=self.retention_s)
        pipe.zadd(INDEX, {gate.id: self.clock().timestamp()})
        pipe.execute()
        return gate

    def get(self, gate_id: str) -> Gate:
        raw = self.redis.get(PREFIX + gate_id) if gate_id else None
        if not raw:
            raise NotFound(f"no rollout gate {gate_id}")
        return Gate.model_validate_json(raw)

    def save(self, gate: Gate) -> Gate:
        """Write ``gate`` back; a final gate gives its Deployment's slot back."""
        self.redis.set(PREFIX + gate.id, gate.model_dump_json(), ex=self.retention_s)
        if gate.state.final:
            self.release(gate)
        return gate

    def release(self, gate: Gate) -> None:
        slot = active_key(gate.namespace, gate.deployment)
        with self.redis.pipeline() as pipe:
            try:
                pipe.watch(slot)
                if as_text(pipe.get(slot) or b"") == gate.id:
                    pipe.multi()
                    pipe.delete(slot)
                    pipe.execute()
            except redis.WatchError:
                pass  # another gate took the slot meanwhile: it is not ours to free

    def active_for(self, namespace: str, deployment: str) -> Gate | None:
        """The Deployment's gate that is still waiting, running or halting, if any."""
        raw = self.redis.get(active_key(namespace, deployment))
        if not raw:
            return None
        try:
            gate = self.get(as_text(raw))
        except NotFound:
            return None
        return gate if gate.state.active else None

    def list(
        self,
        namespace: str | None = None,
        deployment: str | None = None,
        state: GateState | None = None,
        limit: int = 50,
    ) -> list[Gate]:
        """Gates newest first, filtered by namespace, Deployment and state."""
        cutoff = self.clock().timestamp() - self.retention_s
        self.redis.zremrangebyscore(INDEX, "-inf", cutoff)
        found: list[Gate] = []
        for raw_id in self.redis.zrevrange(INDEX, 0, -1):
            try:
                gate = self.get(as_text(raw_id))
            except NotFound:
                continue
            if namespace and gate.namespace != namespace:
                continue
            if deployment and gate.deployment != deployment:
                continue
            if state and gate.state != state:
                continue
            found.append(gate)
            if len(found) >= min(limit, MAX_LIMIT):
                break
        return found
