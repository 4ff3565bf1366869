"""`aiops rules lint|test|schema`: rule authoring from the command line.

``lint PATH...`` and ``test PATH... --alert FILE`` take any mix of rule files and directories, read
as the service reads its rules directory (names unique across all of them). ``lint`` prints every
problem as ``file:line: message`` and a summary on stderr; ``test`` says, for each alert of an
Alertmanager payload, which rules match and what they render to, and why each other rule does not
match, as text (the default) or JSON. Exit codes: 0 clean, 1 problems or render errors, 2 usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from receiver.errors import InvalidPayload
from receiver.payload import normalise, parse_webhook
from rules.errors import RuleError
from rules.labels import normalise_labels
from rules.loader import LintReport, lint_paths
from rules.matcher import RuleSet, mismatches
from rules.model import schema_text
from rules.render import render_rule


def run(args: argparse.Namespace) -> int:
    if args.verb == "schema":
        print(schema_text(), end="")
        return 0
    report = lint_paths(args.paths)
    if args.verb == "lint":
        for problem in report.problems:
            print(problem)
        print(summary(report), file=sys.stderr)
        return 1 if report.problems else 0
    if report.problems:
        for problem in report.problems:
            print(problem, file=sys.stderr)
        print(f"aiops: the rules do not load: {summary(report)}", file=sys.stderr)
        return 1
    return _test(args.alert, RuleSet(item.rule for item in report.located), args.format)


def summary(report: LintReport) -> str:
    """``5 problems in 2 of 3 files``, or ``no problems in 3 files``."""
    files = len(report.files)
    if not report.problems:
        return f"no problems in {_count(files, 'file')}"
    flagged = len(report.files_with_problems)
    text = f"{_count(len(report.problems), 'problem')} in {flagged} of {_count(files, 'file')}"
    if report.path_problems:
        text += f" ({len(report.path_problems)} with the paths given)"
    return text


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _test(alert_file: Path, ruleset: RuleSet, output: str) -> int:
    try:
        payload = parse_webhook(alert_file.read_bytes(), max_alerts=100_000)
    except OSError as exc:
        print(f"aiops: cannot read {alert_file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except InvalidPayload as exc:
        print(f"aiops: {alert_file}: {exc.detail}", file=sys.stderr)
        return 2
    now = datetime.now(UTC).isoformat()
    results = [_explain(index, normalise(alert, now), ruleset) for index, alert in enumerate(payload.alerts)]
    if output == "json":
        print(json.dumps(results, indent=2, default=str))
    else:
        print(_text(results, len(ruleset)))
    errors = sum(1 for result in results for match in result["matches"] if "error" in match)
    if errors:
        print(f"aiops: {_count(errors, 'render error')}", file=sys.stderr)
    return 1 if errors else 0


def _explain(index: int, alert: dict[str, Any], ruleset: RuleSet) -> dict[str, Any]:
    """One alert: the rules that match, rendered (or their error), and why every other rule does not."""
    labels = normalise_labels(alert.get("labels"))
    matched = {rule.name for rule in ruleset.match(alert)}
    matches: list[dict[str, Any]] = []
    not_matched: list[dict[str, Any]] = []
    for rule in ruleset:
        if rule.name not in matched:
            reasons = [mismatch.as_dict() for mismatch in mismatches(rule, alert)]
            not_matched.append({"rule": rule.name, "reasons": reasons})
            continue
        try:
            rendered = render_rule(rule, alert)
        except RuleError as exc:
            matches.append({"rule": rule.name, "error": str(exc)})
            continue
        matches.append(
            {
                "rule": rule.name,
                "target": rendered.target,
                "queries": rendered.queries,
                "checks": rendered.checks,
            }
        )
    return {
        "alert": index,
        "alertname": labels.get("alertname", ""),
        "status": alert["status"],
        "labels": labels,
        "matches": matches,
        "not_matched": not_matched,
    }


def _text(results: list[dict[str, Any]], rule_count: int) -> str:
    lines: list[str] = []
    for result in results:
        shown = " ".join(f"{k}={v}" for k, v in sorted(result["labels"].items()) if k != "alertname")
        lines.append(
            f"alert {result['alert'] + 1} of {len(results)}: {result['alertname'] or '(no alertname)'} "
            f"({result['status']}){'  ' + shown if shown else ''}"
        )
        for match in result["matches"]:
            if "error" in match:
                lines.append(f"  RENDER ERROR {match['rule']}: {match['error']}")
                continue
            target = match["target"]
            lines.append(f"  MATCH {match['rule']}: {target['kind']} {target['namespace']}/{target['name']}")
            lines.extend(f"    query {name}: {query}" for name, query in match["queries"].items())
            for check in match["checks"]:
                how = (
                    f"promql {check['promql']}" if "promql" in check else f"kubernetes {check['kubernetes']}"
                )
                lines.append(f"    check {check['name']}: {how}")
        if not result["matches"]:
            lines.append(f"  no rule matches (of {rule_count})")
        other_names = []
        for item in result["not_matched"]:
            fields = {reason["field"] for reason in item["reasons"]}
            if "match.alertname" in fields:
                other_names.append(item["rule"])
                continue
            lines.append(f"  no match {item['rule']}:")
            lines.extend(f"    {reason['message']}" for reason in item["reasons"])
        if other_names:
            lines.append(f"  for other alert names: {', '.join(other_names)}")
    return "\n".join(lines)
