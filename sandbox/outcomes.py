"""The ``outcomes:`` of scenario.yaml: the rules that decide how pods the sandbox creates behave.

Each outcome names a deployment (``namespace/name``) and a container, and lists cases; the first
case whose ``when`` conditions all hold for the new pod's template wins, and a case without
``when`` is the default. A pod with no matching outcome starts ``running``.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.units import parse_quantity

STATES = frozenset({"running", "crashloop", "oom_killed", "image_pull", "config_error", "probe_killed"})
CRASH_STATES = frozenset({"crashloop", "oom_killed", "probe_killed"})
CONDITIONS = frozenset({
    "memory_limit_at_least", "image", "image_not", "env_present", "liveness_initial_delay_at_least",
    "has_startup_probe", "configmap_exists", "revision_at_most",
})  # fmt: skip
CASE_KEYS = frozenset({"when", "state", "exit_code", "message", "log", "usage", "initial_restarts"})
DEFAULT_RESTART_PERIOD_S = 10.0


@dataclass
class PodBehaviour:
    """How one sandbox-created pod behaves; its status is computed from this and the clock."""

    state: str = "running"
    container: str | None = None
    """The container the state applies to; the pod's other containers run."""
    exit_code: int | None = None
    message: str | None = None
    log: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    restart_period_s: float = DEFAULT_RESTART_PERIOD_S
    initial_restarts: int | None = None
    ready_delay_s: float = 0.0
    """Seconds after the pod starts until its running containers turn Ready (the rollout step)."""
    started: float = 0.0
    deleted: float | None = None

    @property
    def crashing(self) -> bool:
        return self.state in CRASH_STATES

    def applies_to(self, container: str) -> bool:
        return self.container is None or self.container == container

    def restarts(self, now: float) -> int:
        """The restart count at ``now``: crash-looping containers restart once per period."""
        initial = self.initial_restarts if self.initial_restarts is not None else int(self.crashing)
        if not self.crashing:
            return initial
        end = min(now, self.deleted) if self.deleted is not None else now
        return initial + max(0, math.floor((end - self.started) / self.restart_period_s))


def _check_case(case: Any, where: str) -> list[str]:
    if not isinstance(case, dict):
        return [f"{where}: a case must be a mapping"]
    problems = [f"{where}: unknown key {k!r}" for k in case if k not in CASE_KEYS]
    if case.get("state", "running") not in STATES:
        problems.append(f"{where}: state {case.get('state')!r} is not one of {sorted(STATES)}")
    when = case.get("when", {})
    if not isinstance(when, dict):
        problems.append(f"{where}: when must be a mapping")
    else:
        problems += [f"{where}: unknown condition {k!r}" for k in when if k not in CONDITIONS]
    if not isinstance(case.get("usage", {}), dict):
        problems.append(f"{where}: usage must be a mapping like {{memory: 300Mi, cpu: 100m}}")
    return problems


def check(outcomes: list[Any], source: str) -> list[str]:
    """Problems with the ``outcomes:`` list of a parsed scenario.yaml (empty when it is usable)."""
    problems = []
    for i, outcome in enumerate(outcomes):
        where = f"{source}: outcomes[{i}]"
        if not isinstance(outcome, dict) or not isinstance(outcome.get("cases"), list):
            problems.append(f"{where}: needs a cases list")
            continue
        if "/" not in str(outcome.get("deployment", "")):
            problems.append(f"{where}: deployment must be written namespace/name")
        for j, case in enumerate(outcome["cases"]):
            problems += _check_case(case, f"{where}.cases[{j}]")
    return problems


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def referenced_configmaps(container: dict[str, Any], pod_spec: dict[str, Any]) -> list[str]:
    """Names of the configmaps a container needs (non-optional env, envFrom and volume references)."""
    names = [
        ref["configMapRef"]["name"]
        for ref in container.get("envFrom") or []
        if "configMapRef" in ref and not ref["configMapRef"].get("optional")
    ]
    for env in container.get("env") or []:
        ref = (env.get("valueFrom") or {}).get("configMapKeyRef")
        if ref and not ref.get("optional"):
            names.append(ref["name"])
    mounted = {m["name"] for m in container.get("volumeMounts") or []}
    for volume in pod_spec.get("volumes") or []:
        ref = volume.get("configMap")
        if volume["name"] in mounted and ref and not ref.get("optional"):
            names.append(ref["name"])
    return list(dict.fromkeys(names))


def _holds(name: str, expected: Any, container: dict[str, Any], context: dict[str, Any]) -> bool:
    limits = (container.get("resources") or {}).get("limits") or {}
    probe = container.get("livenessProbe")
    if name == "memory_limit_at_least":
        return "memory" in limits and parse_quantity(limits["memory"]) >= parse_quantity(expected)
    if name in ("image", "image_not"):
        hit = any(fnmatch.fnmatchcase(container.get("image", ""), str(p)) for p in _as_list(expected))
        return hit if name == "image" else not hit
    if name == "env_present":
        present = {env.get("name") for env in container.get("env") or []}
        return all(n in present for n in _as_list(expected))
    if name == "liveness_initial_delay_at_least":
        return probe is None or probe.get("initialDelaySeconds", 0) >= int(expected)
    if name == "has_startup_probe":
        return ("startupProbe" in container) == bool(expected)
    if name == "configmap_exists":
        wanted = (
            referenced_configmaps(container, context["pod_spec"]) if expected is True else _as_list(expected)
        )
        return all(context["configmap_exists"](str(n)) for n in wanted)
    if name == "revision_at_most":
        return bool(context["revision"] <= int(expected))
    return False


def behaviour_for(
    scenario: dict[str, Any],
    deployment: str | None,
    pod_spec: dict[str, Any],
    revision: int,
    configmap_exists: Callable[[str], bool],
) -> PodBehaviour:
    """The behaviour of a new pod of ``deployment`` (``namespace/name``) with template ``pod_spec``."""
    period = float(scenario.get("restart_period_s", DEFAULT_RESTART_PERIOD_S))
    containers = pod_spec.get("containers") or []
    for outcome in scenario.get("outcomes", []):
        if deployment is None or outcome.get("deployment") != deployment:
            continue
        name = outcome.get("container") or (containers[0]["name"] if containers else None)
        container = next((c for c in containers if c.get("name") == name), None)
        if container is None:
            continue
        context = {"pod_spec": pod_spec, "revision": revision, "configmap_exists": configmap_exists}
        for case in outcome["cases"]:
            when = case.get("when") or {}
            if all(_holds(k, v, container, context) for k, v in when.items()):
                return PodBehaviour(
                    state=case.get("state", "running"),
                    container=name,
                    exit_code=case.get("exit_code"),
                    message=case.get("message"),
                    log=case.get("log"),
                    usage=dict(case.get("usage") or {}),
                    restart_period_s=float(outcome.get("restart_period_s", period)),
                    initial_restarts=case.get("initial_restarts"),
                )
    return PodBehaviour(restart_period_s=period)
