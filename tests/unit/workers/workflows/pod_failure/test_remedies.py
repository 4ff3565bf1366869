"""propose(): the action per category, its exact params and arithmetic, and every fallback to ``none``."""

from __future__ import annotations

from typing import Any

import pytest

from rules.allowlist import ACTIONS
from tests.support.pod_builders import container, event, evidence, owner
from workers.integrations.kubernetes.quantities import MI
from workers.workflows.pod_failure.classifier import classify
from workers.workflows.pod_failure.model import Diagnosis, ProposedAction
from workers.workflows.pod_failure.remedies import propose

ALL = list(ACTIONS)
NODE_DOWN = {"name": "node-2", "ready": False, "conditions": [{"type": "Ready", "status": "False"}]}


def _propose(ev: dict[str, Any], allowed: list[str] = ALL) -> tuple[Diagnosis, ProposedAction]:
    diagnosis = classify(ev)
    return diagnosis, propose(diagnosis, ev, allowed)


def _oom(limit: str | None, request: str | None, peak: float | None) -> dict[str, Any]:
    metrics = {"memory_peak_bytes": peak} if peak is not None else {}
    return evidence(
        container(reason="OOMKilled", exit_code=137, limit=limit, request=request), metrics=metrics
    )


@pytest.mark.parametrize(
    ("limit", "mem_request", "peak", "new_limit", "new_request"),
    [
        ("256Mi", "256Mi", 256 * MI, "384Mi", "384Mi"),  # limit + 100Mi = 356Mi -> 384Mi
        ("256Mi", "256Mi", 268_000_000.0, "384Mi", "384Mi"),
        ("1Gi", "512Mi", 1020 * MI, "1408Mi", "512Mi"),  # peak x 1.3 = 1326Mi -> 11 x 128Mi
        ("512Mi", "512Mi", None, "640Mi", "640Mi"),  # limit x 1.2 = 614.4Mi -> 640Mi
        ("64Mi", "32Mi", 60 * MI, "192Mi", "32Mi"),  # limit + 100Mi = 164Mi -> 192Mi
        ("2Gi", "2Gi", 2048 * MI, "2688Mi", "2688Mi"),  # 2662.4Mi -> 21 x 128Mi
        ("900Mi", "900Mi", 880 * MI, "1152Mi", "1152Mi"),  # 1144Mi crosses 1Gi: 128Mi steps
        ("500M", "500M", None, "640Mi", "640Mi"),  # decimal units: 476.8Mi + 100Mi = 576.8Mi
        ("256Mi", None, None, "384Mi", "384Mi"),  # no request: it defaults to the limit
        ("768Mi", "768Mi", 200 * MI, "960Mi", "960Mi"),  # a low peak never lowers the limit
    ],
)
def test_memory_arithmetic(
    limit: str, mem_request: str | None, peak: float | None, new_limit: str, new_request: str
) -> None:
    _, action = _propose(_oom(limit, mem_request, peak))
    assert action.type == "raise-memory-limit"
    assert action.params == {"container": "app", "memory_limit": new_limit, "memory_request": new_request}
    assert action.risk == "low"
    assert action.runbook == "docs/runbooks/oomkilled.md"


def test_memory_reasoning_shows_the_arithmetic() -> None:
    _, action = _propose(_oom("256Mi", "256Mi", 268_000_000.0))
    assert action.reasoning == (
        "peak 255.6Mi x 1.3 = 332.3Mi; limit 256Mi x 1.2 = 307.2Mi; limit 256Mi + 100Mi = 356Mi. "
        "The largest is 356Mi, rounded up to a multiple of 64Mi: 384Mi. "
        "The request equals the limit, so it rises to 384Mi too."
    )
    assert "384Mi" in action.expected_outcome and "OOMKilled" in action.validation_plan


def test_memory_reasoning_says_when_there_is_no_peak_and_when_the_request_stays() -> None:
    _, action = _propose(_oom("1Gi", "512Mi", None))
    assert action.reasoning.startswith("no memory peak from Prometheus")
    assert "The request 512Mi is below the limit and stays." in action.reasoning


def test_a_heap_oom_without_oomkilled_raises_no_container_limit_and_names_the_heap_flag() -> None:
    ev = evidence(container(exit_code=3), logs={"app": "java.lang.OutOfMemoryError: Java heap space\n"})
    diagnosis, action = _propose(ev)
    assert diagnosis.category == "app_crash"
    assert action.type == "none"
    assert "-Xmx" in diagnosis.root_cause and "not OOMKilled" in diagnosis.root_cause


def test_a_memory_peak_at_the_limit_without_oomkilled_mentions_the_runtime_flag() -> None:
    ev = evidence(container(exit_code=137), metrics={"memory_peak_bytes": 268_000_000.0})
    _, action = _propose(ev)
    assert action.type == "raise-memory-limit"
    assert "-Xmx" in action.reasoning


