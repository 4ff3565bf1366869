"""Drafts from the engine's answer: one ``patch-resources`` for the ok containers, one HPA retarget."""

from __future__ import annotations

from typing import Any

from tests.support.rightsizing import analyse, workload
from workers.settings import Settings
from workers.workflows.rightsizing import jobs, workflow


def hpa(target: int) -> dict[str, Any]:
    metric = {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}},
    }
    return {
        "metadata": {"name": "api"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "api"}, "metrics": [metric]},
    }


def test_drafts_carry_the_recommended_values_and_the_hpa_retarget() -> None:
    result = analyse(workload(hpas=[hpa(30)]))
    resources, retarget = workflow.drafts(result, Settings())
    assert resources.type == retarget.type == "patch-resources"
    assert resources.params == {
        "kind": "Deployment",
        "name": "api",
        "containers": {
            "app": {
                "requests": {"cpu": "195m", "memory": "260Mi"},
                "limits": {"cpu": None, "memory": "286Mi"},
            }
        },
    }
    assert retarget.params["hpa"] == {"name": "api", "targets": [{"index": 0, "from": 30, "to": 77}]}
    assert "approve it together with the resources proposal" in retarget.expected_outcome
    assert "Margin 0.30" in resources.reasoning


def test_nothing_to_draft_when_no_container_is_ok() -> None:
    assert workflow.drafts(analyse(workload(days=2)), Settings()) == []


def test_validation_plan_watches_the_workload() -> None:
    plan = jobs.validation_plan(Settings(), analyse(workload()))
    assert plan["for_s"] == 3600 and plan["workload"] == {
        "namespace": "shop",
        "kind": "Deployment",
        "name": "api",
    }
    assert plan["checks"] == [
        {"kubernetes": "pods_ready", "within_s": 300},
        {"kubernetes": "no_restarts"},
        {"kubernetes": "no_oom_kills"},
    ]


def test_a_rule_target_that_is_no_workload_is_refused_without_reading_anything() -> None:
    diagnosis = workflow.RightsizingWorkflow().diagnose({"target": {"kind": "Node", "name": "n1"}})
    assert (
        diagnosis.summary == "no workload to size"
        and "Deployment, StatefulSet or DaemonSet" in diagnosis.root_cause
    )
