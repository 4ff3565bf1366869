"""A small approval page: lists proposals and lets an approver decide, using the same JSON API.

The page itself holds no data and needs no login; the token typed in stays in the browser's session
storage and is sent as a Bearer header to the API, which does all the checking.
"""

from __future__ import annotations

from flask import Blueprint, Response

blueprint = Blueprint("ui", __name__)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>aiops-responder approvals</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'">
<style>
body{font:14px system-ui,sans-serif;margin:2rem;max-width:70rem}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}
.pending{color:#b15c00}.validated,.succeeded{color:#137333}.failed,.regressed,.unknown{color:#c5221f}
pre{white-space:pre-wrap;background:#f6f6f6;padding:.5rem}
</style></head><body>
<h1>Approvals</h1>
<p><label>Token <input id="token" type="password" size="40"></label> <button id="save">Use token</button>
<select id="status"><option value="">all</option><option selected>pending</option><option>approved</option>
<option>succeeded</option><option>validated</option><option>regressed</option><option>failed</option>
<option>unknown</option><option>rejected</option><option>expired</option><option>superseded</option></select></p>
<div id="msg"></div><table><thead><tr><th>status</th><th>target</th><th>diagnosis</th><th>action</th><th>risk</th>
<th></th></tr></thead><tbody id="rows"></tbody></table><div id="detail"></div>
<script>
const $ = (id) => document.getElementById(id);
const token = () => sessionStorage.getItem("aiops-token") || "";
$("token").value = token();
$("save").onclick = () => { sessionStorage.setItem("aiops-token", $("token").value); load(); };
$("status").onchange = () => load();
function text(value) { const span = document.createElement("span"); span.textContent = value ?? ""; return span; }
async function call(method, path, body) {
  const response = await fetch(path, {method, headers: {"Authorization": "Bearer " + token(),
    "Content-Type": "application/json"}, body: body ? JSON.stringify(body) : undefined});
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error((data.error || response.status) + ": " + (data.detail || ""));
  return data;
}
async function decide(id, verb) {
  const note = prompt(verb === "approve" ? "Comment (optional)" : "Reason for rejecting");
  if (note === null) return;
  try { await call("POST", `/api/v1/approvals/${encodeURIComponent(id)}/${verb}`,
                   verb === "approve" ? {comment: note} : {reason: note}); load(); }
  catch (error) { $("msg").replaceChildren(text(error.message)); }
}
async function show(id) {
  const proposal = await call("GET", `/api/v1/approvals/${encodeURIComponent(id)}`);
  const pre = document.createElement("pre"); pre.textContent = JSON.stringify(proposal, null, 2);
  $("detail").replaceChildren(pre);
}
async function load() {
  const status = $("status").value;
  try {
    const data = await call("GET", "/api/v1/approvals?limit=100" + (status ? "&status=" + status : ""));
    const rows = data.items.map((p) => {
      const tr = document.createElement("tr");
      const target = `${p.target.kind} ${p.target.namespace}/${p.target.name}`;
      for (const [value, cls] of [[p.status, p.status], [target], [p.diagnosis.summary],
                                  [p.action.type], [p.risk]]) {
        const td = document.createElement("td"); td.appendChild(text(value)); if (cls) td.className = cls; tr.appendChild(td);
      }
      const td = document.createElement("td");
      const more = document.createElement("button"); more.textContent = "details"; more.onclick = () => show(p.id);
      td.appendChild(more);
      if (p.status === "pending") {
        for (const verb of ["approve", "reject"]) {
          const b = document.createElement("button"); b.textContent = verb; b.onclick = () => decide(p.id, verb);
          td.appendChild(b);
        }
      }
      tr.appendChild(td); return tr;
    });
    $("rows").replaceChildren(...rows); $("msg").replaceChildren();
  } catch (error) { $("msg").replaceChildren(text(error.message)); }
}
load();
</script></body></html>
"""


@blueprint.get("/")
@blueprint.get("/ui/approvals")
@blueprint.get("/ui/approvals/<proposal_id>")
def page(proposal_id: str | None = None) -> Response:
    response = Response(PAGE, mimetype="text/html")
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
