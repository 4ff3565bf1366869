"""Small web pages over the JSON API: approvals (list, details, decide), audit records (list, show) and
reports (list, show).

The pages hold no data and need no login; the token typed in stays in the browser's session storage and
is sent as a Bearer header to the API, which does all the checking. Everything shown is set as text
(``textContent``), never as HTML.
"""

from __future__ import annotations

from flask import Blueprint, Response

from workers.domain import STATES
from workers.spine.records import RecordStatus

blueprint = Blueprint("ui", __name__)

HEAD = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>aiops-responder {title}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'">
<style>
body{{font:14px system-ui,sans-serif;margin:2rem;max-width:70rem}}
table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}}
.pending,.proposed{{color:#b15c00}}.validated,.succeeded{{color:#137333}}
.failed,.regressed,.unknown,.target_gone,.investigation_failed{{color:#c5221f}}
pre{{white-space:pre-wrap;background:#f6f6f6;padding:.5rem}}
nav a{{margin-right:1rem}}.banner{{background:#fce8e6;border:1px solid #c5221f;padding:.5rem;margin:.5rem 0}}
</style></head><body>
<nav><a href="/ui/approvals">Approvals</a><a href="/ui/records">Records</a><a href="/ui/reports">Reports</a></nav>
<h1>{title}</h1>
<p><label>Token <input id="token" type="password" size="40"></label> <button id="save">Use token</button></p>
<div id="banners"></div><div id="msg"></div>
"""

# Shared by both pages: the token, API calls, text-only rendering, and the banners from /readyz.
COMMON_JS = """
const $ = (id) => document.getElementById(id);
const token = () => sessionStorage.getItem("aiops-token") || "";
$("token").value = token();
$("save").onclick = () => { sessionStorage.setItem("aiops-token", $("token").value); load(); banners(); };
function text(value) { const span = document.createElement("span"); span.textContent = value ?? ""; return span; }
function link(label, href) { const a = document.createElement("a"); a.textContent = label; a.href = href; return a; }
function cell(tr, content, cls) {
  const td = document.createElement("td");
  td.appendChild(typeof content === "object" && content !== null ? content : text(content));
  if (cls) td.className = cls; tr.appendChild(td); return td;
}
async function request(method, path, body) {
  const response = await fetch(path, {method, headers: {"Authorization": "Bearer " + token(),
    "Content-Type": "application/json"}, body: body ? JSON.stringify(body) : undefined});
  if (!response.ok) {
    const data = await response.json().catch(() => ({}));
    throw new Error((data.error || response.status) + ": " + (data.detail || ""));
  }
  return response;
}
async function call(method, path, body) { return (await request(method, path, body)).json(); }
async function banners() {
  // Alerts Alertmanager left out of a notification were never investigated: say so on every page.
  const shown = [];
  try {
    const ready = await (await fetch("/readyz", {headers: {"Authorization": "Bearer " + token()}})).json();
    const truncated = (ready.checks || {}).alerts_truncated;
    if (truncated && truncated.last) {
      const div = document.createElement("div"); div.className = "banner"; div.id = "truncated-banner";
      div.textContent = "Alerts left out: " + truncated.detail; shown.push(div);
    }
  } catch (error) { /* readiness is only a hint here */ }
  $("banners").replaceChildren(...shown);
}
"""

APPROVALS_BODY = (
    """<p><select id="status"><option value="">all</option>"""
    + "".join(f"<option{' selected' if state == 'pending' else ''}>{state}</option>" for state in STATES)
    + """</select></p>
<table><thead><tr><th>status</th><th>target</th><th>diagnosis</th><th>action</th><th>risk</th>
<th></th></tr></thead><tbody id="rows"></tbody></table><div id="detail"></div>
<script>"""
    + COMMON_JS
    + """
$("status").onchange = () => load();
async function decide(id, verb) {
  const note = prompt(verb === "approve" ? "Comment (optional)" : "Reason for rejecting");
  if (note === null) return;
  try { await call("POST", `/api/v1/approvals/${encodeURIComponent(id)}/${verb}`,
                   verb === "approve" ? {comment: note} : {reason: note}); load(); }
  catch (error) { $("msg").replaceChildren(text(error.message)); }
}
async function show(id) {
  try {
    const proposal = await call("GET", `/api/v1/approvals/${encodeURIComponent(id)}`);
    const pre = document.createElement("pre"); pre.textContent = JSON.stringify(proposal, null, 2);
    const parts = [pre];
    if (proposal.record_id) {
      parts.unshift(link("audit record " + proposal.record_id, "/ui/records/" + encodeURIComponent(proposal.record_id)));
    }
    $("detail").replaceChildren(...parts);
  } catch (error) { $("msg").replaceChildren(text(error.message)); }
}
async function load() {
  const status = $("status").value;
  try {
    const data = await call("GET", "/api/v1/approvals?limit=100" + (status ? "&status=" + status : ""));
    const rows = data.items.map((p) => {
      const tr = document.createElement("tr");
      cell(tr, p.status, p.status); cell(tr, `${p.target.kind} ${p.target.namespace}/${p.target.name}`);
      cell(tr, p.diagnosis.summary); cell(tr, p.action.type); cell(tr, p.risk);
      const td = cell(tr, "");
      const more = document.createElement("button"); more.textContent = "details"; more.onclick = () => show(p.id);
      td.appendChild(more);
      if (p.status === "pending") {
        for (const verb of ["approve", "reject"]) {
          const b = document.createElement("button"); b.textContent = verb; b.onclick = () => decide(p.id, verb);
          td.appendChild(b);
        }
      }
      if (p.record_id) { td.appendChild(text(" ")); td.appendChild(link("record", "/ui/records/" + encodeURIComponent(p.record_id))); }
      return tr;
    });
    $("rows").replaceChildren(...rows); $("msg").replaceChildren();
  } catch (error) { $("msg").replaceChildren(text(error.message)); }
}
load(); banners();
const opened = location.pathname.match(/^\\/ui\\/approvals\\/([^/]+)$/);
if (opened) show(decodeURIComponent(opened[1]));
</script></body></html>
"""
)

RECORDS_BODY = (
    """<p><label>status <select id="status"><option value="">any</option>"""
    + "".join(f"<option>{status.value}</option>" for status in RecordStatus)
    + """</select></label>
<label>rule <input id="rule" size="20"></label>
<label>since <input id="since" size="22" value="7d" title="90m, 12h, 7d or an ISO 8601 time"></label>
<button id="filter">Show</button></p>
<table><thead><tr><th>created</th><th>status</th><th>rule</th><th>target</th><th>latest entry</th>
<th></th></tr></thead><tbody id="rows"></tbody></table><div id="detail"></div>
<script>"""
    + COMMON_JS
    + """
$("filter").onclick = () => load();
async function show(id) {
  try {
    const response = await request("GET", `/api/v1/records/${encodeURIComponent(id)}?format=md`);
    const pre = document.createElement("pre"); pre.id = "record"; pre.textContent = await response.text();
    $("detail").replaceChildren(pre);
  } catch (error) { $("msg").replaceChildren(text(error.message)); }
}
async function load() {
  const query = new URLSearchParams({limit: "100"});
  for (const name of ["status", "rule", "since"]) { if ($(name).value) query.set(name, $(name).value); }
  try {
    const data = await call("GET", "/api/v1/records?" + query.toString());
    const rows = data.items.map((r) => {
      const tr = document.createElement("tr");
      const t = r.target || {};
      cell(tr, r.created_at); cell(tr, r.status, r.status); cell(tr, r.rule);
      cell(tr, r.target ? `${t.kind} ${t.namespace}/${t.name}` : ""); cell(tr, `${r.last_kind || ""} ${r.updated_at || ""}`);
      const td = cell(tr, "");
      const open = document.createElement("button"); open.textContent = "entries"; open.onclick = () => show(r.id);
      td.appendChild(open);
      if (r.proposal_id) { td.appendChild(text(" ")); td.appendChild(link("proposal", "/ui/approvals/" + encodeURIComponent(r.proposal_id))); }
      return tr;
    });
    $("rows").replaceChildren(...rows); $("msg").replaceChildren();
  } catch (error) { $("msg").replaceChildren(text(error.message)); }
}
load(); banners();
const opened = location.pathname.match(/^\\/ui\\/records\\/([^/]+)$/);
if (opened) show(decodeURIComponent(opened[1]));
</script></body></html>
"""
)

# Reports: the list, and one report as text (markdown); its HTML page is fetched with the token and
# handed over as a download (a blob), never inserted into this page.
REPORTS_BODY = (
    """<p><label>kind <select id="kind"><option value="">any</option><option>health</option>
<option>security</option></select></label> <button id="filter">Show</button></p>
<table><thead><tr><th>generated</th><th>kind</th><th>score</th><th>critical</th><th>high</th><th>id</th>
<th></th></tr></thead><tbody id="rows"></tbody></table><div id="detail"></div>
<script>"""
    + COMMON_JS
    + """
$("filter").onclick = () => load();
async function download(id) {
  try {
    const response = await request("GET", `/api/v1/reports/${encodeURIComponent(id)}?format=html`);
    const a = document.createElement("a"); a.href = URL.createObjectURL(await response.blob());
    a.download = id + ".html"; a.click();
  } catch (error) { $("msg").replaceChildren(text(error.message)); }
}
async function show(id) {
  try {
    const response = await request("GET", `/api/v1/reports/${encodeURIComponent(id)}?format=md`);
    const pre = document.createElement("pre"); pre.id = "report"; pre.textContent = await response.text();
    const html = document.createElement("button"); html.textContent = "download HTML"; html.onclick = () => download(id);
    $("detail").replaceChildren(html, pre);
  } catch (error) { $("msg").replaceChildren(text(error.message)); }
}
async function load() {
  const query = new URLSearchParams({limit: "100"});
  if ($("kind").value) query.set("kind", $("kind").value);
  try {
    const data = await call("GET", "/api/v1/reports?" + query.toString());
    const rows = data.items.map((r) => {
      const tr = document.createElement("tr");
      cell(tr, r.generated_at); cell(tr, r.kind); cell(tr, `${r.score ?? "n/a"} ${r.grade ?? ""}`);
      cell(tr, r.findings.critical); cell(tr, r.findings.high);
      cell(tr, link(r.id, "/ui/reports/" + encodeURIComponent(r.id)));
      const td = cell(tr, "");
      const open = document.createElement("button"); open.textContent = "show"; open.onclick = () => show(r.id);
      td.appendChild(open);
      if (r.record_id) { td.appendChild(text(" ")); td.appendChild(link("record", "/ui/records/" + encodeURIComponent(r.record_id))); }
      return tr;
    });
    $("rows").replaceChildren(...rows); $("msg").replaceChildren();
  } catch (error) { $("msg").replaceChildren(text(error.message)); }
}
load(); banners();
const opened = location.pathname.match(/^\\/ui\\/reports\\/([^/]+)$/);
if (opened) show(decodeURIComponent(opened[1]));
</script></body></html>
"""
)

APPROVALS_PAGE = HEAD.format(title="Approvals") + APPROVALS_BODY
RECORDS_PAGE = HEAD.format(title="Records") + RECORDS_BODY
REPORTS_PAGE = HEAD.format(title="Reports") + REPORTS_BODY


def _html(page: str) -> Response:
    response = Response(page, mimetype="text/html")
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@blueprint.get("/")
@blueprint.get("/ui/approvals")
@blueprint.get("/ui/approvals/<proposal_id>")
def page(proposal_id: str | None = None) -> Response:
    return _html(APPROVALS_PAGE)


@blueprint.get("/ui/records")
@blueprint.get("/ui/records/<record_id>")
def records_page(record_id: str | None = None) -> Response:
    return _html(RECORDS_PAGE)


@blueprint.get("/ui/reports")
@blueprint.get("/ui/reports/<report_id>")
def reports_page(report_id: str | None = None) -> Response:
    return _html(REPORTS_PAGE)
