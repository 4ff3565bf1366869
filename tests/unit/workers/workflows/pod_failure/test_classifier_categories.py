"""classify() over one compact evidence dict per failure mode, including the look-alikes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.pod_builders import LIVENESS_REFUSED, TRACEBACK, container, event, evidence
from workers.workflows.pod_failure.classifier import classify
from workers.workflows.pod_failure.signals import CATEGORY_TITLES, SIGNALS

CASES: list[Any] = [
    # --- oom_killed ---
    pytest.param(evidence(container(reason="OOMKilled", exit_code=137)), "oom_killed", id="oom-reason"),
    pytest.param(
        evidence(container(reason="OOMKilled", exit_code=137, waiting=None, ready=True)),
        "oom_killed",
        id="oom-recovered-single-container",
    ),
    pytest.param(
        evidence(container(exit_code=137), metrics={"memory_peak_bytes": 268_000_000.0}),
        "oom_killed",
        id="exit-137-at-the-limit-is-oom",
    ),
    pytest.param(
        evidence(
            container(reason="OOMKilled", exit_code=137),
            logs={"app": 'Exception in thread "main" java.lang.OutOfMemoryError: Java heap space\n'},
        ),
        "oom_killed",
        id="java-heap-and-oomkilled-is-the-container-limit",
    ),
    # A runtime that reports its own heap exhausted and exits by itself ran out of its heap setting, not
    # of the container's memory limit (the kernel would have OOM-killed it with reason OOMKilled).
    pytest.param(
        evidence(container(exit_code=2), logs={"app": "fatal error: runtime: out of memory\n"}),
        "app_crash",
        id="go-runtime-oom-without-oomkilled-is-the-runtime",
    ),
    pytest.param(
        evidence(
            container(exit_code=1),
            logs={"app": 'Exception in thread "main" java.lang.OutOfMemoryError: Java heap space\n'},
        ),
        "app_crash",
        id="java-heap-exit-1-is-the-heap-not-the-limit",
    ),
    # --- probe_failure ---
    pytest.param(evidence(container(exit_code=137)), "probe_failure", id="exit-137-without-oomkilled"),
    pytest.param(
        evidence(
            container(exit_code=137),
            events=[
                event("Unhealthy", LIVENESS_REFUSED, count=12),
                event("Killing", "Container app failed liveness probe, will be restarted", kind="Normal"),
            ],
        ),
        "probe_failure",
        id="liveness-events",
    ),
    pytest.param(
        evidence(
            container(exit_code=143),
            events=[event("Unhealthy", "Startup probe failed: HTTP probe failed with statuscode: 503")],
        ),
        "probe_failure",
        id="startup-probe",
    ),
    # --- image_pull ---
    pytest.param(
        evidence(container(waiting="ImagePullBackOff", exit_code=None, restarts=0)),
        "image_pull",
        id="image-pull-backoff",
    ),
    pytest.param(
        evidence(
            container(waiting="ErrImagePull", exit_code=None, restarts=0),
            events=[event("Failed", 'Failed to pull image "x:1": not found')],
        ),
        "image_pull",
        id="err-image-pull",
    ),
    # --- missing_config_object ---
    pytest.param(
        evidence(
            container(
                waiting="CreateContainerConfigError",
                waiting_message='configmap "web-config" not found',
                exit_code=None,
            )
        ),
        "missing_config_object",
        id="configmap-not-found",
    ),
    pytest.param(
        evidence(
            container(
                waiting="CreateContainerConfigError",
                exit_code=None,
                waiting_message="couldn't find key password in Secret shop/db",
            )
        ),
        "missing_config_object",
        id="secret-key-missing",
    ),
    pytest.param(
        evidence(
            container(waiting="ContainerCreating", exit_code=None, restarts=0),
            events=[
                event(
                    "FailedMount",
                    'MountVolume.SetUp failed for volume "cfg" : configmap "web-config" not found',
                )
            ],
        ),
        "missing_config_object",
        id="failed-mount",
    ),
    # --- exec_error ---
    pytest.param(evidence(container(exit_code=127)), "exec_error", id="exit-127"),
    pytest.param(evidence(container(exit_code=126)), "exec_error", id="exit-126"),
    pytest.param(
        evidence(container(exit_code=255), logs={"app": "exec /usr/bin/web: exec format error\n"}),
        "exec_error",
        id="exec-format-error",
    ),
    pytest.param(
        evidence(
            container(
                reason="StartError",
                exit_code=128,
                message="failed to create containerd task: "
                'exec: "web": executable file not found in $PATH: unknown',
            )
        ),
        "exec_error",
        id="executable-not-found",
    ),
    pytest.param(
        evidence(container(exit_code=126), logs={"app": "exec /app/run.sh: permission denied\n"}),
        "exec_error",
        id="exec-permission-denied-is-not-permission-denied",
    ),
    # --- permission_denied ---
    pytest.param(
        evidence(container(), logs={"app": "PermissionError: [Errno 13] Permission denied: '/data/x'\n"}),
        "permission_denied",
        id="file-permission",
    ),
    pytest.param(
        evidence(container(), logs={"app": "open /cache/index: read-only file system\n"}),
        "permission_denied",
        id="read-only-fs",
    ),
    pytest.param(
        evidence(
            container(),
            logs={
                "app": 'pods is forbidden: User "system:serviceaccount:shop:web" '
                'cannot list resource "pods"\n'
            },
        ),
        "permission_denied",
        id="rbac",
    ),
    # --- dependency_unavailable ---
    pytest.param(
        evidence(container(), logs={"app": "dial tcp 10.96.4.2:5432: connect: connection refused\n"}),
        "dependency_unavailable",
        id="connection-refused",
    ),
    pytest.param(
        evidence(
            container(), logs={"app": "dial tcp: lookup redis.shop.svc on 10.96.0.10:53: no such host\n"}
        ),
        "dependency_unavailable",
        id="dns-no-such-host",
    ),
    pytest.param(
        evidence(container(), logs={"app": "socket.gaierror: [Errno -2] Name or service not known\n"}),
        "dependency_unavailable",
        id="dns-name-or-service",
    ),
    pytest.param(
        evidence(
            container(), logs={"app": TRACEBACK + "ConnectionRefusedError: [Errno 111] Connection refused\n"}
        ),
        "dependency_unavailable",
        id="refused-in-a-traceback",
    ),
    # --- bad_config ---
    pytest.param(
        evidence(container(), logs={"app": "Error: required environment variable DATABASE_URL is not set\n"}),
        "bad_config",
        id="missing-env",
    ),
    pytest.param(
        evidence(container(), logs={"app": TRACEBACK + "KeyError: 'DATABASE_URL'\n"}),
        "bad_config",
        id="keyerror-env-beats-traceback",
    ),
    pytest.param(
        evidence(container(exit_code=2), logs={"app": "flag provided but not defined: -port\n"}),
        "bad_config",
        id="bad-flag",
    ),
    pytest.param(
        evidence(container(), logs={"app": 'level=fatal msg="failed to load config" error="yaml: line 3"\n'}),
        "bad_config",
        id="config-parse",
    ),
    pytest.param(
        evidence(container(), logs={"app": "Error 111 connecting to localhost:6379. Connection refused.\n"}),
        "bad_config",
        id="refused-on-localhost-is-config",
    ),
    pytest.param(
        evidence(container(), logs={"app": "panic: missing required env var PAYMENTS_URL\n"}),
        "bad_config",
        id="config-panic-beats-panic",
    ),
    # --- app_crash ---
    pytest.param(
        evidence(container(exit_code=2), logs={"app": "panic: runtime error: index out of range [3]\n"}),
        "app_crash",
        id="go-panic",
    ),
    pytest.param(
        evidence(container(), logs={"app": TRACEBACK + "ZeroDivisionError: division by zero\n"}),
        "app_crash",
        id="python-traceback",
    ),
    pytest.param(evidence(container(exit_code=139)), "app_crash", id="segfault-139"),
    pytest.param(
        evidence(container(), logs={"app": "Uncaught exception: TypeError: x is undefined\n"}),
        "app_crash",
        id="uncaught",
    ),
    # --- init_container_failure ---
    pytest.param(
        evidence(
            container("migrate", init=True),
            container("app", waiting="PodInitializing", exit_code=None, restarts=0),
        ),
        "init_container_failure",
        id="init-crashloop",
    ),
    pytest.param(
        evidence(
            container("wait-db", init=True),
            container("app", waiting="PodInitializing", exit_code=None, restarts=0),
            logs={
                "wait-db": 'psql: error: connection to server at "db" (10.96.1.1), port 5432 '
                "failed: Connection refused\n"
            },
        ),
        "init_container_failure",
        id="init-with-a-dependency-sub-cause",
    ),
    # --- node_problem ---
    pytest.param(
        evidence(
            container(waiting="ContainerCreating", exit_code=None, restarts=0),
            events=[
                event("FailedCreatePodSandBox", "Failed to create pod sandbox: cni plugin not initialized")
            ],
            node={
                "name": "node-2",
                "ready": False,
                "conditions": [{"type": "Ready", "status": "False", "reason": "KubeletNotReady"}],
            },
        ),
        "node_problem",
        id="node-not-ready",
    ),
    # --- unknown ---
    pytest.param(evidence(container(), logs={"app": "exporter stopped\n"}), "unknown", id="nothing-matches"),
    pytest.param(evidence(container(exit_code=143)), "unknown", id="sigterm-alone-is-too-weak"),
]


@pytest.mark.parametrize(("ev", "category"), CASES)
def test_category(ev: dict[str, Any], category: str) -> None:
    diagnosis = classify(ev)
    assert diagnosis.category == category, diagnosis.root_cause
    assert 0.0 < diagnosis.confidence <= 0.99
    assert diagnosis.summary and diagnosis.root_cause
    if category != "unknown":
        assert diagnosis.confidence >= 0.3
        assert diagnosis.citations


def test_every_category_of_the_table_has_a_case_and_a_title() -> None:
    tested = {param.values[1] for param in CASES}
    assert {signal.category for signal in SIGNALS} | {"unknown"} <= tested
    assert set(CATEGORY_TITLES) == tested
