"""Small bar charts of a proposal's evidence figures, drawn by the page template as inline SVG.

Figures are grouped by unit (bytes, ratios, counts), so that bars on one chart share a scale: a
container's memory peak beside its limit, a throttling ratio against 100 %. Only geometry and text
leave here; the template sets them as attributes (no style attribute, so the CSP needs no
'unsafe-inline').
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

WIDTH = 360
"""Width of the bar area in SVG units; labels sit to its left."""
BAR = 18
GAP = 8


@dataclass
class Bar:
    label: str
    value: float
    shown: str
    width: float
    y: int


@dataclass
class Chart:
    title: str
    unit: str
    bars: list[Bar] = field(default_factory=list)

    @property
    def height(self) -> int:
        return len(self.bars) * (BAR + GAP) + GAP


def unit_of(name: str) -> str:
    if name.endswith("_bytes"):
        return "bytes"
    if name.endswith(("_ratio", "_percent")):
        return "ratio"
    if name.endswith(("_seconds", "_s")):
        return "seconds"
    return "count"


def shown(value: float, unit: str) -> str:
    if unit == "bytes":
        for size, suffix in ((2**30, "Gi"), (2**20, "Mi"), (2**10, "Ki")):
            if abs(value) >= size:
                return f"{value / size:.1f}{suffix}"
        return f"{value:g} B"
    if unit == "ratio":
        return f"{value * 100:.1f} %" if value <= 1 else f"{value:g}"
    if unit == "seconds":
        return f"{value:g} s"
    return f"{value:g}"


def figure(name: str, value: Any) -> str:
    """A figure as a person reads it: with its unit, or the note saying why there is none."""
    if value is None:
        return "none (no sample)"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return shown(float(value), unit_of(name))


TITLES = {"bytes": "Memory", "ratio": "Ratios", "seconds": "Durations", "count": "Counts"}


def charts(metrics: dict[str, Any]) -> list[Chart]:
    """One chart per unit that has at least one numeric figure, bars scaled to the largest (ratios to 1)."""
    groups: dict[str, list[tuple[str, float]]] = {}
    for name, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        groups.setdefault(unit_of(name), []).append((name, float(value)))
    found = []
    for unit, items in groups.items():
        top = max([abs(v) for _, v in items] + ([1.0] if unit == "ratio" else []))
        chart = Chart(TITLES[unit], unit)
        for index, (name, value) in enumerate(items):
            width = 0.0 if top == 0 else max(1.0, WIDTH * abs(value) / top)
            chart.bars.append(
                Bar(
                    name.replace("_", " "),
                    value,
                    shown(value, unit),
                    round(width, 1),
                    GAP + index * (BAR + GAP),
                )
            )
        found.append(chart)
    return found
