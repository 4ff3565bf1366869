"""Kubernetes resource quantities: exact parsing and canonical formatting.

Quantities follow the Kubernetes grammar (``128974848``, ``129e6``, ``129M``, ``123Mi``, ``500m``,
``1.5Gi``). Parsing is exact (``fractions.Fraction``); byte counts and millicores are rounded up, as
the API server does when it stores a quantity. Formatting picks the largest unit that represents the
value exactly, binary suffixes first for memory.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

KI = 1024
MI = 1024**2
GI = 1024**3

_BINARY = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4, "Pi": 1024**5, "Ei": 1024**6}
_DECIMAL = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}
_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|[numkMGTPE])?$"
)


class QuantityError(ValueError):
    """The text is not a Kubernetes quantity."""


def parse_quantity(value: str | int | float) -> Fraction:
    """Return the exact value of a Kubernetes quantity (``"1.5Gi"`` -> ``Fraction(1610612736)``)."""
    if isinstance(value, bool):
        raise QuantityError(f"not a quantity: {value!r}")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise QuantityError(f"not a quantity: {value!r}")
        return Fraction(str(value))
    match = _QUANTITY.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise QuantityError(f"not a quantity: {value!r}")
    number = Fraction(match["number"])
    suffix = match["suffix"] or ""
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix[:1] in {"e", "E"} and len(suffix) > 1:
        return number * Fraction(10) ** int(suffix[1:])
    return number * _DECIMAL[suffix]


def parse_bytes(value: str | int | float) -> int:
    """Bytes in a memory quantity, rounded up to a whole byte."""
    return math.ceil(parse_quantity(value))


def parse_millicores(value: str | int | float) -> int:
    """Millicores in a CPU quantity (``"1.5"`` -> 1500, ``"250m"`` -> 250), rounded up."""
    return math.ceil(parse_quantity(value) * 1000)


def format_bytes(count: int) -> str:
    """Canonical text for a byte count: the largest binary, then decimal, unit that is exact."""
    if count < 0:
        return "-" + format_bytes(-count)
    if count == 0:
        return "0"
    for suffix, size in sorted(_BINARY.items(), key=lambda item: -item[1]):
        if count % size == 0:
            return f"{count // size}{suffix}"
    for suffix in ("E", "P", "T", "G", "M", "k"):
        size = int(_DECIMAL[suffix])
        if count % size == 0:
            return f"{count // size}{suffix}"
    return str(count)


def format_millicores(millicores: int) -> str:
    """Canonical CPU text: whole cores as ``"2"``, otherwise ``"1500m"``."""
    if millicores % 1000 == 0:
        return str(millicores // 1000)
    return f"{millicores}m"


def humanize_bytes(count: float) -> str:
    """Short, approximate text for reasoning lines (``268000000`` -> ``"255.6Mi"``)."""
    for suffix, size in (("Gi", GI), ("Mi", MI), ("Ki", KI)):
        if abs(count) >= size:
            text = f"{count / size:.1f}".removesuffix(".0")
            return f"{text}{suffix}"
    return f"{count:.0f}B"


def round_up(count: float | Fraction, step: int) -> int:
    """Round ``count`` up to the next multiple of ``step`` (a value already on a multiple stays)."""
    if step <= 0:
        raise ValueError("step must be positive")
    return math.ceil(Fraction(count) / step) * step


def memory_step(count: float | Fraction) -> int:
    """The rounding unit for a memory size: 64Mi below 1Gi, 128Mi from 1Gi up."""
    return 64 * MI if count < GI else 128 * MI
