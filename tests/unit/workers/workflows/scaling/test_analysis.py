"""The engine's decisions on evidence as ``evidence.gather`` shapes it: which action, or why none; and the
rule's invalid-target case, which lint catches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from rules.loader import lint_dir
from workers.settings import ScalingSettings
from workers.workflows.scaling import analysis, workflow

GIB = 1024**3
LIBRARY = Path(__file__).resolve().parents[5] / "rules" / "library"


def _evidence(**changes: Any) -> dict[str, Any]:
    found: dict[str, Any] = {
        "namespace": "shop",
        "deployment": "web",
        "replicas": 3,
        "ready_replicas": 3,
        "cpu_request_cores": 0.5,
        "memory_request_bytes": 0.25 * GIB,
        "all_containers_request_cpu": True,
        "hpas": [],
        "scaled_objects": [],
        "metrics_api": {"available": True, "detail": "Available"},
        "nodes": [
            {"name": f"n{i}", "cpu_cores": 4.0, "memory_bytes": 16 * GIB, "schedulable": True}
            for i in range(3)
        ],
        "other_requests": {"cpu_cores": 0.0, "memory_bytes": 0},
        "usage": {"per_pod_5m_cores": 0.45, "peak_total_cores": 2.7, "window_s": 7 * 86400},
        "cpu_samples": [(0.0, 1.35), (60.0, 2.7), (120.0, 1.35)],
        "errors": [],
    }
    found.update(changes)
    return found


def _ours(**spec: Any) -> dict[str, Any]:
    return {
        "name": "web",
        "ours": True,
        "min_replicas": 3,
        "max_replicas": 10,
        "cpu_target_percent": 70,
        **spec,
    }


def test_create_when_nothing_scales_it_and_the_draft_carries_the_exact_params() -> None:
    result = analysis.analyse(_evidence(), ScalingSettings())
    assert (result["status"], result["action"], result["hpa_name"]) == ("ok", "create-hpa", "web")
    assert (result["min_replicas"], result["desired_replicas"], result["max_replicas"]) == (3, 4, 10)
    draft = workflow.propose(result, ["create-hpa", "patch-hpa"])
    assert draft.type == "create-hpa"
    assert draft.params == {
        "deployment": "web",
        "hpa_name": "web",
        "min_replicas": 3,
        "max_replicas": 10,
        "target_percent": 70,
    }
    assert "+12.31 expected" in draft.reasoning and "fits" in draft.reasoning
    assert workflow.propose(result, ["patch-hpa"]).type == "none"  # the rule does not allow create-hpa


def test_our_hpa_at_max_is_patched_to_a_higher_max_and_a_matching_one_is_left_alone() -> None:
    maxed = analysis.analyse(_evidence(replicas=4, hpas=[_ours(max_replicas=4)]), ScalingSettings())
    assert maxed["action"] == "patch-hpa" and maxed["min_replicas"] == 3 and maxed["max_replicas"] >= 5
    same = analysis.analyse(_evidence(hpas=[_ours()]), ScalingSettings())
    assert same["action"] == "none" and same["status"].startswith("ok: the HPA already")


def test_refusals_in_order_and_the_recommendation_still_shown() -> None:
    cases = [
        (_evidence(scaled_objects=["web-queue"], hpas=[_ours(ours=False)]), "keda"),
        (_evidence(hpas=[_ours(ours=False, name="team")]), "foreign-hpa"),
        (_evidence(metrics_api={"available": False, "detail": "not registered"}), "no-metrics-api"),
        (_evidence(all_containers_request_cpu=False), "no-cpu-requests"),
        (_evidence(usage={"per_pod_5m_cores": None, "peak_total_cores": None, "window_s": 0}), "no-usage"),
    ]
    for found, code in cases:
        result = analysis.analyse(found, ScalingSettings())
        assert (result["refusal"], result["action"]) == (code, "none"), code
        assert workflow.propose(result, ["create-hpa"]).type == "none"
    keda = analysis.analyse(cases[0][0], ScalingSettings())
    assert keda["max_replicas"] == 10 and keda["cost"] is not None


def test_capacity_bound_with_other_pods_requesting() -> None:
    result = analysis.analyse(
        _evidence(other_requests={"cpu_cores": 5.0, "memory_bytes": 0}), ScalingSettings()
    )
    # N−1 is 8 cores, 5 taken: 6 pods of 500m fit, 10 wanted.
    assert (result["max_replicas"], result["bounded_by_capacity"]) == (6, True)
    assert result["capacity"]["shortfall"]["replicas"] == 4 and result["status"] == "ok"


def test_lint_catches_an_invalid_target_in_a_scaling_rule(tmp_path: Path) -> None:
    rule = yaml.safe_load((LIBRARY / "scaling-cpu-high.yaml").read_text())
    rule["target"]["kind"] = "HorizontalPodAutoscaler"
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(rule, sort_keys=False))
    problems = [str(problem) for problem in lint_dir(tmp_path)]
    assert problems and any("target.kind" in problem for problem in problems), problems
    assert lint_dir(LIBRARY) == []
