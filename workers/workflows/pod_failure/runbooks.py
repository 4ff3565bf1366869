"""Runbook sections and manual steps per diagnosis category, for proposals that a person carries out.

Every proposal names a runbook section; a ``none`` proposal also carries these steps, filled in with
the pod's namespace, name, container and deployment so they can be pasted into a terminal.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

CRASHLOOP = "docs/runbooks/crashloopbackoff.md"
OOMKILLED = "docs/runbooks/oomkilled.md"

RUNBOOKS: dict[str, str] = {
    "oom_killed": OOMKILLED,
    "bad_config": f"{CRASHLOOP}#bad-configuration",
    "missing_config_object": f"{CRASHLOOP}#missing-configmap-or-secret",
    "probe_failure": f"{CRASHLOOP}#probe-failure",
    "image_pull": f"{CRASHLOOP}#image-pull",
    "exec_error": f"{CRASHLOOP}#exec-error",
    "permission_denied": f"{CRASHLOOP}#permission-denied",
    "dependency_unavailable": f"{CRASHLOOP}#dependency-unavailable",
    "app_crash": f"{CRASHLOOP}#application-crash",
    "init_container_failure": f"{CRASHLOOP}#init-container-failure",
    "node_problem": f"{CRASHLOOP}#node-problem",
    "unknown": f"{CRASHLOOP}#unknown-cause",
}

_LOGS = "kubectl -n {namespace} logs {pod} -c {container} --previous --tail=100"
_DESCRIBE = "kubectl -n {namespace} describe pod {pod}"
_HISTORY = "kubectl -n {namespace} rollout history deployment/{deployment}"
_UNDO = "kubectl -n {namespace} rollout undo deployment/{deployment} --to-revision={previous}"

STEPS: dict[str, list[str]] = {
    "oom_killed": [
        "Confirm the kill: kubectl -n {namespace} get pod {pod} -o jsonpath="
        "'{{.status.containerStatuses[?(@.name==\"{container}\")].lastState.terminated.reason}}' (OOMKilled)",
        "Compare the working-set peak with the limit: max_over_time(container_memory_working_set_bytes"
        '{{namespace="{namespace}", pod="{pod}", container="{container}"}}[1h])',
        "If the usage grows without bound (a leak), raising the limit only delays the kill: "
        "roll back or fix the leak",
        "Raise the limit (and the request when it equals the limit): kubectl -n {namespace} set resources "
        "deployment/{deployment} -c {container} --limits=memory=<new> --requests=memory=<new>",
    ],
    "bad_config": [
        _LOGS + "  # the line naming the bad or missing setting",
        _HISTORY + " and compare env/args: kubectl -n {namespace} rollout history deployment/{deployment} "
        "--revision={current}",
        "If the new revision introduced it: " + _UNDO,
        "Otherwise fix the setting in the Deployment, ConfigMap or Secret it comes from, "
        "then restart the rollout",
    ],
    "missing_config_object": [
        _DESCRIBE + "  # the event names the missing ConfigMap, Secret or key",
        "kubectl -n {namespace} get configmaps,secrets  # does the object exist in this namespace?",
        "Create the object or the key (from the source of truth: Helm values, GitOps repo, secret manager); "
        "the kubelet retries on its own and the container starts without a restart",
        "If the reference is a typo introduced by a new revision: " + _UNDO,
    ],
    "probe_failure": [
        _DESCRIBE + "  # Unhealthy and Killing events, the probe settings",
        _LOGS + "  # how far startup got before the kill",
        "Measure the start time; give the container a startupProbe (failureThreshold x periodSeconds > start "
        "time) or raise livenessProbe.initialDelaySeconds",
        "If the app is up but the probe endpoint fails, fix the endpoint or the probe path/port instead",
    ],
    "image_pull": [
        _DESCRIBE + "  # Failed events: not found, unauthorized, or registry unreachable",
        "Check the image reference exists: tag typo, deleted tag, private registry without imagePullSecrets",
        "If the new revision introduced the image: " + _UNDO,
    ],
    "exec_error": [
        _DESCRIBE + "  # last state message: exec format error, executable not found, permission denied",
        "Check the image's architecture (docker manifest inspect) and the command/entrypoint "
        "in the Deployment",
        "If the new revision introduced it: " + _UNDO,
    ],
    "permission_denied": [
        _LOGS + "  # the path or API call that was denied",
        "File access: compare securityContext.runAsUser/fsGroup with the owner of the volume or path; "
        "a readOnlyRootFilesystem needs an emptyDir for writable paths",
        "API access: kubectl auth can-i <verb> <resource> -n {namespace} "
        "--as=system:serviceaccount:{namespace}:<serviceaccount>, then fix the Role/RoleBinding",
    ],
    "dependency_unavailable": [
        _LOGS + "  # the host and port the app fails to reach",
        "kubectl -n {namespace} get svc,endpoints  # does the service exist and have ready endpoints?",
        "Fix the dependency first (its own pods, its Service selector, DNS); "
        "the app recovers on its next restart",
        "Once the dependency is back, a restart resets the crash back-off: "
        "kubectl -n {namespace} delete pod {pod}",
        "Consider making the app retry with back-off instead of exiting when a dependency is down",
    ],
    "app_crash": [
        _LOGS + "  # the stack trace or panic",
        _HISTORY + "  # did a new revision start it?",
        "If a new revision introduced it: " + _UNDO + "; otherwise hand the trace to the owning team",
    ],
    "init_container_failure": [
        "kubectl -n {namespace} logs {pod} -c {container} --previous  # the init container's own error",
        _DESCRIBE + "  # init container state and events",
        "Fix what the init container needs (migration, dependency, config); the pod starts once it succeeds",
    ],
    "node_problem": [
        "kubectl describe node {node}  # conditions: Ready, NetworkUnavailable, pressure",
        _DESCRIBE + "  # FailedCreatePodSandBox or node events",
        "Delete the pod so its controller recreates it, then cordon the node if it stays unhealthy: "
        "kubectl cordon {node}",
    ],
    "unknown": [
        _DESCRIBE,
        _LOGS,
        "kubectl -n {namespace} get events --field-selector involvedObject.name={pod} "
        "--sort-by=.lastTimestamp",
        "Follow docs/fallback/pod-failure.md step by step",
    ],
}


def runbook_for(category: str) -> str:
    """The runbook section for a category (the unknown-cause section when there is none)."""
    return RUNBOOKS.get(category, RUNBOOKS["unknown"])


def steps_for(category: str, values: dict[str, Any]) -> list[str]:
    """The manual steps for a category, with the pod's names filled in (``<name>`` where unknown)."""
    filled = defaultdict(lambda: "<?>", {key: value for key, value in values.items() if value is not None})
    return [step.format_map(filled) for step in STEPS.get(category, STEPS["unknown"])]
