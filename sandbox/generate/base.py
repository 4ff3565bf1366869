"""What the generator's parts share: sizes, the seeded builder, metadata and owner references."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from sandbox.units import rfc3339

Obj = dict[str, Any]
FAKE_PASSWORD = "not-a-real-password-0000"  # noqa: S105 - synthetic, for the secrets checks
FAKE_AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
"""AWS's documented example access key id: secret-shaped, and known to be fake."""


@dataclass(frozen=True)
class Size:
    """How big the generated cluster is."""

    pods: int = 5000
    nodes: int = 500
    rbac: int = 2000
    namespaces: int = 0
    """0: one namespace per 250 pods (at least 3)."""

    @property
    def namespace_count(self) -> int:
        return self.namespaces or max(3, self.pods // 250)


@dataclass
class Builder:
    """The generator's state: its seeded random source, clock, size, and the objects so far."""

    rng: random.Random
    now: float
    size: Size
    objects: list[Obj] = field(default_factory=list)
    nodes: list[Obj] = field(default_factory=list)
    ip: int = 0
    made: set[str] = field(default_factory=set)
    """Features made at least once: the first chance of each is taken, so small clusters have them all."""

    def roll(self, bands: tuple[tuple[str, float], ...]) -> float:
        """A random number in [0, 1), except that it first lands once in each named band, in order.

        ``bands`` are ``(feature, upper bound)`` pairs over consecutive ranges starting at 0.
        """
        low = 0.0
        for feature, high in bands:
            if self.first(feature):
                return (low + high) / 2
            low = high
        return self.rng.random()

    def first(self, feature: str) -> bool:
        """True the first time ``feature`` is asked for (and records it)."""
        if feature in self.made:
            return False
        self.made.add(feature)
        return True

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def ago(self, low_s: float, high_s: float) -> str:
        return rfc3339(self.now - self.rng.uniform(low_s, high_s))

    def suffix(self, length: int = 5) -> str:
        return "".join(self.rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(length))

    def pod_ip(self) -> str:
        self.ip += 1
        return f"10.{64 + self.ip // 62500}.{self.ip // 250 % 250}.{self.ip % 250 + 2}"

    def add(self, obj: Obj) -> Obj:
        self.objects.append(obj)
        return obj


def meta(name: str, namespace: str | None, g: Builder, created: str, **extra: Any) -> Obj:
    meta: Obj = {"name": name, "uid": g.uid(), "creationTimestamp": created}
    if namespace is not None:
        meta["namespace"] = namespace
    meta.update({k: v for k, v in extra.items() if v})
    return meta


def owner(obj: Obj) -> Obj:
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
