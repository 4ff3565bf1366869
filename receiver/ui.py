"""The web pages an approver decides from: sign-in, approvals (list, detail, approve/reject), audit records,
reports and rollouts, rendered on the server from Jinja templates that autoescape.

Pages need a session (``receiver.sessions``): a token typed in once, exchanged for a cookie. Every form
posts its session's CSRF token. No page holds inline script or style: one stylesheet and one small script
under ``/ui/static/``, and a Content-Security-Policy without 'unsafe-inline'. A decision goes through
``workers.spine.lifecycle`` (the API's path too), then the browser is sent back to the proposal's page
(post, redirect, get), which shows the new state.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, g, redirect, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from receiver import approval_view, rollouts_view, sessions, truncation
from receiver.object_diff import as_yaml
from receiver.request_scope import context, tokens
from workers.clock import iso, parse_iso
from workers.domain import STATES, Proposal, ProposalStatus, Report
from workers.errors import Conflict, NotFound
from workers.spine import lifecycle
from workers.spine.records import RecordStatus, parse_since
from workers.spine.report_render import CSP as REPORT_CSP
from workers.spine.report_render import TITLES as REPORT_TITLES
from workers.spine.report_render import counts, render_html
from workers.spine.reports import ReportStore

blueprint = Blueprint(
    "ui", __name__, template_folder="templates", static_folder="static", static_url_path="/ui/static"
)

CSP = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
"""Every page's policy: its own stylesheet and script only, no inline code, no framing."""
RECENT = timedelta(hours=1)
"""The default list shows pending proposals and those that moved within this long."""
MAX_NOTE = 2000
LIST_LIMIT = 500
NOTICES = {
    "approved": "Approved. The change is queued for execution; this page shows its progress.",
    "rejected": "Rejected. Nothing will change in the cluster.",
    "conflict": "Not decided: the proposal was no longer pending (decided by someone else, expired or superseded).",
    "expired": "Not decided: the proposal expired before the decision.",
    "reason_required": "Rejecting needs a reason.",
    "too_long": f"A comment or reason holds at most {MAX_NOTE} characters.",
}


