"""Quantities, timestamps and the sandbox clock.

Kubernetes writes resource amounts as quantity strings (``256Mi``, ``500m``) and times as RFC 3339;
the API server canonicalises both, so objects loaded from YAML are normalised here the same way.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

_SUFFIXES: dict[str, int | Decimal] = {
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": 1,
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
}  # fmt: skip
_QUANTITY = re.compile(r"^([+-]?[0-9.]+)(([eE][+-]?[0-9]+)|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")

# Keys whose value is a map of resource name -> quantity, and keys holding one quantity.
_QUANTITY_MAPS = {"limits", "requests", "capacity", "allocatable", "hard", "used", "overhead"}
_QUANTITY_SCALARS = {"sizeLimit", "averageValue"}


def parse_quantity(value: str | int | float) -> float:
    """The amount a quantity stands for, in base units (cores, bytes): ``"256Mi"`` -> 268435456.0."""
    if isinstance(value, bool):
        raise ValueError(f"not a quantity: {value!r}")
    if isinstance(value, int | float):
        return float(value)
    match = _QUANTITY.match(value.strip())
    if match is None:
        raise ValueError(f"not a quantity: {value!r}")
    number, suffix, exponent = match.group(1), match.group(2) or "", match.group(3)
    try:
        amount = Decimal(number)
    except InvalidOperation as exc:
        raise ValueError(f"not a quantity: {value!r}") from exc
    if exponent:
        return float(amount * Decimal(10) ** int(exponent[1:]))
    return float(amount * Decimal(_SUFFIXES[suffix]))


def _quantity_text(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def normalize(obj: Any, key: str = "") -> Any:
    """Return ``obj`` with YAML timestamps as RFC 3339 strings, numeric quantities as strings, no nulls.

    A null field is the same as an absent one (Go clients send ``creationTimestamp: null`` in pod
    templates), so nulls are dropped and templates compare equal however they were written.
    """
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if v is None:
                continue
            item = normalize(v, str(k))
            if k in _QUANTITY_MAPS and isinstance(item, dict):
                item = {rk: _quantity_text(rv) for rk, rv in item.items()}
            elif k in _QUANTITY_SCALARS or (k == "value" and key == "target"):
                item = _quantity_text(item)
            out[str(k)] = item
        return out
    if isinstance(obj, list):
        return [normalize(v, key) for v in obj]
    if isinstance(obj, dt.datetime):
        return rfc3339(obj if obj.tzinfo else obj.replace(tzinfo=dt.UTC))
    if isinstance(obj, dt.date):
        return obj.isoformat()
    return obj


def rfc3339(moment: dt.datetime | float) -> str:
    """``2026-11-25T10:00:00Z`` (second precision, UTC), as Kubernetes writes ``metav1.Time``."""
    if not isinstance(moment, dt.datetime):
        moment = dt.datetime.fromtimestamp(moment, dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> float:
    """Seconds since the epoch for an RFC 3339 timestamp."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def go_duration(seconds: float) -> str:
    """A duration the way Go prints it in kubelet messages: ``10s``, ``1m20s``, ``5m0s``."""
    total = int(seconds)
    minutes, secs = divmod(total, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


class SandboxClock:
    """The sandbox's notion of now: a base clock (wall time by default) plus an offset ``advance`` moves."""

    def __init__(self, base: Callable[[], dt.datetime] | None = None) -> None:
        self._base = base
        self._offset = 0.0

    def time(self) -> float:
        """Now, in seconds since the epoch."""
        base = self._base().timestamp() if self._base is not None else time.time()
        return base + self._offset

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.time(), dt.UTC)

    def advance(self, seconds: float) -> None:
        """Move the clock forward; restart counts and event counts derive from it."""
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        self._offset += seconds