def test_no_memory_limit_means_no_limit_to_raise() -> None:
    _, action = _propose(_oom(None, None, 900 * MI))
    assert action.type == "none"
    assert "no memory limit" in action.reasoning
    assert action.runbook == "docs/runbooks/oomkilled.md"


def test_an_unreadable_limit_falls_back_to_none() -> None:
    _, action = _propose(_oom("lots", None, None))
    assert action.type == "none" and "cannot be read" in action.reasoning


PANIC = {"app": "panic: runtime error: invalid memory address or nil pointer dereference\n"}
NEW_REVISION = {"owner": owner(), "events": [event("BackOff", "Back-off restarting failed container")]}


@pytest.mark.parametrize(
    ("ev", "category"),
    [
        (evidence(container(exit_code=2), logs=PANIC, **NEW_REVISION), "app_crash"),
        (
            evidence(container(), logs={"app": "flag provided but not defined: -x\n"}, **NEW_REVISION),
            "bad_config",
        ),
        (evidence(container(waiting="ImagePullBackOff", exit_code=None), **NEW_REVISION), "image_pull"),
        (evidence(container(exit_code=127), **NEW_REVISION), "exec_error"),
        (
            evidence(
                container("migrate", init=True),
                container(waiting="PodInitializing", exit_code=None),
                logs={"migrate": "Traceback (most recent call last):\nValueError: bad migration\n"},
                **NEW_REVISION,
            ),
            "init_container_failure",
        ),
    ],
)
def test_failures_that_started_with_the_revision_roll_back(ev: dict[str, Any], category: str) -> None:
    diagnosis, action = _propose(ev)
    assert diagnosis.category == category
    assert action.type == "rollback-deployment"
    assert action.params == {"deployment": "web", "to_revision": 1, "from_revision": 2}
    assert action.risk == "medium"
    assert "revision 2 rolled out" in action.reasoning
    assert action.expected_outcome and action.validation_plan


def test_a_rollback_the_rule_does_not_allow_becomes_none_and_says_why() -> None:
    diagnosis, action = _propose(
        evidence(container(exit_code=2), logs=PANIC, **NEW_REVISION), ["raise-memory-limit", "restart-pod"]
    )
    assert diagnosis.category == "app_crash"
    assert action.type == "none"
    assert action.params == {}
    assert action.reasoning.startswith(
        "The diagnosis calls for rollback-deployment (deployment=web, to_revision=1, from_revision=2), "
        "but the rule allows only raise-memory-limit, restart-pod: no change is proposed."
    )
    assert action.runbook == "docs/runbooks/crashloopbackoff.md#application-crash"
    assert any("rollout undo deployment/web --to-revision=1" in step for step in action.steps)


def test_an_empty_allow_list_allows_nothing() -> None:
    _, action = _propose(_oom("256Mi", "256Mi", None), [])
    assert action.type == "none" and "allows only no actions" in action.reasoning


@pytest.mark.parametrize(
    ("ev", "why"),
    [
        (evidence(container(exit_code=2), logs=PANIC), "no Deployment owner"),
        (
            evidence(
                container(exit_code=2), logs=PANIC, owner=owner(previous=None), events=NEW_REVISION["events"]
            ),
            "no earlier revision",
        ),
        (
            evidence(
                container(exit_code=2, finished_at="2026-11-29T00:00:00Z"),
                logs=PANIC,
                owner=owner(),
                events=[event("BackOff", "x", first="2026-11-29T00:00:00Z")],
            ),
            "did not start with revision 2",
        ),
        (
            evidence(
                container(exit_code=2),
                logs=PANIC,
                events=NEW_REVISION["events"],
                owner=owner(images=("a:1", "a:1")),
            ),
            "changed no image, command, args or env",
        ),
    ],
)
def test_no_rollback_without_a_revision_to_blame(ev: dict[str, Any], why: str) -> None:
    _, action = _propose(ev)
    assert action.type == "none"
    assert why in action.reasoning


def test_an_init_container_waiting_for_a_dependency_is_not_rolled_back() -> None:
    ev = evidence(
        container("wait-db", init=True),
        container(waiting="PodInitializing", exit_code=None),
        logs={"wait-db": "dial tcp 10.96.1.1:5432: connect: connection refused\n"},
        **NEW_REVISION,
    )
    diagnosis, action = _propose(ev)
    assert diagnosis.category == "init_container_failure"
    assert action.type == "none" and "a dependency is unreachable" in action.reasoning


LIVENESS = {
    "httpGet": {"path": "/healthz", "port": 8080},
    "initialDelaySeconds": 10,
    "periodSeconds": 10,
    "failureThreshold": 3,
    "timeoutSeconds": 2,
}
KILLED = [event("Killing", "Container app failed liveness probe, will be restarted", kind="Normal")]


