"""Benchmark: a signed Slack button press -> the decision made -> Slack's 200, on the real receiver.

Slack wants the interactivity answer within 3 s; the receiver makes the decision before it answers
(signature check, user mapping, the compare-and-set, the execution and the message update enqueued).

    .venv/bin/python bench/bench_slack_actions.py [--presses 300] [--concurrency 4]

Everything runs on 127.0.0.1 and is stopped on exit or Ctrl-C: a private redis-server, and the receiver
as ``aiops serve`` (gunicorn, the default 1 worker x 8 threads) with a Slack signing secret and one
mapped user. ``--presses`` pending proposals are parked in Redis first; each is approved once by a
signed ``block_actions`` request, ``--concurrency`` at a time. No worker runs, so the queued executions
and message updates wait in Redis; only the answer's latency is measured (client clock, send to 200).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from urllib.parse import urlencode

import _harness as h
import httpx
import yaml

from rules.registry import RuleRegistry
from workers.clock import expiry_after, iso
from workers.domain import Proposal
from workers.settings import DEFAULT_RULES_DIR, Settings
from workers.spine.context import Context

SECRET = "bench-slack-signing-secret-0001"
USER = "U0BENCH"


def park(context: Context, count: int) -> list[str]:
    now = datetime.now(UTC)
    ids = []
    for index in range(count):
        pid = f"p-bench-{index:05d}"
        proposal = Proposal(
            id=pid,
            rule="pod-crashloop",
            playbook="pod-failure",
            alert={"fingerprint": f"fp-{index}"},
            target={"kind": "Deployment", "namespace": "bench", "name": f"app-{index}"},
            diagnosis={"summary": "bench"},
            action={"type": "rollback-deployment", "params": {}, "plan": None},
            created_at=iso(now),
            expires_at=expiry_after(now, 3600),
            record_id=f"r-bench-{index:05d}",
        )
        context.records.open(proposal.record_id, {"rule": proposal.rule})
        context.proposals.create(proposal)
        ids.append(pid)
    return ids


def press(client: httpx.Client, proposal_id: str) -> tuple[float, str]:
    payload = {
        "type": "block_actions",
        "user": {"id": USER, "username": "bench"},
        "team": {"id": "T0BENCH"},
        "response_url": "https://hooks.slack.com/actions/T0BENCH/1/x",
        "actions": [{"action_id": "approve", "block_id": "decision", "type": "button", "value": proposal_id}],
        "state": {"values": {}},
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    stamp = str(int(time.time()))
    signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
    }
    started = time.perf_counter()
    answer = client.post("/integrations/slack/actions", content=body, headers=headers)
    elapsed = time.perf_counter() - started
    return elapsed, answer.headers.get("X-Aiops-Outcome", str(answer.status_code))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    with h.workdir("aiops-bench-slack-") as work, contextlib.ExitStack() as stack:
        url, connection = h.start_redis(stack, work)
        config = work / "settings.yaml"
        config.write_text(
            yaml.safe_dump(
                {"notify": {"slack_signing_secret": SECRET, "slack_users": {USER: "bench-approver"}}}
            )
        )
        env = h.child_env(
            REDIS_URL=url, AIOPS_CONFIG=str(config), AIOPS_TOKENS_FILE=str(h.write_tokens(work))
        )
        base, _ = h.start_receiver(stack, work, env)
        settings = Settings.model_validate({"redis": {"url": url}})
        context = Context(settings=settings, redis=connection, rules=RuleRegistry(DEFAULT_RULES_DIR))
        ids = park(context, args.presses + 20)
        with httpx.Client(base_url=base, timeout=10) as client:
            for warm in ids[args.presses :]:
                press(client, warm)
            with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
                results = list(pool.map(lambda pid: press(client, pid), ids[: args.presses]))
        latencies = sorted(seconds * 1000 for seconds, _ in results)
        outcomes: dict[str, int] = {}
        for _, outcome in results:
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        approved = sum(1 for pid in ids[: args.presses] if context.proposals.get(pid).status == "approved")
        print(f"machine: {h.machine()}")
        print(
            f"presses: {args.presses} at concurrency {args.concurrency}; "
            f"outcomes {outcomes}; approved {approved}"
        )
        print(
            "latency ms: "
            f"p50 {statistics.median(latencies):.1f}, p95 {h.percentile(latencies, 95):.1f}, "
            f"p99 {h.percentile(latencies, 99):.1f}, max {latencies[-1]:.1f} (Slack's limit: 3000)"
        )
        return 0 if approved == args.presses else 1


if __name__ == "__main__":
    sys.exit(h.run(main))
