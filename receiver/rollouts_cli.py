"""``aiops rollouts watch NAMESPACE/DEPLOYMENT [--follow] | list | show ID``, through the HTTP API.

``watch`` starts a gate for the Deployment's rollout (approver token), or attaches to the gate already
running for it, and prints its analysis rounds: the new and old ReplicaSets' error rates and request
rates and the verdict; ``--follow`` keeps printing each round as it comes, then the decision.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any
from urllib.parse import quote

from receiver.client import ApiClient
from receiver.errors import ClientError

FINAL = {"halted", "continued", "inconclusive", "aborted"}
POLL_S = 1.0


def _pct(value: Any) -> str:
    return "   n/a" if value is None else f"{float(value) * 100:5.1f}%"


def _rate(value: Any) -> str:
    return "    n/a" if value is None else f"{float(value):7.2f}"


HEADER = (
    "round  time                  new err   old err   new req/s  old req/s  updated  verdict       reason"
)


def round_line(item: dict[str, Any]) -> str:
    return (
        f"{item['round']:>5}  {item['at'][:19]:<20}  {_pct(item.get('new_error_rate'))}    "
        f"{_pct(item.get('old_error_rate'))}    {_rate(item.get('new_request_rate'))}    "
        f"{_rate(item.get('old_request_rate'))}    {item.get('updated_replicas') or 0:>5}  "
        f"{item['verdict']:<12}  {item['reason']}"
    )


def gate_header(gate: dict[str, Any]) -> str:
    return (
        f"gate {gate['id']} for deployment {gate['namespace']}/{gate['deployment']}: {gate['state']} "
        f"(new ReplicaSet {gate.get('new_replicaset') or '-'}, old {gate.get('old_replicaset') or '-'})"
    )


def decision_lines(gate: dict[str, Any]) -> list[str]:
    lines = [f"decision: {gate.get('decision') or gate['state']}"]
    for action, pid in sorted((gate.get("proposals") or {}).items()):
        lines.append(f"  {action}: proposal {pid} (aiops approvals show {pid})")
    for alert in gate.get("alerts") or []:
        lines.append(f"  alert joined: {alert.get('alertname')} ({alert.get('fingerprint')})")
    return lines


def _path(gate_id: str) -> str:
    return f"/api/v1/rollouts/{quote(gate_id, safe='')}"


def _attach(api: ApiClient, namespace: str, deployment: str) -> dict[str, Any]:
    """Start a gate, or the Deployment's running one when a gate is already active (409)."""
    try:
        gate: dict[str, Any] = api.post(
            "/api/v1/rollouts", {"namespace": namespace, "deployment": deployment}
        )
        return gate
    except ClientError as exc:
        if exc.exit_code != 7:
            raise
    items = api.get("/api/v1/rollouts", {"namespace": namespace, "deployment": deployment, "limit": 1})[
        "items"
    ]
    if not items:
        raise ClientError(f"no gate for deployment {namespace}/{deployment}", 6)
    found: dict[str, Any] = items[0]
    return found


def watch(api: ApiClient, target: str, follow: bool, as_json: bool) -> int:
    namespace, _, deployment = target.partition("/")
    if not namespace or not deployment or "/" in deployment:
        raise ClientError(f"expected NAMESPACE/DEPLOYMENT, not {target!r}", 1)
    gate = _attach(api, namespace, deployment)
    if not as_json:
        print(gate_header(gate))
        print(HEADER)
    shown = 0
    while True:
        gate = api.get(_path(gate["id"]))
        for item in gate.get("rounds", [])[shown:]:
            print(json.dumps(item) if as_json else round_line(item), flush=True)
        shown = len(gate.get("rounds", []))
        if gate["state"] in FINAL or not follow:
            break
        time.sleep(POLL_S)
    if as_json:
        print(json.dumps({key: gate.get(key) for key in ("id", "state", "decision", "proposals", "alerts")}))
    else:
        print("\n".join(decision_lines(gate)) if gate["state"] in FINAL else f"state: {gate['state']}")
    return 0


def run(api: ApiClient, args: argparse.Namespace) -> int:
    as_json = args.format == "json"
    if args.verb == "watch":
        return watch(api, args.target, args.follow, as_json)
    if args.verb == "list":
        data = api.get("/api/v1/rollouts", {"limit": args.limit})
        if as_json:
            print(json.dumps(data, indent=2))
            return 0
        for gate in data["items"]:
            last = (gate.get("rounds") or [{}])[-1]
            print(
                f"{gate['id']}  {gate['state']:<12} {gate['namespace']}/{gate['deployment']}  "
                f"{gate['created_at']}  rounds {len(gate.get('rounds') or [])}  "
                f"{last.get('verdict', '-')}  {gate.get('reason') or ''}".rstrip()
            )
        return 0
    gate = api.get(_path(args.id))
    if as_json:
        print(json.dumps(gate, indent=2))
        return 0
    print(gate_header(gate))
    print(HEADER)
    for item in gate.get("rounds") or []:
        print(round_line(item))
    print("\n".join(decision_lines(gate)))
    sys.stdout.flush()
    return 0
