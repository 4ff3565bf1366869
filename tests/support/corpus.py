"""The US1 corpus as data: every pod-failure scenario's evidence through the playbook, one row each.

Shared by the corpus tool (``bench/corpus_matrix.py``, which prints the confusion matrix for
docs/diagnosis.md) and the unit corpus test. ``VARIANTS`` degrade each scenario's evidence the way a real
investigation can lose it (no previous log, no events, a termination without its reason), so that the
calibration check also sees answers that are wrong or ``unknown`` and can compare their confidence.
"""

from __future__ import annotations

import copy
import functools
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rules.allowlist import ACTIONS
from tests.support import scenario_evidence
from tests.support.scenario_evidence import SCENARIOS_DIR, Scenario, build_evidence, scenario_dirs
from workers.workflows.pod_failure.playbook import PodFailurePlaybook


@functools.cache
def load_scenario(path: Path) -> Scenario:
    """A scenario folder, parsed once per process (callers only read it)."""
    return scenario_evidence.load_scenario(path)


@dataclass
class Row:
    """One scenario (in one evidence variant): its expectation and what the playbook made of it."""

    scenario: str
    variant: str
    expected: str
    diagnosed: str
    expected_action: str
    proposed_action: str
    confidence: float

    @property
    def right(self) -> bool:
        return self.expected == self.diagnosed

    @property
    def action_right(self) -> bool:
        return self.expected_action == self.proposed_action


def _no_logs(evidence: dict[str, Any]) -> None:
    evidence["previous_logs"] = {}


def _no_events(evidence: dict[str, Any]) -> None:
    evidence["events"] = []


def _bare_exit(evidence: dict[str, Any]) -> None:
    for container in evidence.get("containers") or []:
        if container.get("lastTerminated"):
            container["lastTerminated"] = {**container["lastTerminated"], "reason": "Error", "exitCode": 1}


VARIANTS: dict[str, Callable[[dict[str, Any]], None]] = {
    "no-logs": _no_logs,
    "no-events": _no_events,
    "bare-exit-1": _bare_exit,
}
"""How a real investigation loses evidence: the log rotated away, events expired, a termination recorded
without its reason (the expected category stays the scenario's, so these rows may be wrong)."""


def evidences(root: Path, variants: bool) -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(scenario, variant, expect, evidence) for every scenario, then its degraded variants."""
    for path in scenario_dirs(root):
        scenario = load_scenario(path)
        evidence = build_evidence(scenario)
        yield path.name, "full", scenario.spec["expect"], evidence
        if variants:
            for name, degrade in VARIANTS.items():
                changed = copy.deepcopy(evidence)
                degrade(changed)
                yield path.name, name, scenario.spec["expect"], changed


def run(root: Path = SCENARIOS_DIR, variants: bool = False) -> list[Row]:
    """Classify and propose for every scenario with a diagnosis ``expect`` (and its variants)."""
    playbook = PodFailurePlaybook()
    rows = []
    for name, variant, expect, evidence in evidences(root, variants):
        diagnosis = playbook.diagnose(evidence)
        action = playbook.propose(diagnosis, evidence, list(ACTIONS))
        rows.append(
            Row(
                name,
                variant,
                expect["category"],
                diagnosis.category,
                expect["action"],
                action.type,
                diagnosis.confidence,
            )
        )
    return rows


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


def summary(rows: list[Row]) -> dict[str, Any]:
    """Accuracy, action agreement and the confidence of right, wrong and ``unknown`` answers."""
    right = [row.confidence for row in rows if row.right]
    wrong = [row.confidence for row in rows if not row.right]
    named_wrong = [row.confidence for row in rows if not row.right and row.diagnosed != "unknown"]
    return {
        "rows": len(rows),
        "category_right": len(right),
        "action_right": sum(row.action_right for row in rows),
        "mean_confidence_right": _mean(right),
        "mean_confidence_wrong": _mean(wrong),
        "named_wrong": len(named_wrong),
        "mean_confidence_named_wrong": _mean(named_wrong),
        "max_confidence_wrong": max(wrong, default=None),
        "unknown": sum(row.diagnosed == "unknown" for row in rows),
        "max_confidence_unknown": max((r.confidence for r in rows if r.diagnosed == "unknown"), default=None),
    }


def reliability(rows: list[Row], edges: tuple[float, ...] = (0.3, 0.5, 0.7, 0.9)) -> list[dict[str, Any]]:
    """Accuracy of named (not ``unknown``) answers per confidence band."""
    bands = []
    bounds = (0.0, *edges, 1.01)
    for low, high in itertools.pairwise(bounds):
        inside = [r for r in rows if low <= r.confidence < high and r.diagnosed != "unknown"]
        if inside:
            accuracy = round(sum(r.right for r in inside) / len(inside), 2)
            bands.append(
                {"band": f"{low:.1f}-{min(high, 1.0):.1f}", "answers": len(inside), "accuracy": accuracy}
            )
    return bands