def test_a_probe_kill_before_startup_adds_a_startup_probe() -> None:
    ev = evidence(
        container(
            exit_code=137,
            liveness=LIVENESS,
            started_at="2026-11-25T09:40:00Z",
            finished_at="2026-11-25T09:40:41Z",
        ),
        events=KILLED,
    )
    _, action = _propose(ev)
    assert action.type == "adjust-probe"
    assert action.params == {
        "container": "app",
        "startup_probe": {
            "httpGet": {"path": "/healthz", "port": 8080},
            "periodSeconds": 10,
            "timeoutSeconds": 2,
            "failureThreshold": 11,
        },
    }
    assert "max(2 x 41s, 41s + 60s) = 101s; failureThreshold = ceil(101 / 10s) = 11" in action.reasoning


def test_a_measured_start_time_raises_the_initial_delay() -> None:
    ev = evidence(
        container(exit_code=143, liveness=LIVENESS),
        events=KILLED,
        logs={"app": "loading\nStarted CatalogApplication in 31.4 seconds (process running for 33)\n"},
    )
    _, action = _propose(ev)
    assert action.params == {"container": "app", "probe": "livenessProbe", "initial_delay_seconds": 50}
    assert "31.4s x 1.5 = 47.1s, rounded up to 5s: 50s" in action.reasoning


def test_an_existing_startup_probe_gets_a_longer_budget() -> None:
    startup = {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 5, "failureThreshold": 12}
    ev = evidence(
        container(
            exit_code=137,
            liveness=LIVENESS,
            startup=startup,
            started_at="2026-11-25T09:40:00Z",
            finished_at="2026-11-25T09:41:00Z",
        ),
        events=[event("Unhealthy", "Startup probe failed: connection refused")],
    )
    _, action = _propose(ev)
    assert action.params == {"container": "app", "startup_probe": {**startup, "failureThreshold": 24}}


def test_a_kill_without_probes_has_nothing_to_adjust() -> None:
    _, action = _propose(evidence(container(exit_code=137)))
    assert action.type == "none" and "no liveness or startup probe" in action.reasoning


def test_a_probe_kill_without_timing_cannot_be_sized() -> None:
    ev = evidence(container(exit_code=137, liveness=LIVENESS, started_at="", finished_at=""), events=KILLED)
    _, action = _propose(ev)
    assert action.type == "none" and "no probe setting can be derived" in action.reasoning


def test_a_node_problem_restarts_the_pod_when_a_controller_recreates_it() -> None:
    ev = evidence(
        container(waiting="ContainerCreating", exit_code=None),
        node=NODE_DOWN,
        owner=owner(),
        events=[event("FailedCreatePodSandBox", "Failed to create pod sandbox: cni plugin not initialized")],
    )
    diagnosis, action = _propose(ev)
    assert diagnosis.category == "node_problem"
    assert (action.type, action.params, action.risk) == ("restart-pod", {"pod": "web-1"}, "low")
    assert "node-2" in action.expected_outcome


def test_a_node_problem_without_a_controller_is_left_to_a_person() -> None:
    _, action = _propose(evidence(container(waiting="ContainerCreating", exit_code=None), node=NODE_DOWN))
    assert action.type == "none" and "no controller" in action.reasoning


def test_restart_is_never_the_default() -> None:
    for ev in (
        evidence(container()),
        evidence(container(), logs={"app": "connection refused\n"}, owner=owner()),
    ):
        assert _propose(ev)[1].type != "restart-pod"


@pytest.mark.parametrize(
    ("ev", "category", "anchor"),
    [
        (
            evidence(
                container(
                    waiting="CreateContainerConfigError",
                    waiting_message='secret "db" not found',
                    exit_code=None,
                )
            ),
            "missing_config_object",
            "#missing-configmap-or-secret",
        ),
        (
            evidence(
                container(),
                logs={"app": "dial tcp 10.96.0.4:6379: connect: connection refused\n"},
                **NEW_REVISION,
            ),
            "dependency_unavailable",
            "#dependency-unavailable",
        ),
        (
            evidence(container(), logs={"app": "mkdir /data: permission denied\n"}),
            "permission_denied",
            "#permission-denied",
        ),
        (evidence(container()), "unknown", "#unknown-cause"),
    ],
)
def test_no_safe_action_gives_the_runbook_and_filled_in_steps(
    ev: dict[str, Any], category: str, anchor: str
) -> None:
    diagnosis, action = _propose(ev)
    assert diagnosis.category == category
    assert action.type == "none" and action.params == {}
    assert action.runbook == f"docs/runbooks/crashloopbackoff.md{anchor}"
    assert action.steps and all("{" not in step.replace("{{", "") for step in action.steps)
    assert any("-n shop" in step for step in action.steps)
    assert action.reasoning and action.expected_outcome and action.validation_plan


def test_every_proposal_states_outcome_and_validation() -> None:
    for ev in (
        _oom("256Mi", "256Mi", None),
        evidence(container(exit_code=2), logs=PANIC, **NEW_REVISION),
        evidence(container()),
    ):
        action = _propose(ev)[1]
        assert action.expected_outcome and action.validation_plan and action.runbook
