"""Investigate one alert for one rule: evidence, diagnosis, a planned action, a parked proposal.

The alert's pod is first resolved to its workload, whose incident (``workers.spine.incidents``) the
investigation opens or joins: the first alert about a workload investigates and proposes; an alert about
a sibling pod adds that pod's state to the incident's record and proposes nothing.

Idempotent: the proposal id is derived from (rule, fingerprint, startsAt), so a job that runs again
after a crash finds the proposal it made and stops; it never parks a second one.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from rules.errors import RuleError
from rules.matcher import effective_risk
from rules.render import render_rule
from workers.clock import iso
from workers.domain import Proposal, Target
from workers.errors import AiopsError, NotFound, PermanentError
from workers.integrations.advisers.registry import disabled_reason
from workers.integrations.kubernetes.evidence import container_summaries
from workers.integrations.kubernetes.workloads import pod_state, replica_state, workload_of, workload_pods
from workers.redaction import redact_value
from workers.spine import advice, counters, incidents, queues
from workers.spine.context import Context, current
from workers.spine.evidence import gather, query_entry, summary
from workers.spine.incidents import Claim, ClaimResult
from workers.spine.parking import Parked, park

log = logging.getLogger(__name__)


def _alert_brief(alert: dict[str, Any]) -> dict[str, Any]:
    return {
        key: alert.get(key)
        for key in ("fingerprint", "status", "startsAt", "labels", "annotations", "source")
    }


def _workload(
    target: dict[str, str], evidence: dict[str, Any], plan: dict[str, Any] | None
) -> dict[str, str] | None:
    deployment = None
    if plan and plan.get("kind") == "Deployment":
        deployment = plan["name"]
    elif evidence.get("owner"):
        deployment = evidence["owner"].get("deployment")
    if not deployment:
        return None
    return {"namespace": target["namespace"], "deployment": deployment}


class Investigation:
    """One alert, one rule: every stage appends to the same audit record (the incident's, for a sibling)."""

    def __init__(self, context: Context, alert: dict[str, Any], rule_name: str) -> None:
        self.context = context
        self.alert = alert
        self.rule_name = rule_name
        self.inv = investigation_id(rule_name, alert)
        self.pid, self.rid = f"p-{self.inv}", f"r-{self.inv}"
        self.rule: Any = context.rules.current.get(rule_name)
        self.pod: dict[str, Any] | None = None
        self.workload: Target | None = None
        """The workload the alert's pod belongs to, once resolved (``_claim``)."""
        self.claim: ClaimResult | None = None
        self.replicas: dict[str, Any] = {}

    def record(self, kind: str, data: dict[str, Any]) -> None:
        self.context.records.append(self.rid, kind, data)

    def _open(self) -> None:
        self.context.records.open(
            self.rid,
            {
                "rule": self.rule_name,
                "alertname": self.alert["labels"].get("alertname"),
                "fingerprint": self.alert["fingerprint"],
                "created_at": iso(self.context.clock()),
            },
        )

    def run(self) -> str | None:
        """Returns the proposal id (the incident's, for a sibling), or None when nothing was proposed."""
        try:
            existing = self.context.proposals.get(self.pid)
        except NotFound:
            existing = None
        if existing is not None:
            self._open()
            detail = "investigation ran again; its proposal already exists"
            self.record("replayed", {"detail": detail, "proposal_id": self.pid, "status": existing.status})
            return self.pid
        if self.rule is None:
            self._open()
            self.record("alert_received", {"alert": _alert_brief(self.alert)})
            self.record("skipped", {"reason": f"rule {self.rule_name} is no longer loaded"})
            return None
        try:
            rendered = render_rule(self.rule, self.alert)
        except RuleError:
            self._open()
            self.record("alert_received", {"alert": _alert_brief(self.alert)})
            raise
        target = dict(rendered.target)
        permitted = self.context.settings.namespaces.permits(target["namespace"])
        self.claim = self._claim(target) if permitted else None
        if self.claim is not None and self.claim.claim == Claim.joined:
            return self._join(self.claim, target)
        self._open()
        self.record("alert_received", {"alert": _alert_brief(self.alert)})
        if not self._may_go_on(target, permitted):
            return None
        evidence = self._gather(target, rendered)
        if evidence is None:
            return None
        parked = self._park(target, rendered, evidence)
        if parked.created:
            self._after_parking(parked.proposal, evidence)
        return self.pid

    def _claim(self, target: dict[str, str]) -> ClaimResult | None:
        """Resolve the alert's pod to its workload, then open or join the workload's incident.

        None when the pod is gone: the evidence then says so in this investigation's own record.
        """
        context = self.context
        if target["kind"] == "Pod":
            try:
                self.pod = context.kube.get_pod(target["namespace"], target["name"])
            except NotFound:
                return None
            self.workload = workload_of(context.kube, target["namespace"], self.pod)
        else:
            self.workload = Target.of(target)
        return incidents.for_context(context).claim(
            self.rule.playbook,
            self.workload,
            self.rid,
            self.inv,
            self.alert["fingerprint"],
            self.rule.name,
            int(getattr(self.rule, "cooldown_s", 0) or 0),
        )

    def _replicas(self) -> dict[str, Any]:
        """How the workload's pods are doing ("2 of 3 replicas failing"); a failed read is noted."""
        if self.workload is None:
            return {}
        try:
            obj, pods = workload_pods(self.context.kube, self.workload)
        except AiopsError as exc:
            return {"error": f"kubernetes: {exc}"}
        return replica_state(self.workload, obj, pods)

    def _join(self, claim: ClaimResult, target: dict[str, str]) -> str | None:
        """A sibling pod's alert: its state goes into the incident's record; no second proposal."""
        context, workload = self.context, self.workload
        assert workload is not None  # set by _claim
        try:
            main: Proposal | None = context.proposals.get(claim.proposal_id)
        except NotFound:
            main = None
        where = f"{workload.kind} {workload.namespace}/{workload.name}"
        subject = f"{target['kind']} {target['namespace']}/{target['name']}"
        detail = f"{subject} belongs to {where}, whose incident is open"
        if main is None:
            detail += "; it has no proposal (yet): none is added"
        else:
            detail += f": no second proposal, {main.id} ({main.action.get('type')}) is {main.status}"
        containers = [
            {key: c.get(key) for key in ("name", "ready", "restartCount", "waiting", "lastTerminated")}
            for c in container_summaries(self.pod or {})
        ]
        data = {
            "alert": _alert_brief(self.alert),
            "rule": self.rule_name,
            "investigation": self.inv,
            "pod": pod_state(self.pod) if self.pod else {"name": target["name"]},
            "containers": containers,
            "workload": workload.model_dump(),
            "replicas": self._replicas(),
            "proposal_id": main.id if main else None,
            "proposal_status": str(main.status) if main else None,
            "detail": detail,
        }
        if context.records.append_once(claim.record_id, "sibling_alert", data, token=self.inv) is not None:
            counters.increment(context.redis, "investigations_skipped_total", reason="joined_incident")
        return main.id if main else None

    def _may_go_on(self, target: dict[str, str], permitted: bool) -> bool:
        context, rule, workload = self.context, self.rule, self.workload
        shown = workload.model_dump() if workload else None
        context.records.set_meta(self.rid, target=target, workload=shown)
        self.record(
            "rule_matched",
            {
                "rule": rule.name,
                "playbook": rule.playbook,
                "target": target,
                "workload": shown,
                "rules_version": context.rules.current.version,
            },
        )
        if not permitted:
            self.record("skipped", {"reason": f"namespace {target['namespace']} is denied by settings"})
            return False
        if self.claim is None or workload is None:
            return True  # the pod is gone: the evidence records it
        where = f"{workload.kind} {workload.namespace}/{workload.name}"
        if self.claim.claim == Claim.cooling_down:
            reason = f"rule {rule.name} is cooling down for {where}"
            self.record(
                "skipped", {"reason": reason, "holder": f"p-{self.claim.cooldown_holder}", "workload": shown}
            )
            counters.increment(context.redis, "investigations_skipped_total", reason="cooldown")
            return False
        self.replicas = self._replicas()
        self.record(
            "incident_opened",
            {
                "workload": shown,
                "replicas": self.replicas,
                "detail": f"the incident of {where}: alerts about its other pods join this record",
            },
        )
        return True

    def failed(self, exc: Exception) -> None:
        """A permanent failure: recorded; an incident this investigation opened ends with it."""
        self.record("investigation_failed", {"error": str(exc), "retry": False})
        if self.claim is not None and self.claim.claim == Claim.opened and self.workload is not None:
            incidents.close(
                self.context, self.rule.playbook, self.workload, self.rid, "the investigation failed"
            )

    def _gather(self, target: dict[str, str], rendered: Any) -> dict[str, Any] | None:
        context, kinds = self.context, list(self.rule.evidence.kubernetes)
        evidence = gather(
            context.kube, context.prometheus, target, kinds, dict(rendered.queries), context.settings.limits
        )
        for name in evidence["queries"]:
            self.record("evidence_query", query_entry(evidence, name))
        self.record("evidence", summary(evidence))
        if target["kind"] == "Pod" and evidence.get("pod") is None and "pod" in kinds:
            self.record("target_gone", {"detail": f"pod {target['namespace']}/{target['name']} not found"})
            return None
        return evidence

    def _park(self, target: dict[str, str], rendered: Any, evidence: dict[str, Any]) -> Parked:
        context, rule = self.context, self.rule
        playbook = context.workflows.workflow(rule.playbook)
        diagnosis = playbook.diagnose(evidence)
        self.record("diagnosis", diagnosis.to_dict())
        proposed = playbook.propose(diagnosis, evidence, list(rule.remediation.actions))
        expires_s = int(
            getattr(rule.remediation, "expires_after_s", 0)
            or context.settings.proposals.default_expires_after_s
        )
        checks = [dict(check) for check in rendered.checks] or [
            {"kubernetes": "target_ready"},
            {"kubernetes": "restarts_stable"},
        ]
        workload = self.workload or Target.of(target)
        return park(
            context,
            proposal_id=self.pid,
            record_id=self.rid,
            rule=rule.name,
            playbook=rule.playbook,
            subject=dict(target),
            workload=workload,
            diagnosis={
                **diagnosis.to_dict(),
                "subject": dict(target),
                "workload": {**workload.model_dump(), "replicas": self.replicas.get("summary")},
            },
            draft=proposed,
            evidence=evidence,
            # The workload to validate is the one the plan changes, known once it is planned.
            validation_plan=lambda action: {
                "after_s": int(rule.validate_.after_s),
                "for_s": int(rule.validate_.for_s),
                "checks": checks,
                "workload": _workload(target, evidence, action.get("plan")),
                "described": getattr(proposed, "validation_plan", ""),
            },
            alert=_alert_brief(self.alert),
            risk_floor=effective_risk(rule),
            auto_approve=rule.remediation.approval == "auto",
            expires_after_s=expires_s,
        )

    def _after_parking(self, proposal: Proposal, evidence: dict[str, Any]) -> None:
        """What only an alert's investigation adds to a parked proposal: the AI advisers' opinions."""
        context = self.context
        wanted = list(self.rule.evidence.ai)
        not_consulted = {name: disabled_reason(name, context.settings.advisers) for name in wanted}
        if any(not reason for reason in not_consulted.values()):
            queues.queue(queues.ADVICE, context.redis).enqueue_call(
                advice.advise_job,
                args=(self.pid, wanted, redact_value(evidence)),
                job_id=f"advise-{self.inv}",
                # The job outlives the adviser budget, so RQ never kills it (and its CLIs) mid-consultation.
                **queues.rq_options(
                    {**queues.ADVISE_OPTIONS, "job_timeout": int(context.settings.advisers.budget_s) + 120}
                ),
            )
        elif wanted:
            # No adviser of the rule's list is set up: say so once, instead of a job that only says it again.
            self.record("advice_skipped", {"advisers": not_consulted})


def investigation_id(rule: str, alert: dict[str, Any]) -> str:
    """Deterministic: a replayed job (or a repeat of the same alert) is the same investigation."""
    identity = "\x00".join([rule, alert["fingerprint"], alert.get("startsAt") or ""])
    return hashlib.sha256(identity.encode()).hexdigest()[:20]


def investigate(context: Context, alert: dict[str, Any], rule_name: str) -> str | None:
    """Run the investigation; returns the proposal id, or None when nothing was proposed."""
    return Investigation(context, alert, rule_name).run()


def investigate_job(alert: dict[str, Any], rule_name: str) -> str | None:
    """The RQ job. A rule that cannot render this alert is a permanent failure: recorded, not retried."""
    investigation = Investigation(current(), alert, rule_name)
    try:
        return investigation.run()
    except (PermanentError, RuleError) as exc:
        investigation.failed(exc)
        log.warning("investigation %s failed permanently: %s", investigation.inv, exc)
        return None
