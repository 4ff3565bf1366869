"""classify(): citations, confidence, containers, revisions of the evidence, and odd evidence shapes."""

from __future__ import annotations

from tests.support.pod_builders import LIVENESS_REFUSED, TRACEBACK, container, event, evidence
from workers.workflows.pod_failure.classifier import classify
from workers.workflows.pod_failure.model import Citation


def test_oom_cites_the_termination_the_peak_and_the_resources() -> None:
    ev = evidence(
        container(reason="OOMKilled", exit_code=137),
        metrics={"memory_peak_bytes": 268_000_000.0, "memory_limit_bytes": 268_435_456.0},
    )
    diagnosis = classify(ev)
    assert diagnosis.container == "app"
    assert diagnosis.citations[0] == Citation(
        "pod.status.containerStatuses[app].lastState.terminated", "reason=OOMKilled exitCode=137"
    )
    assert (
        Citation(
            "prometheus:memory_peak_bytes",
            "memory_peak_bytes=268000000 (255.6Mi) is 99.8% of memory_limit_bytes=268435456",
        )
        in diagnosis.citations
    )
    assert (
        Citation("pod.spec.containers[app].resources", "limits.memory=256Mi requests.memory=256Mi")
        in diagnosis.citations
    )
    assert diagnosis.confidence > 0.9


def test_exit_137_alone_is_probe_failure_with_low_confidence_and_oomkilled_is_not() -> None:
    killed = classify(evidence(container(exit_code=137)))
    oom = classify(evidence(container(reason="OOMKilled", exit_code=137)))
    assert killed.category == "probe_failure" and killed.confidence < 0.5
    assert oom.category == "oom_killed" and not any(
        a["category"] == "probe_failure" for a in oom.alternatives
    )


def test_a_probe_event_with_connection_refused_is_not_a_dependency_problem() -> None:
    diagnosis = classify(evidence(container(exit_code=137), events=[event("Unhealthy", LIVENESS_REFUSED)]))
    assert diagnosis.category == "probe_failure"
    assert diagnosis.alternatives == []
    assert Citation("events", f"Warning Unhealthy (x3): {LIVENESS_REFUSED}") in diagnosis.citations


def test_every_matching_log_line_is_cited_up_to_a_cap() -> None:
    lines = "".join(f"attempt {i}: dial tcp 10.96.4.2:5432: connect: connection refused\n" for i in range(14))
    diagnosis = classify(evidence(container(), logs={"app": "starting\n" + lines}))
    cited = [c.text for c in diagnosis.citations if c.source == "logs/app"]
    assert cited[:10] == [
        f"attempt {i}: dial tcp 10.96.4.2:5432: connect: connection refused" for i in range(10)
    ]
    assert cited[10] == "... and 4 more matching lines"
    assert "starting" not in cited


def test_a_python_traceback_cites_its_exception_line() -> None:
    diagnosis = classify(
        evidence(container(), logs={"app": TRACEBACK + "ZeroDivisionError: division by zero\n"})
    )
    assert Citation("logs/app", "ZeroDivisionError: division by zero") in diagnosis.citations
    assert "ZeroDivisionError: division by zero" in diagnosis.root_cause


def test_more_independent_signals_raise_the_confidence() -> None:
    one = classify(evidence(container(exit_code=137), events=[event("Unhealthy", LIVENESS_REFUSED)]))
    two = classify(
        evidence(
            container(exit_code=137),
            events=[
                event("Unhealthy", LIVENESS_REFUSED),
                event("Killing", "Container app failed liveness probe, will be restarted", kind="Normal"),
            ],
        )
    )
    assert two.confidence > one.confidence


def test_a_close_rival_lowers_the_confidence() -> None:
    alone = classify(
        evidence(container(), logs={"app": "Error: required environment variable X is not set\n"})
    )
    rival = classify(
        evidence(
            container(),
            logs={
                "app": "Error: required environment variable X is not set\npanic: runtime error: nil map\n"
            },
        )
    )
    assert alone.category == rival.category == "bad_config"
    assert rival.confidence < alone.confidence
    assert rival.alternatives[0]["category"] == "app_crash"


