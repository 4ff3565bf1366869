"""PHR compliance: is every change the responder made to a cluster documented in its audit record?

The specification asks for "100 % of medium/critical operations documented with approval". For every
proposal a record shows as executed this checks, from the record's own entries (the operations log is
the evidence, not the proposal store):

- the proposal itself (``proposal``, or the revert / alternative entry that parked it);
- an approval: ``decision: approved`` by a person, or a rule's automatic approval recorded as such
  (``auto: true``, by ``auto:<rule>``, of a low-risk action only), strictly before the change: earlier in
  the append-only log than the first execution entry, and not dated after the change was applied;
- once the change reached the cluster: the server-side ``dry_run``, the ``snapshot`` (what a revert
  restores) and ``applied``, in that order, then a ``validation_result`` (``validated`` or ``regressed``).
  A validation still inside its watch window is ``in_progress``, not missing.

An action with anything missing or out of order is ``incomplete``, with the list. Entries name their
proposal (``proposal_id``); a record written before they did is read as being about its one proposal.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from workers.domain import Finding, Proposal, ProposalStatus, Section, Severity
from workers.errors import NotFound
from workers.spine.proposals import ProposalStore
from workers.spine.records import RecordStore

EXECUTION_KINDS = frozenset(
    {
        "execution_started",
        "preconditions_passed",
        "dry_run",
        "snapshot",
        "applied",
        "execution_finished",
        "execution_failed",
        "execution_unknown",
        "validation_check",
        "validation_result",
    }
)
"""Entries that show a proposal was executed."""
REACHED_CLUSTER = frozenset({"snapshot", "applied", "validation_check", "validation_result"})
PARKED_KINDS = ("proposal", "revert_proposed", "alternative_proposed")
RISKS = ("low", "medium", "high", "unknown")
NEEDS_FULL_DOCUMENTATION = frozenset({"medium", "high", "unknown"})
WHAT = {
    "proposal": "the proposal (what was proposed)",
    "approval": "an approval",
    "dry_run": "a server-side dry run",
    "snapshot": "a snapshot",
    "applied": "the applied change",
    "validation_result": "a validation result",
}


class ActionStatus(StrEnum):
    documented = "documented"
    incomplete = "incomplete"
    in_progress = "in_progress"
    """Applied and documented so far; its validation is still inside the watch window."""


class ActionAudit(BaseModel):
    """One executed proposal and how completely its record documents it."""

    record_id: str
    proposal_id: str
    action: str | None = None
    risk: str = "unknown"
    target: dict[str, Any] = Field(default_factory=dict)
    status: ActionStatus
    approval: str | None = None
    """``person`` or ``automatic``; None when no valid approval is on record."""
    approved_by: str | None = None
    approved_at: str | None = None
    applied_at: str | None = None
    reached_cluster: bool = True
    outcome: str | None = None
    missing: list[str] = Field(default_factory=list)
    """What the record lacks, in words."""
    problems: list[str] = Field(default_factory=list)
    """What the record has in the wrong order or of the wrong kind."""


class RiskTally(BaseModel):
    executed: int = 0
    documented: int = 0
    incomplete: int = 0
    in_progress: int = 0

    @property
    def percent(self) -> float | None:
        decided = self.documented + self.incomplete
        return round(100.0 * self.documented / decided, 1) if decided else None


class ComplianceResult(BaseModel):
    since: str
    until: str
    records_checked: int
    actions_executed: int
    by_risk: dict[str, dict[str, Any]]
    medium_high_documented_percent: float | None
    """Share of medium- and high-risk executions fully documented (None: none executed)."""
    compliant: bool
    incomplete: list[ActionAudit]
    in_progress: list[ActionAudit]
    documented: list[ActionAudit]


def _at(entry: dict[str, Any]) -> datetime | None:
    """The entry's time (aware, UTC when it names no offset); None when it has none."""
    try:
        moment = datetime.fromisoformat(str(entry.get("at")).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _groups(record: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The record's entries by the proposal they are about, in log order."""
    fallback = record.get("proposal_id")
    groups: dict[str, list[dict[str, Any]]] = {}
    for entry in record.get("entries", []):
        data = entry.get("data") or {}
        pid = data.get("proposal_id") or fallback
        if pid:
            groups.setdefault(str(pid), []).append(entry)
    return groups


def _first(entries: list[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    return next((entry for entry in entries if entry["kind"] == kind), None)


class _Audit:
    """Check one proposal's entries; ``stored``: the proposal from the store, when it is still there."""

    def __init__(
        self, record_id: str, pid: str, entries: list[dict[str, Any]], stored: Proposal | None
    ) -> None:
        self.record_id, self.pid, self.entries, self.stored = record_id, pid, entries, stored
        self.missing: list[str] = []
        self.problems: list[str] = []
        parked = next((e for e in entries if e["kind"] in PARKED_KINDS), None)
        self.parked = (parked or {}).get("data") or {}
        self.risk = str(self.parked.get("risk") or (stored.risk if stored else "unknown"))
        if parked is not None and parked["kind"] == "revert_proposed" and not self.parked.get("risk"):
            self.risk = stored.risk if stored else "medium"  # reverts are parked medium
        if self.risk not in RISKS:
            self.risk = "unknown"
        action = self.parked.get("action") or {}
        self.action = action.get("type") if isinstance(action, dict) else None
        if self.action is None and stored is not None:
            self.action = stored.action.get("type")
        if self.action is None and parked is not None and parked["kind"] == "revert_proposed":
            self.action = "revert"
        self.parked_entry = parked

    def run(self) -> ActionAudit:
        entries = self.entries
        first_exec = next(e for e in entries if e["kind"] in EXECUTION_KINDS)
        reached = any(e["kind"] in REACHED_CLUSTER for e in entries) or self._finished_ok()
        if self.parked_entry is None:
            self.missing.append(WHAT["proposal"])
        elif self.parked_entry["seq"] > first_exec["seq"]:
            self.problems.append("the proposal is recorded after its execution began")
        applied = _first(entries, "applied")
        approval = self._approval(first_exec, applied)
        if reached:
            self._steps(applied)
        self._dates()
        status = ActionStatus.documented
        if self.missing or self.problems:
            status = ActionStatus.incomplete
        elif reached and _first(entries, "validation_result") is None:
            status = ActionStatus.in_progress
        return ActionAudit(
            record_id=self.record_id,
            proposal_id=self.pid,
            action=self.action,
            risk=self.risk,
            target=dict(self.parked.get("target") or (self.stored.target if self.stored else {})),
            status=status,
            approval=approval[0] if approval else None,
            approved_by=approval[1] if approval else None,
            approved_at=approval[2] if approval else None,
            applied_at=str(applied["at"]) if applied else None,
            reached_cluster=reached,
            outcome=self._outcome(),
            missing=self.missing,
            problems=self.problems,
        )

    def _finished_ok(self) -> bool:
        finished = _first(self.entries, "execution_finished")
        noop = self.action == "none" or (self.stored is not None and not self.stored.action.get("plan"))
        return bool(finished and (finished.get("data") or {}).get("status") == "succeeded" and not noop)

    def _outcome(self) -> str | None:
        for kind in ("validation_result", "execution_finished", "execution_unknown"):
            entry = _first(self.entries, kind)
            if entry is not None:
                return str((entry.get("data") or {}).get("status") or kind)
        return None

    def _approval(
        self, first_exec: dict[str, Any], applied: dict[str, Any] | None
    ) -> tuple[str, str, str] | None:
        approvals = [e for e in self.entries if e["kind"] == "approval"]
        approved = [e for e in approvals if (e.get("data") or {}).get("decision") == "approved"]
        if not approved:
            refused = [str((e.get("data") or {}).get("decision")) for e in approvals]
            self.missing.append(
                WHAT["approval"] + (f" (the record shows only: {', '.join(refused)})" if refused else "")
            )
            return None
        entry = approved[0]
        data = entry.get("data") or {}
        who = str(data.get("by") or "")
        if entry["seq"] > first_exec["seq"]:
            self.problems.append(
                f"the approval (entry {entry['seq']}) comes after the execution began "
                f"(entry {first_exec['seq']}, {first_exec['kind']})"
            )
        when, applied_when = _at(entry), _at(applied) if applied else None
        if applied is not None and when and applied_when and when > applied_when:
            self.problems.append(
                f"the approval is dated {entry['at']}, after the change was applied at {applied['at']}"
            )
        if not who:
            self.problems.append("the approval names nobody (decided_by is empty)")
            return None
        automatic = bool(data.get("auto")) or who.startswith("auto:")
        if automatic:
            if not (data.get("auto") and who.startswith("auto:")):
                self.problems.append(
                    f"approval by {who} looks automatic but no rule's auto-approval is recorded"
                )
                return None
            if self.risk != "low":
                self.problems.append(
                    f"automatic approval of a {self.risk}-risk action (only low risk may be)"
                )
                return None
            if self.parked.get("approval") not in (None, "auto"):
                self.problems.append("automatic approval of a proposal parked as requiring a person")
                return None
        return ("automatic" if automatic else "person", who, str(data.get("at") or entry["at"]))

    def _steps(self, applied: dict[str, Any] | None) -> None:
        for kind in ("dry_run", "snapshot", "applied"):
            if _first(self.entries, kind) is None:
                self.missing.append(WHAT[kind])
        if applied is not None:
            for kind in ("dry_run", "snapshot"):
                step = _first(self.entries, kind)
                if step is not None and step["seq"] > applied["seq"]:
                    self.problems.append(
                        f"the {kind.replace('_', ' ')} is recorded after the change was applied"
                    )
        result = _first(self.entries, "validation_result")
        if result is not None:
            if applied is not None and result["seq"] < applied["seq"]:
                self.problems.append("the validation result is recorded before the change was applied")
            return
        if self._validating():
            return
        why = ""
        if _first(self.entries, "execution_unknown") is not None or self._outcome() == "unknown":
            why = " (the outcome is unknown: a person must check the cluster)"
        elif self.stored is not None and not (self.stored.validation_plan or {}).get("checks"):
            why = " (the validation plan has no checks)"
        self.missing.append(WHAT["validation_result"] + why)

    def _validating(self) -> bool:
        """Still inside its watch window: succeeded, with checks to run."""
        stored = self.stored
        return bool(
            stored is not None
            and stored.status == ProposalStatus.succeeded
            and (stored.validation_plan or {}).get("checks")
        )

    def _dates(self) -> None:
        previous: tuple[int, datetime] | None = None
        for entry in self.entries:
            when = _at(entry)
            if when is None:
                self.problems.append(f"entry {entry['seq']} ({entry['kind']}) has no valid time")
                continue
            if previous is not None and when < previous[1]:
                self.problems.append(
                    f"entry {entry['seq']} ({entry['kind']}) is dated before entry {previous[0]}: "
                    "the log is out of order"
                )
            previous = (entry["seq"], when)


def audit_record(record: dict[str, Any], proposals: ProposalStore | None = None) -> list[ActionAudit]:
    """The executed proposals of one record (``RecordStore.get``'s shape) and how documented each is."""
    audits = []
    for pid, entries in _groups(record).items():
        if not any(entry["kind"] in EXECUTION_KINDS for entry in entries):
            continue
        stored = None
        if proposals is not None:
            try:
                stored = proposals.get(pid)
            except NotFound:
                stored = None
        audit = _Audit(str(record["id"]), pid, entries, stored)
        if audit.action == "none" and not any(e["kind"] in REACHED_CLUSTER for e in entries):
            continue  # "no safe action": approved, nothing ran against the cluster
        audits.append(audit.run())
    return audits


def summarize(
    audits: Iterable[ActionAudit], records_checked: int, since: datetime, until: datetime
) -> ComplianceResult:
    items = list(audits)
    tallies = {risk: RiskTally() for risk in RISKS}
    for item in items:
        tally = tallies[item.risk]
        tally.executed += 1
        setattr(tally, item.status.value, getattr(tally, item.status.value) + 1)
    serious = [tallies[risk] for risk in RISKS if risk in NEEDS_FULL_DOCUMENTATION]
    documented = sum(t.documented for t in serious)
    decided = documented + sum(t.incomplete for t in serious)
    return ComplianceResult(
        since=since.isoformat(),
        until=until.isoformat(),
        records_checked=records_checked,
        actions_executed=len(items),
        by_risk={
            risk: {**tally.model_dump(), "documented_percent": tally.percent}
            for risk, tally in tallies.items()
            if tally.executed or risk != "unknown"
        },
        medium_high_documented_percent=round(100.0 * documented / decided, 1) if decided else None,
        compliant=not any(item.status == ActionStatus.incomplete for item in items),
        incomplete=[item for item in items if item.status == ActionStatus.incomplete],
        in_progress=[item for item in items if item.status == ActionStatus.in_progress],
        documented=[item for item in items if item.status == ActionStatus.documented],
    )


def check(
    records: RecordStore, proposals: ProposalStore | None, since: datetime, until: datetime
) -> ComplianceResult:
    """Every record with an entry since ``since`` (within retention), checked."""
    checked, audits = 0, []
    for summary in records.list(limit=1_000_000):
        updated = _at({"at": summary.get("updated_at")})
        if updated is not None and updated < since:
            continue  # nothing happened in it during the period
        try:
            record = records.get(summary["id"])
        except NotFound:
            continue
        checked += 1
        entries = record.get("entries") or []
        for audit in audit_record(record, proposals):
            stamp = _at({"at": audit.applied_at}) or (_at(entries[-1]) if entries else None)
            if stamp is None or stamp >= since:
                audits.append(audit)
    return summarize(audits, checked, since, until)


# --- rendering ------------------------------------------------------------------------------------------


def _target(item: ActionAudit) -> str:
    target = item.target
    return f"{target.get('kind', '?')} {target.get('namespace', '?')}/{target.get('name', '?')}"


def markdown(result: ComplianceResult) -> str:
    """The result as a readable page: the verdict, the figures per risk, then every gap."""
    verdict = "compliant" if result.compliant else f"NOT compliant: {len(result.incomplete)} incomplete"
    percent = result.medium_high_documented_percent
    lines = [
        "# PHR compliance",
        "",
        f"- **period**: {result.since} to {result.until}",
        f"- **verdict**: {verdict}",
        f"- **records checked**: {result.records_checked}; **executed actions**: {result.actions_executed}",
        "- **medium/high risk documented**: "
        + (f"{percent} %" if percent is not None else "none executed in the period"),
        "",
        "| risk | executed | documented | incomplete | validating | documented % |",
        "|---|---|---|---|---|---|",
    ]
    for risk, tally in result.by_risk.items():
        shown = "n/a" if tally["documented_percent"] is None else f"{tally['documented_percent']} %"
        lines.append(
            f"| {risk} | {tally['executed']} | {tally['documented']} | {tally['incomplete']} "
            f"| {tally['in_progress']} | {shown} |"
        )
    lines.append("")
    if result.incomplete:
        lines += ["## Incomplete", ""]
        for item in result.incomplete:
            lines.append(
                f"- `{item.proposal_id}` ({item.action}, risk {item.risk}, {_target(item)}) "
                f"in record `{item.record_id}`:"
            )
            lines += [f"  - missing: {gap}" for gap in item.missing]
            lines += [f"  - {problem}" for problem in item.problems]
        lines.append("")
    if result.in_progress:
        lines += ["## Validating (inside the watch window)", ""]
        lines += [
            f"- `{i.proposal_id}` ({i.action}, risk {i.risk}, {_target(i)})" for i in result.in_progress
        ]
        lines.append("")
    if result.documented:
        lines += ["## Documented", ""]
        lines += [
            f"- `{i.proposal_id}` ({i.action}, risk {i.risk}, {_target(i)}): approved by {i.approved_by} "
            f"({i.approval}), {i.outcome}"
            for i in result.documented
        ]
        lines.append("")
    return "\n".join(lines)


SEVERITY_BY_RISK = {"high": Severity.critical, "unknown": Severity.high, "medium": Severity.high}


def report_section(result: ComplianceResult) -> Section:
    """The weekly health report's section: the figures, and one finding per incomplete action. It has no
    score of its own, so the cluster's health score is not mixed with the audit trail's."""
    findings = [
        Finding(
            check="compliance.undocumented_action",
            title="Executed action not fully documented",
            severity=SEVERITY_BY_RISK.get(item.risk, Severity.medium),
            namespace=item.target.get("namespace"),
            kind=item.target.get("kind"),
            name=item.target.get("name"),
            message=(
                f"{item.action} ({item.risk} risk) by proposal {item.proposal_id}: "
                + "; ".join([*(f"missing {gap}" for gap in item.missing), *item.problems])
            ),
            remediation=f"review record {item.record_id} (aiops records show {item.record_id}) and "
            "find out how the change was made without the missing steps",
            evidence={"record_id": item.record_id, "proposal_id": item.proposal_id},
        )
        for item in result.incomplete
    ]
    return Section(
        id="compliance",
        title="Approval compliance (PHR)",
        score=None,
        summary={
            "compliant": result.compliant,
            "records_checked": result.records_checked,
            "actions_executed": result.actions_executed,
            "medium_high_documented_percent": result.medium_high_documented_percent,
            "incomplete": len(result.incomplete),
            "validating": len(result.in_progress),
            **{
                f"documented ({risk} risk)": f"{tally['documented']} of {tally['executed']}"
                + (f" ({tally['in_progress']} validating)" if tally["in_progress"] else "")
                for risk, tally in result.by_risk.items()
            },
        },
        findings=findings,
    )
