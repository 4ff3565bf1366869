"""Investigate one alert for one rule: evidence, diagnosis, a planned action, a parked proposal.

Idempotent: the proposal id is derived from (rule, fingerprint, startsAt), so a job that runs again
after a crash finds the proposal it made and stops; it never parks a second one.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from rules import allowlist
from rules.allowlist import NO_ACTION, Risk
from rules.errors import RuleError
from rules.matcher import effective_risk
from rules.render import render_rule
from workers.clock import iso
from workers.domain import Proposal
from workers.errors import ActionRefused, NotFound, PermanentError
from workers.integrations.advisers.registry import disabled_reason
from workers.integrations.notify.sinks import notify
from workers.integrations.redis.connection import as_text
from workers.redaction import redact_value
from workers.spine import advice, counters, lifecycle, queues
from workers.spine.context import Context, current
from workers.spine.evidence import gather, query_entry, summary

COOLDOWN_PREFIX = "aiops:cooldown:"
log = logging.getLogger(__name__)


def _alert_brief(alert: dict[str, Any]) -> dict[str, Any]:
    return {
        key: alert.get(key)
        for key in ("fingerprint", "status", "startsAt", "labels", "annotations", "source")
    }


def _claim_cooldown(context: Context, rule: Any, target: dict[str, str], investigation: str) -> str | None:
    """None when this investigation may go on; else the id of the one holding the cooldown."""
    seconds = int(getattr(rule, "cooldown_s", 0) or 0)
    if seconds <= 0:
        return None
    key = f"{COOLDOWN_PREFIX}{rule.name}:{target['kind']}/{target['namespace']}/{target['name']}"
    if context.redis.set(key, investigation, nx=True, ex=seconds):
        return None
    holder = context.redis.get(key)
    holder_id = as_text(holder) if holder else ""
    return None if holder_id == investigation else holder_id


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
    """One alert, one rule: every stage appends to the same audit record."""

    def __init__(self, context: Context, alert: dict[str, Any], rule_name: str) -> None:
        self.context = context
        self.alert = alert
        self.rule_name = rule_name
        self.inv = investigation_id(rule_name, alert)
        self.pid, self.rid = f"p-{self.inv}", f"r-{self.inv}"
        self.rule: Any = context.rules.current.get(rule_name)

    def record(self, kind: str, data: dict[str, Any]) -> None:
        self.context.records.append(self.rid, kind, data)

    def run(self) -> str | None:
        """Returns the proposal id, or None when nothing was proposed."""
        self.context.records.open(
            self.rid,
            {
                "rule": self.rule_name,
                "alertname": self.alert["labels"].get("alertname"),
                "fingerprint": self.alert["fingerprint"],
                "created_at": iso(self.context.clock()),
            },
        )
        try:
            existing = self.context.proposals.get(self.pid)
        except NotFound:
            existing = None
        if existing is not None:
            detail = "investigation ran again; its proposal already exists"
            self.record("replayed", {"detail": detail, "proposal_id": self.pid, "status": existing.status})
            return self.pid
        self.record("alert_received", {"alert": _alert_brief(self.alert)})
        if self.rule is None:
            self.record("skipped", {"reason": f"rule {self.rule_name} is no longer loaded"})
            return None
        rendered = render_rule(self.rule, self.alert)
        target = dict(rendered.target)
        if not self._may_go_on(target):
            return None
        evidence = self._gather(target, rendered)
        if evidence is None:
            return None
        proposal = self._propose(target, rendered, evidence)
        proposal, created = self.context.proposals.create(proposal)
        if created:
            self._after_parking(proposal, evidence)
        return self.pid

    def _may_go_on(self, target: dict[str, str]) -> bool:
        context, rule = self.context, self.rule
        context.records.set_meta(self.rid, target=target)
        self.record(
            "rule_matched",
            {
                "rule": rule.name,
                "playbook": rule.playbook,
                "target": target,
                "rules_version": context.rules.current.version,
            },
        )
        if not context.settings.namespaces.permits(target["namespace"]):
            self.record("skipped", {"reason": f"namespace {target['namespace']} is denied by settings"})
            return False
        holder = _claim_cooldown(context, rule, target, self.inv)
        if holder is not None:
            reason = f"rule {rule.name} is cooling down for this target"
            self.record("skipped", {"reason": reason, "holder": f"p-{holder}"})
            counters.increment(context.redis, "investigations_skipped_total", reason="cooldown")
            return False
        return True

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

    def _propose(self, target: dict[str, str], rendered: Any, evidence: dict[str, Any]) -> Proposal:
        context, rule = self.context, self.rule
        playbook = context.workflows.workflow(rule.playbook)
        diagnosis = playbook.diagnose(evidence)
        self.record("diagnosis", diagnosis.to_dict())
        proposed = playbook.propose(diagnosis, evidence, list(rule.remediation.actions))
        action = _plan_action(context, target, proposed, evidence, self.rid)
        inherent = allowlist.ACTIONS.get(action["type"], Risk.low)
        risk = max(effective_risk(rule), inherent, key=lambda r: r.rank)
        auto = rule.remediation.approval == "auto" and risk == Risk.low and action["type"] != NO_ACTION
        expires_s = int(
            getattr(rule.remediation, "expires_after_s", 0)
            or context.settings.proposals.default_expires_after_s
        )
        checks = [dict(check) for check in rendered.checks] or [
            {"kubernetes": "target_ready"},
            {"kubernetes": "restarts_stable"},
        ]
        return lifecycle.new_proposal(
            context,
            expires_s,
            id=self.pid,
            rule=rule.name,
            playbook=rule.playbook,
            alert=_alert_brief(self.alert),
            target=target,
            diagnosis=diagnosis.to_dict(),
            action=action,
            risk=risk.value,
            approval="auto" if auto else "required",
            expected_outcome=getattr(proposed, "expected_outcome", ""),
            validation_plan={
                "after_s": int(rule.validate_.after_s),
                "for_s": int(rule.validate_.for_s),
                "checks": checks,
                "workload": _workload(target, evidence, action.get("plan")),
                "described": getattr(proposed, "validation_plan", ""),
            },
            record_id=self.rid,
        )

    def _after_parking(self, proposal: Proposal, evidence: dict[str, Any]) -> None:
        context = self.context
        counters.increment(context.redis, "proposals_created_total", action=proposal.action["type"])
        context.records.set_meta(self.rid, proposal_id=self.pid)
        self.record(
            "proposal",
            {
                "proposal_id": self.pid,
                "action": proposal.action,
                "risk": proposal.risk,
                "approval": proposal.approval,
                "expires_at": proposal.expires_at,
                "expected_outcome": proposal.expected_outcome,
            },
        )
        lifecycle.supersede_older(context, proposal)
        sinks = notify(context.settings.notify, proposal, "proposal pending")
        self.record("notification", {"event": "proposal_pending", "sinks": sinks})
        if proposal.approval == "auto":
            # Rules may auto-approve low-risk actions; the approval is recorded as such.
            lifecycle.approve(
                context,
                proposal.id,
                f"auto:{proposal.rule}",
                "auto-approved: rule allows low risk",
                auto=True,
            )
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
    context = current()
    try:
        return investigate(context, alert, rule_name)
    except (PermanentError, RuleError) as exc:
        inv = investigation_id(rule_name, alert)
        context.records.append(f"r-{inv}", "investigation_failed", {"error": str(exc), "retry": False})
        log.warning("investigation %s failed permanently: %s", inv, exc)
        return None


def _plan_action(
    context: Context, target: dict[str, str], proposed: Any, evidence: dict[str, Any], rid: str
) -> dict[str, Any]:
    action: dict[str, Any] = {
        "type": proposed.type,
        "params": dict(proposed.params or {}),
        "plan": None,
        "runbook": getattr(proposed, "runbook", None),
        "reasoning": getattr(proposed, "reasoning", ""),
    }
    if proposed.type == NO_ACTION:
        return action
    try:
        implementation = context.workflows.actions[proposed.type]
        plan = implementation.plan(context.kube, target, action["params"], evidence)
    except (ActionRefused, NotFound, KeyError) as exc:
        context.records.append(rid, "action_not_possible", {"action": proposed.type, "reason": str(exc)})
        action.update({"type": NO_ACTION, "not_possible": {"action": proposed.type, "reason": str(exc)}})
        return action
    action["plan"] = plan.to_dict()
    return action