def test_a_recovered_sidecar_does_not_outvote_the_failing_container() -> None:
    sidecar = container("proxy", reason="OOMKilled", exit_code=137, waiting=None, ready=True, restarts=1)
    app = container("app", exit_code=2)
    diagnosis = classify(
        evidence(sidecar, app, logs={"app": "panic: runtime error: invalid memory address\n"})
    )
    assert (diagnosis.category, diagnosis.container) == ("app_crash", "app")


def test_logs_of_healthy_containers_are_ignored() -> None:
    sidecar = container("proxy", waiting=None, ready=True, restarts=0, exit_code=None)
    diagnosis = classify(
        evidence(
            container("app", exit_code=127),
            sidecar,
            logs={"proxy": "upstream connect error or disconnect: connection refused\n"},
        )
    )
    assert diagnosis.category == "exec_error"
    assert diagnosis.alternatives == []


def test_init_container_failure_names_the_init_container_and_its_sub_cause() -> None:
    ev = evidence(
        container("wait-db", init=True),
        container("app", waiting="PodInitializing", exit_code=None, restarts=0),
        logs={"wait-db": "could not connect to server: Connection refused\n"},
    )
    diagnosis = classify(ev)
    assert diagnosis.container == "wait-db"
    assert "init container wait-db" in diagnosis.summary
    assert "looks like a dependency is unreachable" in diagnosis.root_cause
    assert diagnosis.alternatives[0] == {
        "category": "dependency_unavailable",
        "score": 0.74,
        "container": "wait-db",
    }
    assert Citation("logs/wait-db", "could not connect to server: Connection refused") in diagnosis.citations
    assert diagnosis.confidence == 0.92  # the sub-cause on the same container is no rival


def test_unknown_cites_the_state_and_the_log_tail() -> None:
    log = "".join(f"line {i}\n" for i in range(8))
    diagnosis = classify(evidence(container(), logs={"app": log}))
    assert diagnosis.category == "unknown"
    assert diagnosis.confidence == 0.1
    assert diagnosis.citations[:2] == [
        Citation("pod.status.containerStatuses[app].state.waiting", "reason=CrashLoopBackOff"),
        Citation("pod.status.containerStatuses[app].lastState.terminated", "reason=Error exitCode=1"),
    ]
    assert [c.text for c in diagnosis.citations[2:]] == [f"line {i}" for i in range(3, 8)]


def test_unknown_says_what_evidence_was_missing() -> None:
    ev = evidence(container())
    ev["errors"] = ["kubernetes: previous logs: 404"]
    diagnosis = classify(ev)
    assert "no previous log was available" in diagnosis.root_cause
    assert "kubernetes: previous logs: 404" in diagnosis.root_cause


def test_container_summary_is_derived_from_the_pod_when_absent() -> None:
    pod = {
        "status": {
            "containerStatuses": [
                {
                    "name": "app",
                    "ready": False,
                    "restartCount": 4,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                    "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}},
                }
            ]
        }
    }
    ev = evidence()
    ev.pop("containers")
    ev["pod"] = pod
    diagnosis = classify(ev)
    assert (diagnosis.category, diagnosis.container) == ("oom_killed", "app")


def test_a_current_terminated_state_is_read_from_the_pod() -> None:
    ev = evidence(container(waiting=None, exit_code=None))
    ev["pod"] = {
        "status": {
            "containerStatuses": [
                {"name": "app", "state": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}
            ]
        }
    }
    diagnosis = classify(ev)
    assert diagnosis.category == "oom_killed"
    assert diagnosis.citations[0].source == "pod.status.containerStatuses[app].state.terminated"


def test_event_container_comes_from_the_field_path() -> None:
    ev = evidence(
        container("app", exit_code=0, reason="Completed", waiting=None, ready=True, restarts=0),
        container("worker", exit_code=137),
        events=[event("Unhealthy", "Liveness probe failed: timeout", field_path="spec.containers{worker}")],
    )
    assert classify(ev).container == "worker"


def test_classify_handles_an_empty_evidence_dict() -> None:
    diagnosis = classify({})
    assert diagnosis.category == "unknown"
    assert diagnosis.container is None
    assert diagnosis.summary.startswith("?/?")
