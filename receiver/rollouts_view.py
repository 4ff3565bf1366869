"""What the rollouts pages show: the gates ``GET /api/v1/rollouts`` lists, one gate with its analysis
rounds (and the new ReplicaSet's error rate per round as a small chart), and the gates a proposal
belongs to. Read from the gate store (``workers.workflows.rollout_gate.store``), as the API reads it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workers.domain import Proposal
from workers.errors import NotFound
from workers.spine.context import Context
from workers.workflows.rollout_gate import gate as engine
from workers.workflows.rollout_gate.model import Gate, GateState

PLAYBOOK = "rollout-gate"
WIDTH, HEIGHT = 520, 120


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


@dataclass
class Line:
    """Error rate per round: a polyline and the threshold, in SVG units (0,0 top left)."""

    points: str
    threshold_y: float
    top: str
    dots: list[tuple[float, float, str]]


def error_line(gate: Gate) -> Line | None:
    rated = [(r.round, r.new_error_rate) for r in gate.rounds if r.new_error_rate is not None]
    if not rated:
        return None
    limit = gate.config.max_error_rate
    top = max([rate for _, rate in rated if rate is not None] + [limit * 2, 0.01])
    step = WIDTH / max(1, len(rated) - 1)

    def y(rate: float) -> float:
        return round(HEIGHT - HEIGHT * rate / top, 1)

    dots = [(round(i * step, 1), y(rate or 0.0), percent(rate)) for i, (_, rate) in enumerate(rated)]
    return Line(" ".join(f"{x},{yy}" for x, yy, _ in dots), y(limit), percent(top), dots)


def listing(context: Context, namespace: str = "", deployment: str = "", state: str = "") -> dict[str, Any]:
    chosen = GateState(state) if state in GateState.__members__ else None
    gates = engine.store_of(context).list(
        namespace=namespace or None, deployment=deployment or None, state=chosen, limit=200
    )
    rows = [
        {"g": gate, "last": percent(gate.rounds[-1].new_error_rate) if gate.rounds else "—"} for gate in gates
    ]
    return {
        "rows": rows,
        "states": [str(s) for s in GateState],
        "state": state,
        "namespace": namespace,
        "deployment": deployment,
    }


def one(context: Context, gate_id: str) -> dict[str, Any] | None:
    try:
        gate = engine.store_of(context).get(gate_id)
    except NotFound:
        return None
    rounds = [
        {
            **r.model_dump(mode="json"),
            "new": percent(r.new_error_rate),
            "old": percent(r.old_error_rate),
        }
        for r in gate.rounds
    ]
    return {
        "gate": gate,
        "rounds": rounds,
        "line": error_line(gate),
        "limit": percent(gate.config.max_error_rate),
        "config": gate.config.model_dump(mode="json"),
    }


def related(context: Context, proposal: Proposal) -> list[str]:
    """The gates that parked ``proposal`` (a rollout-gate proposal), newest first."""
    if proposal.playbook != PLAYBOOK:
        return []
    gates = engine.store_of(context).list(namespace=proposal.target.get("namespace"), limit=200)
    return [
        gate.id
        for gate in gates
        if proposal.id in gate.proposals.values() or gate.record_id == proposal.record_id
    ]
