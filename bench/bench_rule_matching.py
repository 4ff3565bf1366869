"""Benchmark: match alerts against 1,000 rules; prints the median microseconds per alert.

Target (docs/DESIGN "Targets"): median under 20 µs per alert with 1,000 rules.

    .venv/bin/python bench/bench_rule_matching.py [--rules 1000] [--alerts 20000] [--alertnames 200]

Rules are spread over ``--alertnames`` alert names (5 rules per name by default), each with an
exact and a regex label condition, a negative lookahead on the namespace, and mixed statuses.
Alerts are 80 % for known alert names (matching or not) and 20 % for unknown ones.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from typing import Any

from rules.matcher import RuleSet
from rules.model import Rule

NAMESPACES = ["shop", "cart", "payments", "kube-system", "search", "auth"]
SEVERITIES = ["critical", "warning", "info"]
BATCH = 100


def make_rules(count: int, alertnames: int, rng: random.Random) -> list[Rule]:
    rules = []
    for index in range(count):
        rules.append(
            Rule.model_validate(
                {
                    "name": f"rule-{index:05d}",
                    "match": {
                        "alertname": [f"Alert{index % alertnames:04d}"],
                        "labels": {
                            "namespace": "!~kube-system",
                            "severity": rng.choice(SEVERITIES),
                            "team": f"~team-{index % 7}|team-{(index + 3) % 7}",
                        },
                        "status": rng.choice(["firing", "firing", "any", "resolved"]),
                    },
                    "playbook": "pod-failure",
                    "target": {
                        "kind": "Pod",
                        "namespace": "{{ labels.namespace }}",
                        "name": "{{ labels.pod }}",
                    },
                    "evidence": {"prometheus": {"up": "up{pod={{ labels.pod | promql }}}"}},
                }
            )
        )
    return rules


def make_alerts(count: int, alertnames: int, rng: random.Random) -> list[dict[str, Any]]:
    alerts = []
    for index in range(count):
        known = rng.random() < 0.8
        name = f"Alert{rng.randrange(alertnames):04d}" if known else f"Unknown{index}"
        alerts.append(
            {
                "status": rng.choice(["firing", "firing", "firing", "resolved"]),
                "labels": {
                    "alertname": name,
                    "namespace": rng.choice(NAMESPACES),
                    "pod": f"pod-{index}",
                    "severity": rng.choice(SEVERITIES),
                    "team": f"team-{rng.randrange(7)}",
                },
                "annotations": {},
                "fingerprint": f"{index:016x}",
            }
        )
    return alerts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--alerts", type=int, default=20_000)
    parser.add_argument("--alertnames", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    started = time.perf_counter()
    ruleset = RuleSet(make_rules(args.rules, args.alertnames, rng))
    build_s = time.perf_counter() - started
    alerts = make_alerts(args.alerts, args.alertnames, rng)

    per_alert_us: list[float] = []
    matched = 0
    for _ in range(args.rounds):
        for start in range(0, len(alerts), BATCH):
            batch = alerts[start : start + BATCH]
            began = time.perf_counter_ns()
            for alert in batch:
                matched += len(ruleset.match(alert))
            per_alert_us.append((time.perf_counter_ns() - began) / len(batch) / 1000)

    per_alert_us.sort()
    median = statistics.median(per_alert_us)
    p99 = per_alert_us[int(len(per_alert_us) * 0.99) - 1]
    print(f"rules={len(ruleset)} alertnames={args.alertnames} alerts={len(alerts)} rounds={args.rounds}")
    print(f"built rule set in {build_s:.2f}s (validation included)")
    print(f"matches per alert: {matched / (len(alerts) * args.rounds):.2f}")
    print(f"median {median:.2f} µs/alert (batches of {BATCH}); p99 batch {p99:.2f} µs/alert; target < 20 µs")


if __name__ == "__main__":
    main()