class PageError(Exception):
    """An error shown as a page: 403 (role, CSRF), 404."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


class SignInNeeded(Exception):
    """No valid session: the browser is sent to the sign-in page."""


@blueprint.errorhandler(PageError)
def _page_error(exc: PageError) -> tuple[str, int]:
    return _render("error.html", title=exc.title, detail=exc.detail), exc.status


@blueprint.errorhandler(SignInNeeded)
def _sign_in_needed(exc: SignInNeeded) -> BaseResponse:
    target = request.full_path.rstrip("?") if request.method == "GET" else "/ui/approvals"
    return _redirect("/ui/sign-in?" + urlencode({"next": target}))


@blueprint.after_request
def _policy(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    return response


# -- sessions ---------------------------------------------------------------------------------------


def _store() -> sessions.SessionStore:
    ctx = context()
    return sessions.SessionStore(ctx.redis, tokens(), ctx.settings.auth.session_ttl_s)


def _secure() -> bool:
    return sessions.secure(request, context().settings.notify.public_url)


def _session() -> sessions.Session | None:
    if "ui_session" not in g:
        g.ui_session = _store().get(request.cookies.get(sessions.COOKIE))
    found: sessions.Session | None = g.ui_session
    return found


def _signed_in(permission: str = "read") -> sessions.Session:
    session = _session()
    if session is None:
        raise SignInNeeded()
    if not session.identity.may(permission):
        raise PageError(
            403, "Not allowed", f"{session.name} signed in as {session.role}, who may not {permission}."
        )
    return session


def _check_csrf(session: sessions.Session) -> None:
    if not sessions.same_token(request.form.get(sessions.CSRF_FIELD), session.csrf):
        raise PageError(403, "Form refused", "The form's CSRF token is missing or wrong; reload the page.")


def _redirect(location: str) -> BaseResponse:
    return redirect(location, code=303)


def _safe_next(target: str | None) -> str:
    """Only a path of these pages: never another site (``//host``) nor a scheme."""
    if target and target.startswith("/ui/") and not target.startswith(("//", "/\\")) and "\\" not in target:
        return target
    return "/ui/approvals"


def _render(template: str, **values: Any) -> str:
    session = g.get("ui_session")
    banner = None
    if session is not None:
        last = truncation.last(context().redis)
        banner = truncation.describe(last, with_group=True) if last else None
    return render_template(f"ui/{template}", session=session, banner=banner, **values)


@blueprint.get("/")
def home() -> BaseResponse:
    return _redirect("/ui/approvals")


@blueprint.get("/ui/sign-in")
def sign_in_page() -> BaseResponse:
    if _session() is not None:
        return _redirect(_safe_next(request.args.get("next")))
    return _sign_in_form(None, 200)


def _sign_in_form(problem: str | None, status: int) -> Response:
    form_token = sessions.new_form_token()
    page = _render(
        "sign_in.html",
        title="Sign in",
        form_token=form_token,
        next=_safe_next(request.values.get("next")),
        problem=problem,
        signed_out=request.args.get("signed_out") == "1",
        ttl_h=round(context().settings.auth.session_ttl_s / 3600, 1),
    )
    response = Response(page, status=status, mimetype="text/html")
    sessions.set_cookie(response, sessions.SIGN_IN_COOKIE, form_token, sessions.SIGN_IN_TTL_S, _secure())
    return response


@blueprint.post("/ui/sign-in")
def sign_in() -> BaseResponse:
    expected = request.cookies.get(sessions.SIGN_IN_COOKIE) or ""
    if not expected or not sessions.same_token(request.form.get(sessions.CSRF_FIELD), expected):
        raise PageError(
            403, "Form refused", "The sign-in form expired or was not sent by this page; reload it."
        )
    signed = _store().sign_in(request.form.get("token", ""), iso(context().clock()))
    if signed is None:
        return _sign_in_form("That token was not accepted (a viewer or approver token is needed).", 401)
    session_id, _session_made = signed
    response = _redirect(_safe_next(request.form.get("next")))
    ttl = context().settings.auth.session_ttl_s
    sessions.set_cookie(response, sessions.COOKIE, session_id, ttl, _secure())
    sessions.clear_cookie(response, sessions.SIGN_IN_COOKIE, _secure())
    return response


@blueprint.post("/ui/sign-out")
def sign_out() -> BaseResponse:
    session = _signed_in()
    _check_csrf(session)
    _store().sign_out(request.cookies.get(sessions.COOKIE))
    response = _redirect("/ui/sign-in?signed_out=1")
    sessions.clear_cookie(response, sessions.COOKIE, _secure())
    return response


# -- approvals --------------------------------------------------------------------------------------


def _moved_at(proposal: Proposal) -> str:
    return max(
        [proposal.created_at, proposal.decided_at or "", *(str(h.get("at", "")) for h in proposal.history)],
        key=lambda moment: parse_iso(moment).timestamp() if moment else 0.0,
    )


@blueprint.get("/ui/approvals")
def approvals() -> str:
    _signed_in()
    ctx = context()
    now = ctx.clock()
    status = request.args.get("status", "")
    workflow = request.args.get("workflow", "")
    namespace = request.args.get("namespace", "")
    items = ctx.proposals.list(status=status if status in STATES else None, limit=LIST_LIMIT)
    if status == "":
        items = [
            p for p in items if p.status == ProposalStatus.pending or now - parse_iso(_moved_at(p)) <= RECENT
        ]
    namespaces = sorted({p.target.get("namespace", "") for p in items})
    shown = [
        p
        for p in items
        if (not workflow or p.playbook == workflow)
        and (not namespace or p.target.get("namespace") == namespace)
    ]
    rows = [
        {
            "p": p,
            "age": approval_view.ago(p.created_at, now),
            "expires": approval_view.ago(p.expires_at, now),
            "expired": approval_view.expired(p, now),
            "decided": approval_view.ago(p.decided_at, now),
        }
        for p in shown
    ]
    return _render(
        "approvals.html",
        title="Approvals",
        rows=rows,
        states=[str(s) for s in STATES],
        workflows=sorted(ctx.workflows.workflows),
        namespaces=namespaces,
        status=status,
        workflow=workflow,
        namespace=namespace,
    )


def _proposal(proposal_id: str) -> Proposal:
    try:
        return context().proposals.get(proposal_id)
    except NotFound as exc:
        raise PageError(404, "No such proposal", str(exc)) from exc


@blueprint.get("/ui/approvals/<proposal_id>")
def approval(proposal_id: str) -> str:
    session = _signed_in()
    proposal = _proposal(proposal_id)
    shown = approval_view.detail(context(), proposal, session.identity.may("decide"))
    notice = NOTICES.get(request.args.get("done", ""))
    return _render(
        "approval.html",
        title=f"Proposal {proposal.id}",
        d=shown,
        notice=notice,
        csrf=session.csrf,
        max_note=MAX_NOTE,
        related_rollouts=rollouts_view.related(context(), proposal),
    )


@blueprint.post("/ui/approvals/<proposal_id>/<verb>")
def decide(proposal_id: str, verb: str) -> BaseResponse:
    session = _signed_in("decide")
    _check_csrf(session)
    if verb not in {"approve", "reject"}:
        raise PageError(404, "No such decision", f"{verb}: approve or reject")
    page = f"/ui/approvals/{proposal_id}"
    note = (request.form.get("comment" if verb == "approve" else "reason") or "").strip()
    if len(note) > MAX_NOTE:
        return _redirect(f"{page}?done=too_long")
    if verb == "reject" and not note:
        return _redirect(f"{page}?done=reason_required")
    ctx = context()
    try:
        if verb == "approve":
            lifecycle.approve(ctx, proposal_id, session.name, note or None)
        else:
            lifecycle.reject(ctx, proposal_id, session.name, note)
    except NotFound as exc:
        raise PageError(404, "No such proposal", str(exc)) from exc
    except Conflict:
        after = ctx.proposals.get(proposal_id)
        return _redirect(f"{page}?done={'expired' if after.status == ProposalStatus.expired else 'conflict'}")
    return _redirect(f"{page}?done={'approved' if verb == 'approve' else 'rejected'}")


# -- records ----------------------------------------------------------------------------------------


@blueprint.get("/ui/records")
def records() -> str:
    _signed_in()
    ctx = context()
    status = request.args.get("status", "")
    rule = request.args.get("rule", "")
    since_text = request.args.get("since", "7d")
    problem = None
    try:
        since = parse_since(since_text, ctx.clock()) if since_text else None
    except ValueError as exc:
        problem, since = str(exc), None
    items = ctx.records.list(
        status=RecordStatus(status) if status in RecordStatus.__members__ else None,
        rule=rule or None,
        since=since,
        limit=200,
    )
    return _render(
        "records.html",
        title="Records",
        items=items,
        statuses=[str(s) for s in RecordStatus],
        status=status,
        rule=rule,
        since=since_text,
        problem=problem,
    )


@blueprint.get("/ui/records/<record_id>")
def record(record_id: str) -> str:
    _signed_in()
    try:
        found = context().records.get(record_id)
    except NotFound as exc:
        raise PageError(404, "No such record", str(exc)) from exc
    entries = [
        {
            **entry,
            "yaml": as_yaml(entry.get("data") or {}),
            "kind_words": str(entry.get("kind", "")).replace("_", " "),
        }
        for entry in found.get("entries", [])
    ]
    # Every proposal the record names: the investigation's, a revert's, an adviser's alternatives.
    named = [found.get("proposal_id")] + [(e.get("data") or {}).get("proposal_id") for e in entries]
    proposals = list(dict.fromkeys(str(pid) for pid in named if isinstance(pid, str) and pid))
    return _render("record.html", title=f"Record {record_id}", r=found, entries=entries, proposals=proposals)


# -- reports ----------------------------------------------------------------------------------------


def _reports() -> ReportStore:
    ctx = context()
    return ReportStore(ctx.redis, ctx.clock, ctx.settings.reports)


@blueprint.get("/ui/reports")
def reports() -> str:
    _signed_in()
    kind = request.args.get("kind", "")
    known = sorted(context().workflows.reports)
    items = _reports().list(kind=kind if kind in known else None, limit=100)
    return _render("reports.html", title="Reports", items=items, kinds=known, kind=kind, titles=REPORT_TITLES)


def _report(report_id: str) -> Report:
    try:
        return _reports().get(report_id)
    except NotFound as exc:
        raise PageError(404, "No such report", str(exc)) from exc


@blueprint.get("/ui/reports/<report_id>")
def report(report_id: str) -> str:
    _signed_in()
    found = _report(report_id)
    return _render(
        "report.html",
        title=REPORT_TITLES.get(found.kind, f"{found.kind} report"),
        r=found,
        counts=counts(found),
        top=[f for f in found.findings() if f.severity.value in {"critical", "high"}][:25],
    )


@blueprint.get("/ui/reports/<report_id>/page")
def report_page(report_id: str) -> Response:
    """The report's own self-contained HTML page (``report_render``), under that page's own policy."""
    _signed_in()
    response = Response(render_html(_report(report_id)), mimetype="text/html")
    response.headers["Content-Security-Policy"] = REPORT_CSP
    return response


# -- rollouts ---------------------------------------------------------------------------------------


@blueprint.get("/ui/rollouts")
def rollouts() -> str:
    _signed_in()
    found = rollouts_view.listing(
        context(),
        request.args.get("namespace", ""),
        request.args.get("deployment", ""),
        request.args.get("state", ""),
    )
    return _render("rollouts.html", title="Rollouts", **found)


@blueprint.get("/ui/rollouts/<gate_id>")
def rollout(gate_id: str) -> str:
    _signed_in()
    found = rollouts_view.one(context(), gate_id)
    if found is None:
        raise PageError(404, "No such rollout", f"no rollout gate {gate_id}")
    return _render("rollout.html", title=f"Rollout gate {gate_id}", **found)
