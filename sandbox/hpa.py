"""The HorizontalPodAutoscaler controller, following kube-controller-manager's ``horizontal.go``.

Every ``hpa.sync_period_s`` seconds of sandbox time (scenario.yaml, 15 s by default) the controller
reconciles each HPA: it reads the target's scale, asks ``sandbox.replicas`` what each metric wants,
takes the largest proposal, lets ``sandbox.scaling_rules`` stabilize and bound it (``spec.behavior``
is defaulted on write by ``sandbox.defaults`` as autoscaling/v2 does: scale up by max(4 pods, 100 %)
per 15 s, scale down 100 % per 15 s), then writes ``spec.replicas`` through the scale subresource (the
deployment controller makes the pods), records events, and writes ``status`` with the AbleToScale /
ScalingActive / ScalingLimited conditions and the reasons the real controller uses.

The sandbox has no background loop: the API runs ``sync`` before serving each request, so a sync
is due whenever a request arrives at least one period after the last; a long jump of the clock
counts as one late sync, as with a busy controller.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from sandbox import errors, patching, podstatus, replicas
from sandbox.errors import ScenarioError
from sandbox.host import ControllerHost
from sandbox.resources import ResourceType, by_kind, of_kind
from sandbox.scaling_rules import ScalingMemory, set_condition
from sandbox.selectors import selector_matches
from sandbox.store import clone
from sandbox.units import rfc3339
from sandbox.writes import Writer

HPA, POD, EVENT = of_kind("HorizontalPodAutoscaler"), of_kind("Pod"), of_kind("Event")
COMPONENT = "horizontal-pod-autoscaler"
_SETTINGS = {
    "sync_period_s": 15.0,
    "downscale_stabilization_s": 300.0,
    "tolerance": 0.1,
    "cpu_initialization_period_s": 300.0,
    "initial_readiness_delay_s": 30.0,
    "metrics_window_s": 15.0,
}


@dataclass(frozen=True)
class Settings:
    """``hpa:`` in scenario.yaml: the kube-controller-manager flags of the sandbox's HPA controller."""

    sync_period_s: float = 15.0
    """--horizontal-pod-autoscaler-sync-period."""
    downscale_stabilization_s: float = 300.0
    """--horizontal-pod-autoscaler-downscale-stabilization."""
    tuning: replicas.Tuning = field(default_factory=replicas.Tuning)

    @classmethod
    def from_scenario(cls, data: Any) -> Settings:
        problems = check(data)
        if problems:
            raise ScenarioError(problems)
        values = {**_SETTINGS, **(data or {})}
        tuning = replicas.Tuning(
            float(values["tolerance"]),
            float(values["cpu_initialization_period_s"]),
            float(values["initial_readiness_delay_s"]),
            float(values["metrics_window_s"]),
        )
        return cls(float(values["sync_period_s"]), float(values["downscale_stabilization_s"]), tuning)


def check(data: Any, where: str = "scenario.yaml: hpa") -> list[str]:
    """Problems with the ``hpa:`` mapping of scenario.yaml (empty when usable or absent)."""
    if data is None:
        return []
    if not isinstance(data, dict):
        return [f"{where}: must be a mapping of {sorted(_SETTINGS)}"]
    problems = [
        f"{where}: unknown key {k!r} (known: {sorted(_SETTINGS)})" for k in data if k not in _SETTINGS
    ]
    for key, value in data.items():
        if key in _SETTINGS and (isinstance(value, bool) or not isinstance(value, int | float) or value < 0):
            problems.append(f"{where}.{key}: must be a number >= 0, not {value!r}")
    if isinstance(data.get("sync_period_s"), int | float) and data["sync_period_s"] <= 0:
        problems.append(f"{where}.sync_period_s: must be more than 0")
    return problems


class _Stop(Exception):
    """This HPA's reconcile ends early; its status has been updated."""


