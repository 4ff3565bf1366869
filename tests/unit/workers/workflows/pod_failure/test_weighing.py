"""The weighing rules: consequences and generic crash reports are discounted, and the diagnosis says so."""

from __future__ import annotations

from tests.support.pod_builders import LIVENESS_REFUSED, container, event, evidence
from workers.workflows.pod_failure.classifier import classify

STARTUP_REFUSED = (
    'Startup probe failed: Get "http://10.244.1.9:8080/healthz": dial tcp 10.244.1.9:8080: connect: '
    "connection refused"
)
KILLING = "Container app failed liveness probe, will be restarted"


def test_probe_failures_are_a_consequence_when_the_process_exits_on_its_own() -> None:
    log = (
        "Traceback (most recent call last):\n"
        '  File "/app/main.py", line 1\n'
        "ModuleNotFoundError: No module named 'x'\n"
    )
    diagnosis = classify(
        evidence(
            container(exit_code=3),
            logs={"app": log},
            events=[
                event("Unhealthy", STARTUP_REFUSED, count=30),
                event("Unhealthy", LIVENESS_REFUSED, count=30),
            ],
        )
    )
    assert diagnosis.category == "app_crash"
    assert diagnosis.decided_by is not None
    assert diagnosis.decided_by["text"] == "ModuleNotFoundError: No module named 'x'"
    own_exit = [d for d in diagnosis.discounted if d["rule"] == "own-exit"]
    assert {d["signal"] for d in own_exit} == {"probe-startup-unhealthy", "probe-liveness-unhealthy"}
    assert all("exits 3 on its own" in d["why"] for d in own_exit)
    assert "Set aside" in diagnosis.root_cause


def test_a_liveness_kill_with_a_quiet_log_stays_a_probe_failure() -> None:
    diagnosis = classify(
        evidence(
            container(exit_code=137),
            logs={"app": "2026-11-25 09:45:03 INFO warming caches (41%)\n"},
            events=[event("Unhealthy", LIVENESS_REFUSED, count=21), event("Killing", KILLING, kind="Normal")],
        )
    )
    assert diagnosis.category == "probe_failure"
    assert not [d for d in diagnosis.discounted if d["category"] == "probe_failure"]


def test_a_liveness_kill_of_a_process_failing_on_its_own_error_is_that_error() -> None:
    log = (
        '{"level":"info","msg":"starting"}\n'
        '{"level":"error","msg":"handshake failed","error":"dial tcp: lookup api.example on 10.96.0.10:53: '
        'no such host"}\n'
    )
    diagnosis = classify(
        evidence(
            container(exit_code=137),
            logs={"app": log},
            events=[event("Unhealthy", LIVENESS_REFUSED, count=21), event("Killing", KILLING, kind="Normal")],
        )
    )
    assert diagnosis.category == "dependency_unavailable"
    assert {d["rule"] for d in diagnosis.discounted if d["category"] == "probe_failure"} == {"failing-anyway"}


def test_an_exit_137_without_oomkilled_is_not_out_of_memory_and_a_heap_error_is_not_the_limit() -> None:
    assert classify(evidence(container(exit_code=137))).category == "probe_failure"
    heap = classify(
        evidence(
            container(exit_code=1), logs={"app": 'Exception in thread "main" java.lang.OutOfMemoryError: x\n'}
        )
    )
    assert heap.category == "app_crash" and "not OOMKilled" in heap.root_cause


def test_a_generic_exception_yields_to_the_specific_message_it_carries() -> None:
    log = (
        "Unhandled exception. Microsoft.Data.SqlClient.SqlException (0x80131904): A network-related or "
        "instance-specific error occurred while establishing a connection to SQL Server.\n"
    )
    diagnosis = classify(evidence(container(exit_code=134), logs={"app": log}))
    assert diagnosis.category == "dependency_unavailable"
    generic = {d["signal"] for d in diagnosis.discounted if d["rule"] == "generic"}
    assert {"crash-exit-134", "crash-uncaught"} <= generic


def test_an_early_note_the_process_outlived_loses_to_the_terminal_error() -> None:
    log = (
        "/docker-entrypoint.sh: line 9: /etc/timezone: Read-only file system\n"
        'time="2026-11-25T09:45:02Z" level=info msg="starting"\n'
        'time="2026-11-25T09:45:02Z" level=warning msg="TZ not written, using UTC"\n'
        'time="2026-11-25T09:45:05Z" level=fatal msg="cannot open database" error="dial tcp 10.96.0.21:3306: '
        'connect: connection refused"\n'
    )
    diagnosis = classify(evidence(container(exit_code=1), logs={"app": log}))
    assert diagnosis.category == "dependency_unavailable"
    assert diagnosis.decided_by is not None and diagnosis.decided_by["level"] == "fatal"
    outlived = [d for d in diagnosis.discounted if d["rule"] == "outlived"]
    assert outlived and outlived[0]["category"] == "permission_denied"
    # the info and the warning line, and the fatal line with its own cause
    assert "carried on for 3 more log lines" in outlived[0]["why"]


def test_an_info_line_naming_a_problem_is_not_the_cause() -> None:
    log = (
        "10-listen-on-ipv6-by-default.sh: info: can not modify /etc/nginx/conf.d/default.conf "
        "(read-only file system?)\n"
        'nginx: [emerg] host not found in upstream "api:8080" in /etc/nginx/conf.d/default.conf:14\n'
    )
    assert classify(evidence(container(exit_code=1), logs={"app": log})).category == "dependency_unavailable"


def test_generic_crash_reports_count_once_and_cap_the_confidence() -> None:
    log = "panic: something\n\ngoroutine 1 [running]:\nmain.main()\n"
    diagnosis = classify(evidence(container(exit_code=139), logs={"app": log}))
    assert diagnosis.category == "app_crash"
    assert diagnosis.confidence <= 0.6


def test_the_shell_exit_code_makes_permission_denied_an_entrypoint_problem() -> None:
    log = "/bin/sh: 1: /app/run.sh: Permission denied\n"
    assert classify(evidence(container(exit_code=126), logs={"app": log})).category == "exec_error"
    assert classify(evidence(container(exit_code=1), logs={"app": log})).category == "permission_denied"
