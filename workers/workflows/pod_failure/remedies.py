"""Turn a diagnosis into one proposed action: an allowlisted change with exact params, or ``none``.

``propose(diagnosis, evidence, allowed_actions)`` picks the action the category calls for (``PLANNERS``),
works out its parameters from the evidence, and explains the arithmetic in ``reasoning``. When the
rule does not allow that action, or the evidence does not support it, the proposal is ``none`` with
the runbook section and the manual steps, and says why.

Restarting a pod is proposed for ``node_problem`` only: the node failed to create the pod sandbox or
reports NotReady/NetworkUnavailable/pressure, and the pod has a controller that recreates it,
possibly on a healthy node. A restart never fixes a crash that follows the container wherever it runs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import timedelta
from fractions import Fraction
from typing import Any

from rules.allowlist import ACTIONS, NO_ACTION, Risk
from workers.integrations.kubernetes.quantities import (
    MI,
    QuantityError,
    format_bytes,
    humanize_bytes,
    memory_step,
    parse_bytes,
    round_up,
)
from workers.workflows.pod_failure.model import Diagnosis, ProposedAction
from workers.workflows.pod_failure.revisions import parse_time
from workers.workflows.pod_failure.runbooks import runbook_for, steps_for
from workers.workflows.pod_failure.signals import START_TIME_PATTERNS, compiled, title

PEAK_FACTOR = Fraction(13, 10)
LIMIT_FACTOR = Fraction(6, 5)
LIMIT_INCREMENT = 100 * MI
START_DELAY_FACTOR = Fraction(3, 2)  # initialDelaySeconds = measured start time x 1.5, rounded up to 5 s
STARTUP_BUDGET_MIN_EXTRA_S = 60  # a startupProbe allows max(2 x observed run time, observed + 60 s)
DEFAULT_PERIOD_S = 10
# Sub-causes of a failing init container that a rollback cannot fix.
NOT_FIXED_BY_ROLLBACK = frozenset(
    {"dependency_unavailable", "missing_config_object", "permission_denied", "node_problem"}
)


def _names(diagnosis: Diagnosis, evidence: dict[str, Any]) -> dict[str, Any]:
    target = evidence.get("target") or {}
    owner = evidence.get("owner") or {}
    revision = diagnosis.revision or {}
    return {
        "namespace": target.get("namespace"),
        "pod": target.get("name"),
        "container": diagnosis.container,
        "deployment": owner.get("deployment"),
        "current": revision.get("current") or owner.get("revision"),
        "previous": revision.get("previous"),
        "node": (evidence.get("node") or {}).get("name"),
    }


def _validation(diagnosis: Diagnosis, extra: str = "") -> str:
    text = (
        f"Pod Ready within 2 minutes of the change; the restart count of {diagnosis.container} stops growing "
        "(increase of kube_pod_container_status_restarts_total over 5m == 0); watched over the rule's "
        "validation window (default 1 h, checks at growing intervals); a regression parks a revert proposal."
    )
    return f"{text} {extra}".strip()


def manual(diagnosis: Diagnosis, evidence: dict[str, Any], why: str) -> ProposedAction:
    """A ``none`` proposal: no cluster change, the runbook and the steps, and why."""
    return ProposedAction(
        type=NO_ACTION,
        params={},
        risk=Risk.low.value,
        expected_outcome="Nothing changes in the cluster: a person follows the runbook; the alert resolves "
        "once the cause is fixed.",
        validation_plan="No automatic validation, because no change is made.",
        runbook=runbook_for(diagnosis.category),
        reasoning=why,
        steps=steps_for(diagnosis.category, _names(diagnosis, evidence)),
    )


def _container(evidence: dict[str, Any], name: str | None) -> dict[str, Any]:
    items: list[dict[str, Any]] = evidence.get("containers") or []
    return next((item for item in items if item.get("name") == name), {})


def raise_memory(diagnosis: Diagnosis, evidence: dict[str, Any]) -> ProposedAction:
    """``oom_killed``: limit to max(peak x 1.3, limit x 1.2, limit + 100Mi), rounded up to 64Mi/128Mi."""
    container = _container(evidence, diagnosis.container)
    resources = container.get("resources") or {}
    metrics = evidence.get("metrics") or {}
    try:
        limit_text = (resources.get("limits") or {}).get("memory")
        limit = parse_bytes(limit_text) if limit_text else None
        request_text = (resources.get("requests") or {}).get("memory")
        request = parse_bytes(request_text) if request_text else None
    except QuantityError as exc:
        return manual(diagnosis, evidence, f"The container's memory resources cannot be read ({exc}).")
    if limit is None:
        return manual(
            diagnosis,
            evidence,
            f"Container {diagnosis.container} has no memory limit, so the OOM kill came from the node "
            "running out of memory, not from a limit that could be raised. Set a request that matches "
            "the real usage so the scheduler places the pod where the memory is.",
        )
    peak = metrics.get("memory_peak_bytes")
    candidates: list[tuple[str, Fraction]] = []
    if isinstance(peak, int | float) and peak > 0:
        candidates.append((f"peak {humanize_bytes(peak)} x 1.3", Fraction(peak) * PEAK_FACTOR))
    candidates.append((f"limit {format_bytes(limit)} x 1.2", limit * LIMIT_FACTOR))
    candidates.append((f"limit {format_bytes(limit)} + 100Mi", Fraction(limit + LIMIT_INCREMENT)))
    wanted = max(value for _, value in candidates)
    step = memory_step(wanted)
    new_limit = round_up(wanted, step)
    lines = [f"{label} = {humanize_bytes(float(value))}" for label, value in candidates]
    if not candidates[0][0].startswith("peak"):
        lines.insert(0, "no memory peak from Prometheus, so the limit alone sets the size")
    arithmetic = (
        f"{'; '.join(lines)}. The largest is {humanize_bytes(float(wanted))}, rounded up to a multiple of "
        f"{format_bytes(step)}: {format_bytes(new_limit)}."
    )
    if request is None or request == limit:
        new_request = new_limit
        arithmetic += (
            f" The request {'is unset and defaults to' if request is None else 'equals'} the limit, "
            f"so it rises to {format_bytes(new_limit)} too."
        )
    else:
        new_request = request
        arithmetic += f" The request {format_bytes(request)} is below the limit and stays."
    if not any(c.text.startswith("reason=OOMKilled") for c in diagnosis.citations):
        arithmetic += (
            " The runtime reported running out of memory itself: if its heap is sized by a fixed flag "
            "(-Xmx, --max-old-space-size), raise that too."
        )
    return ProposedAction(
        type="raise-memory-limit",
        params={
            "container": diagnosis.container,
            "memory_limit": format_bytes(new_limit),
            "memory_request": format_bytes(new_request),
        },
        risk=ACTIONS["raise-memory-limit"].value,
        expected_outcome=f"Pods restart with a {format_bytes(new_limit)} memory limit for "
        f"{diagnosis.container} "
        f"(was {format_bytes(limit)}) and are no longer OOMKilled.",
        validation_plan=_validation(diagnosis, "No new OOMKilled termination during the window."),
        runbook=runbook_for("oom_killed"),
        reasoning=arithmetic,
    )


def _start_time_from_log(evidence: dict[str, Any], container: str | None) -> float | None:
    log = (evidence.get("previous_logs") or {}).get(container or "")
    if not isinstance(log, str):
        return None
    for pattern in START_TIME_PATTERNS:
        for found in compiled(pattern).finditer(log):
            seconds = float(found.group(1))
            return seconds / 1000 if found.group(2).lower() == "ms" else seconds
    return None


def _ran_for(container: dict[str, Any]) -> float | None:
    term = container.get("lastTerminated") or {}
    started, finished = parse_time(term.get("startedAt")), parse_time(term.get("finishedAt"))
    if started is None or finished is None or finished < started:
        return None
    return (finished - started) / timedelta(seconds=1)


def adjust_probe(diagnosis: Diagnosis, evidence: dict[str, Any]) -> ProposedAction:
    """``probe_failure``: raise liveness initialDelaySeconds from a measured start time, else add (or
    lengthen) a startupProbe sized from how long the container ran before it was killed."""
    container = _container(evidence, diagnosis.container)
    liveness, startup = container.get("livenessProbe"), container.get("startupProbe")
    if not liveness and not startup:
        return manual(
            diagnosis,
            evidence,
            "The container was killed from outside but has no liveness or startup "
            "probe to adjust: look for evictions, preemption or a node problem.",
        )
    measured = _start_time_from_log(evidence, diagnosis.container)
    ran_for = _ran_for(container)
    current_delay = int((liveness or {}).get("initialDelaySeconds") or 0)
    if measured is not None and liveness and not startup:
        delay = round_up(math.ceil(Fraction(measured) * START_DELAY_FACTOR), 5)
        if delay > current_delay:
            reasoning = (
                f"The log says startup took {measured:g}s; the liveness probe starts after "
                f"{current_delay}s and kills the container before it is up. initialDelaySeconds = "
                f"{measured:g}s x 1.5 = {float(measured * 1.5):g}s, rounded up to 5s: {delay}s."
            )
            return _probe_action(
                diagnosis,
                {"probe": "livenessProbe", "initial_delay_seconds": delay},
                reasoning,
                f"The liveness probe waits {delay}s, longer than the measured start time.",
            )
    probe = dict(startup or liveness or {})
    period = int(probe.get("periodSeconds") or DEFAULT_PERIOD_S)
    observed = ran_for if ran_for is not None else measured
    if observed is None:
        return manual(
            diagnosis,
            evidence,
            "Neither the log nor the container's start and finish times tell how "
            "long startup takes, so no probe setting can be derived.",
        )
    budget = max(2 * observed, observed + STARTUP_BUDGET_MIN_EXTRA_S)
    threshold = math.ceil(budget / period)
    source = "ran" if ran_for is not None else "took to start"
    if startup:
        old = int(startup.get("failureThreshold") or 3)
        threshold = max(threshold, old + 1)
        settings: dict[str, Any] = {**startup, "failureThreshold": threshold}
        reasoning = (
            f"The container {source} {observed:g}s before the startup probe gave up (failureThreshold "
            f"{old} x periodSeconds {period}). Budget max(2 x {observed:g}s, {observed:g}s + 60s) = "
            f"{budget:g}s; failureThreshold = ceil({budget:g} / {period}) = {threshold}."
        )
    else:
        handler = {key: probe[key] for key in ("httpGet", "tcpSocket", "exec", "grpc") if key in probe}
        settings = {
            **handler,
            "periodSeconds": period,
            "timeoutSeconds": int(probe.get("timeoutSeconds") or 1),
            "failureThreshold": threshold,
        }
        reasoning = (
            f"The container {source} {observed:g}s and was killed by its liveness probe before startup "
            f"finished (the start time is at least that). A startupProbe with the liveness handler holds "
            f"liveness off until the app is up: budget max(2 x {observed:g}s, {observed:g}s + 60s) = "
            f"{budget:g}s; failureThreshold = ceil({budget:g} / {period}s) = {threshold}. Liveness keeps "
            "its settings, so a hung app is still restarted quickly after startup."
        )
    return _probe_action(
        diagnosis,
        {"startup_probe": settings},
        reasoning,
        f"Startup may take up to {threshold * period}s before liveness checks begin.",
    )


def _probe_action(
    diagnosis: Diagnosis, change: dict[str, Any], reasoning: str, outcome: str
) -> ProposedAction:
    """``change``: ``probe`` + ``initial_delay_seconds``, or ``startup_probe`` (the whole probe to set)."""
    return ProposedAction(
        type="adjust-probe",
        params={"container": diagnosis.container, **change},
        risk=ACTIONS["adjust-probe"].value,
        expected_outcome=f"{outcome} Container {diagnosis.container} starts and is no longer restarted "
        "by the kubelet.",
        validation_plan=_validation(diagnosis, "No new Unhealthy/Killing probe events during the window."),
        runbook=runbook_for("probe_failure"),
        reasoning=reasoning,
    )


def rollback(diagnosis: Diagnosis, evidence: dict[str, Any]) -> ProposedAction:
    """Roll the Deployment back when the failure started with its current revision."""
    revision = diagnosis.revision or {}
    if not diagnosis.started_with_revision or revision.get("previous") is None:
        if revision.get("deployment") is None:
            why = "The pod has no Deployment owner with a revision history, so there is nothing to roll back."
        elif revision.get("previous") is None:
            why = f"Deployment {revision.get('deployment')} has no earlier revision to roll back to."
        elif not revision.get("changes"):
            why = (
                f"Revision {revision.get('current')} changed no image, command, args or env (a restart or an "
                "annotation), so rolling back would run the same containers again."
            )
        else:
            why = (
                f"The failure did not start with revision {revision.get('current')} (rolled out "
                f"{revision.get('rolled_out_at')}, first failure {revision.get('first_failure')}), "
                "so a rollback "
                "is not expected to help."
            )
        return manual(diagnosis, evidence, why)
    sub = next(
        (alt["category"] for alt in diagnosis.alternatives if alt.get("container") == diagnosis.container),
        None,
    )
    if diagnosis.category == "init_container_failure" and sub in NOT_FIXED_BY_ROLLBACK:
        return manual(
            diagnosis,
            evidence,
            f"The init container's own failure looks like {title(sub)}, which a rollback does not fix.",
        )
    deployment, current, previous = revision["deployment"], revision["current"], revision["previous"]
    return ProposedAction(
        type="rollback-deployment",
        params={"deployment": deployment, "to_revision": previous, "from_revision": current},
        risk=ACTIONS["rollback-deployment"].value,
        expected_outcome=f"Deployment {deployment} runs the pod template of revision {previous} again "
        "(as a new "
        f"revision number); its pods start and become Ready.",
        validation_plan=_validation(
            diagnosis, f"The Deployment's new pods no longer show {title(diagnosis.category)}."
        ),
        runbook=runbook_for(diagnosis.category),
        reasoning=(
            f"{title(diagnosis.category).capitalize()} began {revision.get('first_failure')}, right after "
            f"revision {current} rolled out at {revision.get('rolled_out_at')}; that revision changed "
            f"{'; '.join(revision.get('changes') or [])}. Revision {previous} ran the previous template."
        ),
    )


def restart(diagnosis: Diagnosis, evidence: dict[str, Any]) -> ProposedAction:
    """``node_problem``: delete the pod so its controller recreates it, when it has one."""
    target = evidence.get("target") or {}
    if not evidence.get("owner"):
        return manual(diagnosis, evidence, "The pod has no controller: deleting it would not bring it back.")
    node = (evidence.get("node") or {}).get("name") or "its node"
    return ProposedAction(
        type="restart-pod",
        params={"pod": target.get("name")},
        risk=ACTIONS["restart-pod"].value,
        expected_outcome="The controller recreates the pod; the replacement starts on a healthy node "
        f"(cordon {node} "
        "if it stays unhealthy).",
        validation_plan=_validation(diagnosis, "The replacement pod is scheduled and Ready."),
        runbook=runbook_for("node_problem"),
        reasoning=f"The failure comes from {node}, not from the container: it cannot set up the pod. "
        "A new pod "
        "is the quickest way off it; the container itself showed no fault.",
    )


def _no_action(diagnosis: Diagnosis, evidence: dict[str, Any]) -> ProposedAction:
    reasons = {
        "missing_config_object": "The missing object has to be created by its owner; "
        "no allowlisted action can "
        "create configuration, and the container starts by itself once it exists.",
        "dependency_unavailable": "Another service is unreachable: changing this pod does not bring it back.",
        "permission_denied": "Access is denied by the security context, the volume or RBAC: "
        "changing permissions "
        "is a decision for a person.",
    }
    return manual(
        diagnosis,
        evidence,
        reasons.get(
            diagnosis.category, "The cause is unknown: no change is safe without a person looking first."
        ),
    )


PLANNERS: dict[str, Callable[[Diagnosis, dict[str, Any]], ProposedAction]] = {
    "oom_killed": raise_memory,
    "probe_failure": adjust_probe,
    "bad_config": rollback,
    "image_pull": rollback,
    "exec_error": rollback,
    "app_crash": rollback,
    "init_container_failure": rollback,
    "node_problem": restart,
}


def propose(diagnosis: Diagnosis, evidence: dict[str, Any], allowed_actions: list[str]) -> ProposedAction:
    """The proposal for ``diagnosis``, limited to ``allowed_actions`` (the rule's remediation actions)."""
    planner = PLANNERS.get(diagnosis.category, _no_action)
    wanted = planner(diagnosis, evidence)
    if wanted.type == NO_ACTION:
        return wanted
    if wanted.type not in ACTIONS or wanted.type not in allowed_actions:
        params = ", ".join(f"{key}={value}" for key, value in wanted.params.items())
        why = (
            f"The diagnosis calls for {wanted.type} ({params}), but the rule allows only "
            f"{', '.join(allowed_actions) or 'no actions'}: no change is proposed. {wanted.reasoning}"
        )
        return manual(diagnosis, evidence, _squash(why))
    return wanted


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
