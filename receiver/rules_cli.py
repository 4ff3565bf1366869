"""`aiops rules lint|test|schema`: rule authoring from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from receiver.errors import InvalidPayload
from receiver.payload import normalise, parse_webhook
from rules.matcher import RuleSet


def run(args: argparse.Namespace) -> int:
    from rules.loader import lint_dir, load_rule_dir
    from rules.model import schema_text

    if args.verb == "schema":
        print(schema_text(), end="")
        return 0
    if not args.directory.is_dir():
        print(f"aiops: {args.directory} is not a directory", file=sys.stderr)
        return 2
    problems = lint_dir(args.directory)
    if args.verb == "lint":
        for problem in problems:
            print(problem)
        count = len(list(args.directory.glob("*.yaml")))
        print(f"{len(problems)} problem(s) in {count} file(s)", file=sys.stderr)
        return 1 if problems else 0
    if problems:
        for problem in problems:
            print(problem)
        return 1
    return _test(args, load_rule_dir(args.directory))


def _test(args: argparse.Namespace, ruleset: RuleSet) -> int:
    from rules.errors import RuleError
    from rules.render import render_rule

    try:
        payload = parse_webhook(args.alert.read_bytes(), max_alerts=100_000)
    except OSError as exc:
        print(f"aiops: cannot read {args.alert}: {exc.strerror}", file=sys.stderr)
        return 2
    except InvalidPayload as exc:
        print(f"aiops: {args.alert}: {exc.detail}", file=sys.stderr)
        return 2
    now = datetime.now(UTC).isoformat()
    output = []
    for index, alert_in in enumerate(payload.alerts):
        alert = normalise(alert_in, now)
        matches: list[dict[str, object]] = []
        entry: dict[str, object] = {
            "alert": index,
            "alertname": alert["labels"]["alertname"],
            "status": alert["status"],
            "matches": matches,
        }
        for rule in ruleset.match(alert):
            try:
                rendered = render_rule(rule, alert)
                matches.append(
                    {
                        "rule": rule.name,
                        "target": rendered.target,
                        "queries": rendered.queries,
                        "checks": rendered.checks,
                    }
                )
            except RuleError as exc:
                matches.append({"rule": rule.name, "error": str(exc)})
        output.append(entry)
    print(json.dumps(output, indent=2, default=str))
    return 0