class HorizontalController:
    """Reconciles every HPA once per sync period of sandbox time; callers hold ``store.lock``."""

    def __init__(self, controllers: ControllerHost) -> None:
        self.controllers = controllers
        self.store = controllers.store
        self.writer = Writer(self.store, controllers)
        self.last_sync: float | None = None
        self.memory = ScalingMemory()
        self._events: dict[tuple[str, str, str, str], tuple[str, str]] = {}
        self._by_namespace: dict[str, list[dict[str, Any]]] | None = None
        self._wanted: dict[str, list[dict[str, Any]]] = {}

    @property
    def settings(self) -> Settings:
        return Settings.from_scenario(self.controllers.scenario.get("hpa"))

    def sync(self) -> None:
        """Reconcile every HPA if a sync period has passed since the last sync."""
        settings = self.settings
        now = self.store.clock.time()
        if self.last_sync is not None and now - self.last_sync < settings.sync_period_s:
            return
        self.last_sync = now
        hpas = self.store.items(HPA)
        self._wanted = {}
        for hpa in hpas:  # the selectors of all targets, so that only the pods they select are copied
            target = self._peek_target(hpa)
            selector = ((target or {}).get("spec") or {}).get("selector")
            if selector:
                self._wanted.setdefault(hpa["metadata"]["namespace"], []).append(selector)
        self._by_namespace = None
        live = set()
        for hpa in hpas:
            key = f"{hpa['metadata']['namespace']}/{hpa['metadata']['name']}"
            live.add(key)
            self.reconcile(hpa, key, now, settings)
        self.memory.forget_all_but(live)

    # --- one HPA ------------------------------------------------------------------------------
    def reconcile(self, hpa: dict[str, Any], key: str, now: float, settings: Settings) -> None:
        """One pass of ``reconcileAutoscaler`` for ``hpa``."""
        original = clone(hpa.get("status") or {})
        status: dict[str, Any] = clone(original)
        status.setdefault("conditions", [])
        status.setdefault("desiredReplicas", 0)  # required, and never omitted by the API
        with contextlib.suppress(_Stop):  # the reconcile ended early, with its status set
            self._reconcile(hpa, key, now, settings, status)
        if status != original:
            self.writer.replace(
                HPA, hpa["metadata"]["namespace"], hpa["metadata"]["name"], {**hpa, "status": status},
                sub="status", dry_run=False,
            )  # fmt: skip

    def _target(
        self, hpa: dict[str, Any], status: dict[str, Any], now: float
    ) -> tuple[ResourceType, dict[str, Any]]:
        ref = hpa["spec"]["scaleTargetRef"]
        group = ref.get("apiVersion", "").rpartition("/")[0] if "/" in ref.get("apiVersion", "") else ""
        rtype = by_kind(ref.get("kind", ""))
        if rtype is None or rtype.group != group or "scale" not in rtype.subresources:
            problem = f'no matches for kind "{ref.get("kind")}" in group "{group}"'
        else:
            target = self.store.get(rtype, hpa["metadata"]["namespace"], ref["name"])
            if target is not None:
                return rtype, target
            problem = errors.not_found(f"{rtype.plural}/scale", rtype.group, ref["name"]).message
        self.event(hpa, "Warning", "FailedGetScale", problem)
        set_condition(
            status, "AbleToScale", False, "FailedGetScale",
            f"the HPA controller was unable to get the target's current scale: {problem}", now,
        )  # fmt: skip
        raise _Stop

    def _reconcile(
        self, hpa: dict[str, Any], key: str, now: float, settings: Settings, status: dict[str, Any]
    ) -> None:
        spec = hpa["spec"]
        rtype, target = self._target(hpa, status, now)
        set_condition(
            status, "AbleToScale", True, "SucceededGetScale",
            "the HPA controller was able to get the target's current scale", now,
        )  # fmt: skip
        current = int((target.get("spec") or {}).get("replicas", 1))
        self.memory.recommendations.setdefault(key, [(current, now)])
        minimum, maximum = int(spec.get("minReplicas", 1)), int(spec["maxReplicas"])
        rescale, desired, reason = True, 0, ""
        metric_statuses: list[dict[str, Any]] | None = None
        if current == 0 and minimum != 0:
            desired, rescale = 0, False
            set_condition(
                status, "ScalingActive", False, "ScalingDisabled",
                "scaling is disabled since the replica count of the target is zero", now,
            )  # fmt: skip
        elif current > maximum:
            desired, reason = maximum, "Current number of replicas above Spec.MaxReplicas"
        elif current < minimum:
            desired, reason = minimum, "Current number of replicas below Spec.MinReplicas"
        else:
            proposal, name, metric_statuses = self._metrics(hpa, target, current, status, now, settings)
            desired = proposal
            if desired > current:
                reason = f"{name} above target"
            elif desired < current:
                reason = "All metrics below target"
            bounds, window = (minimum, maximum), settings.downscale_stabilization_s
            if spec.get("behavior") is None:
                desired = self.memory.normalize(key, current, desired, bounds, window, status, now)
            else:
                desired = self.memory.normalize_with_behavior(
                    key, current, desired, bounds, spec["behavior"], window, status, now
                )
            rescale = desired != current
        if rescale:
            self._rescale(hpa, key, rtype, target, current, desired, reason, status, now)
            status["lastScaleTime"] = rfc3339(now)
        else:
            desired = current
        self._set_status(status, current, desired, metric_statuses)

    @staticmethod
    def _set_status(
        status: dict[str, Any], current: int, desired: int, metric_statuses: list[dict[str, Any]] | None
    ) -> None:
        status["desiredReplicas"] = desired
        if current:
            status["currentReplicas"] = current
        else:  # omitempty, as the API serialises it
            status.pop("currentReplicas", None)
        if metric_statuses:
            status["currentMetrics"] = metric_statuses
        else:
            status.pop("currentMetrics", None)

    def _rescale(
        self,
        hpa: dict[str, Any],
        key: str,
        rtype: ResourceType,
        target: dict[str, Any],
        current: int,
        desired: int,
        reason: str,
        status: dict[str, Any],
        now: float,
    ) -> None:
        body = json.dumps({"spec": {"replicas": desired}}).encode()
        meta = target["metadata"]
        try:
            self.writer.patch(
                rtype, meta["namespace"], meta["name"], patching.MERGE_PATCH, body, sub="scale", dry_run=False
            )
        except errors.ApiError as exc:
            self.event(
                hpa,
                "Warning",
                "FailedRescale",
                f"New size: {desired}; reason: {reason}; error: {exc.message}",
            )
            set_condition(
                status, "AbleToScale", False, "FailedUpdateScale",
                f"the HPA controller was unable to update the target scale: {exc.message}", now,
            )  # fmt: skip
            self._set_status(status, current, status.get("desiredReplicas", 0), status.get("currentMetrics"))
            raise _Stop from exc
        if self._by_namespace is not None:
            self._by_namespace.pop(meta["namespace"], None)
        set_condition(
            status, "AbleToScale", True, "SucceededRescale",
            f"the HPA controller was able to update the target scale to {desired}", now,
        )  # fmt: skip
        self.event(hpa, "Normal", "SuccessfulRescale", f"New size: {desired}; reason: {reason}")
        if hpa["spec"].get("behavior") is not None:
            self.memory.store_scale_event(hpa["spec"]["behavior"], key, current, desired, now)

    # --- metrics ------------------------------------------------------------------------------
    def _peek_target(self, hpa: dict[str, Any]) -> dict[str, Any] | None:
        ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        rtype = by_kind(ref.get("kind", ""))
        if rtype is None or "scale" not in rtype.subresources:
            return None
        return self.store.get(rtype, hpa["metadata"]["namespace"], ref.get("name", ""))

    def _selected(self, pod: dict[str, Any]) -> bool:
        labels = pod["metadata"].get("labels")
        return any(selector_matches(s, labels) for s in self._wanted.get(pod["metadata"]["namespace"], []))

    def _pods(self, namespace: str, selector: dict[str, Any]) -> list[dict[str, Any]]:
        """The namespace's pods that ``selector`` matches; pods are copied once per sync, not per HPA."""
        if self._by_namespace is None:
            self._by_namespace = {}
            for pod in self.store.items(POD, keep=self._selected):
                self._by_namespace.setdefault(pod["metadata"]["namespace"], []).append(pod)
        if namespace not in self._by_namespace:  # dropped after a rescale made or removed pods there
            self._wanted.setdefault(namespace, []).append(selector)
            self._by_namespace[namespace] = self.store.items(POD, namespace, keep=self._selected)
        found = [
            p
            for p in self._by_namespace[namespace]
            if selector_matches(selector, p["metadata"].get("labels"))
        ]
        return [podstatus.view(self.store, POD, p) for p in found]

    def _metrics(
        self,
        hpa: dict[str, Any],
        target: dict[str, Any],
        current: int,
        status: dict[str, Any],
        now: float,
        settings: Settings,
    ) -> tuple[int, str, list[dict[str, Any]]]:
        """``computeReplicasForMetrics``: the largest proposal over the HPA's metrics."""
        selector = (target.get("spec") or {}).get("selector") or {}
        if not (selector.get("matchLabels") or selector.get("matchExpressions")):
            self.event(hpa, "Warning", "SelectorRequired", "selector is required")
            set_condition(
                status,
                "ScalingActive",
                False,
                "InvalidSelector",
                "the HPA target's scale is missing a selector",
                now,
            )
            raise _Stop
        pods = self._pods(hpa["metadata"]["namespace"], selector)
        specs = hpa["spec"].get("metrics") or []
        statuses: list[dict[str, Any]] = []
        best, best_name = 0, ""
        failures: list[replicas.MetricFailure] = []
        for spec in specs:
            try:
                if spec.get("type") not in ("Resource", "ContainerResource"):
                    raise replicas.custom_failure(spec)
                proposal = replicas.resource_proposal(self.store, spec, current, pods, now, settings.tuning)
            except replicas.MetricFailure as failure:
                self.event(hpa, "Warning", failure.reason, failure.message)
                failures.append(failure)
                statuses.append({"type": ""})
                continue
            statuses.append(proposal.status)
            if best == 0 or proposal.replicas > best:
                best, best_name = proposal.replicas, proposal.name
        if failures and (len(failures) >= len(specs) or best < current):
            first = failures[0]
            set_condition(
                status, "ScalingActive", False, first.reason,
                f"the HPA was unable to compute the replica count: {first.message}", now,
            )  # fmt: skip
            self._set_status(status, current, status.get("desiredReplicas", 0), statuses)
            invalid = f"invalid metrics ({len(failures)} invalid out of {len(specs)})"
            self.event(
                hpa, "Warning", "FailedComputeMetricsReplicas", f"{invalid}, first error is: {first.wrapped}"
            )
            raise _Stop
        set_condition(
            status, "ScalingActive", True, "ValidMetricFound",
            f"the HPA was able to successfully calculate a replica count from {best_name}", now,
        )  # fmt: skip
        return best, best_name, statuses

    # --- events -------------------------------------------------------------------------------
    def event(self, hpa: dict[str, Any], kind: str, reason: str, message: str) -> None:
        """Record an event on the HPA; a repeat bumps the count of the first, as the event recorder does."""
        meta = hpa["metadata"]
        key = (meta["uid"], kind, reason, message)
        now = rfc3339(self.store.clock.time())
        seen = self._events.get(key)
        existing = self.store.get(EVENT, *seen) if seen is not None else None
        if existing is not None:
            existing["count"] = int(existing.get("count", 1)) + 1
            existing["lastTimestamp"] = now
            self.store.update(EVENT, existing)
            return
        name = f"{meta['name']}.{self.controllers.rng.getrandbits(64):016x}"
        self.controllers.emit({
            "metadata": {"name": name, "namespace": meta["namespace"]},
            "involvedObject": {"apiVersion": hpa["apiVersion"], "kind": hpa["kind"], "name": meta["name"],
                               "namespace": meta["namespace"], "uid": meta["uid"],
                               "resourceVersion": meta.get("resourceVersion", "")},
            "reason": reason, "message": message, "type": kind, "count": 1,
            "source": {"component": COMPONENT}, "reportingComponent": COMPONENT, "reportingInstance": "",
        })  # fmt: skip
        self._events[key] = (meta["namespace"], name)
