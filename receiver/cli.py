"""The ``aiops`` command: serve, worker, cron, watch, rules, approvals, records, settings, sandbox, demo."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from receiver import cli_help, rightsizing_cli
from receiver.errors import ClientError
from workers.domain import STATES
from workers.errors import AiopsError, SettingsError
from workers.settings import Settings, load_settings
from workers.spine.records import RecordStatus

if TYPE_CHECKING:
    from receiver.client import ApiClient

log = logging.getLogger("aiops.cli")
# Approved actions first: a storm of investigations must not hold back a decision already taken.
QUEUES = ("actions", "alerts", "advice", "reports")


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(config_file=getattr(args, "config", None))


def _warn_without_public_url(settings: Settings) -> None:
    warning = settings.notify.link_warning()
    if warning:
        log.warning(warning)


def cmd_serve(args: argparse.Namespace) -> int:
    from receiver.runtime import configure_logging, serve

    settings = _settings(args)
    configure_logging(settings)
    _warn_without_public_url(settings)
    serve(settings, args.host or settings.server.host, args.port or settings.server.port, args.dev)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from receiver.runtime import configure_logging, run_worker

    settings = _settings(args)
    configure_logging(settings)
    _warn_without_public_url(settings)
    run_worker(settings, _queues(args.queues), burst=args.burst)
    return 0


def _queues(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(names) - set(QUEUES))
    if unknown or not names:
        raise SettingsError(
            f"--queues: unknown queue(s) {', '.join(unknown) or '(none given)'}; use {','.join(QUEUES)}"
        )
    return names


def cmd_cron(args: argparse.Namespace) -> int:
    from receiver.runtime import configure_logging, run_cron

    settings = _settings(args)
    configure_logging(settings)
    run_cron(settings)
    return 0


def cmd_watch(args: argparse.Namespace) -> int:
    from receiver.runtime import configure_logging, run_watch

    settings = _settings(args)
    configure_logging(settings)
    run_watch(settings, args.namespace or None)
    return 0


def cmd_rules(args: argparse.Namespace) -> int:
    from receiver import rules_cli

    return rules_cli.run(args)


def _print(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def _client(args: argparse.Namespace) -> ApiClient:
    from receiver.client import ApiClient

    return ApiClient.from_settings(_settings(args))


def _path_id(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def cmd_approvals(args: argparse.Namespace) -> int:
    with _client(args) as api:
        if args.verb == "list":
            data = api.get("/api/v1/approvals", {"status": args.status, "limit": args.limit})
            if args.format == "json":
                _print(data)
                return 0
            for proposal in data["items"]:
                target = proposal.get("target") or {}
                where = f"{target.get('kind')} {target.get('namespace')}/{target.get('name')}"
                print(
                    f"{proposal['id']}  {proposal['status']:<10} {where}  "
                    f"{(proposal.get('action') or {}).get('type')}  "
                    f"{(proposal.get('diagnosis') or {}).get('summary', '')}"
                )
            return 0
        path = f"/api/v1/approvals/{_path_id(args.id)}"
        if args.verb == "show":
            _print(api.get(path))
            return 0
        if args.verb == "approve":
            proposal = api.post(path + "/approve", {"comment": args.comment} if args.comment else {})
        else:
            proposal = api.post(path + "/reject", {"reason": args.reason})
    if args.format == "json":
        _print(proposal)
    else:
        after = "; its execution is queued" if proposal["status"] == "approved" else ""
        print(f"{proposal['id']} {proposal['status']} by {proposal.get('decided_by')}{after}")
    return 0


def cmd_records(args: argparse.Namespace) -> int:
    with _client(args) as api:
        if args.verb == "list":
            query = {"status": args.status, "rule": args.rule, "since": args.since, "limit": args.limit}
            data = api.get("/api/v1/records", query)
            if args.format == "json":
                _print(data)
                return 0
            for record in data["items"]:
                target = record.get("target") or {}
                where = (
                    f"{target.get('kind')} {target.get('namespace')}/{target.get('name')}" if target else "-"
                )
                print(
                    f"{record['id']}  {record.get('status') or '-':<20} {record.get('created_at') or '-'}  "
                    f"{record.get('rule') or '-'}  {where}  {record.get('proposal_id') or ''}".rstrip()
                )
            return 0
        path = f"/api/v1/records/{_path_id(args.id)}"
        if args.format == "md":
            print(api.get_text(path, {"format": "md"}))
        else:
            _print(api.get(path))
    return 0


def cmd_settings(args: argparse.Namespace) -> int:
    from workers import settings_doc

    return settings_doc.main(["--out", str(args.out)] if args.out else [])


def cmd_sandbox(args: argparse.Namespace) -> int:
    from receiver.sandbox_cli import serve_sandbox

    return serve_sandbox(args.directory, args.port, args.kubeconfig_out)


def cmd_scaling(args: argparse.Namespace) -> int:
    from receiver import scaling_cli

    return scaling_cli.run(_settings(args), args)


def cmd_rightsize(args: argparse.Namespace) -> int:
    from receiver import rightsizing_cli

    return rightsizing_cli.run(_settings(args), args)


def cmd_rollouts(args: argparse.Namespace) -> int:
    from receiver import rollouts_cli

    with _client(args) as api:
        return rollouts_cli.run(api, args)


def cmd_report(args: argparse.Namespace) -> int:
    from receiver import report_cli

    return report_cli.run(_settings(args), args)


def cmd_audit(args: argparse.Namespace) -> int:
    from receiver import audit_cli

    return audit_cli.run(_settings(args), args)


def cmd_demo(args: argparse.Namespace) -> int:
    from receiver.demo import run_demo

    return run_demo(interactive=args.interactive, keep_running=args.keep_running, full=args.full)


def _positive_limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from exc
    if not 1 <= value <= 500:
        raise argparse.ArgumentTypeError(f"must be between 1 and 500, not {value}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from exc
    if not 0 <= value < 65536:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535, not {value}")
    return value


def _add_format(parser: argparse.ArgumentParser, choices: Sequence[str], default: str, what: str) -> None:
    parser.add_argument(
        "--format", choices=list(choices), default=default, help=f"{what} (default: %(default)s)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aiops",
        description="Kubernetes alert responder with an approval gate.",
        epilog="Every setting, its variable and default: docs/settings.md (aiops settings doc).\n"
        "Each verb's --help lists the environment it reads.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config", metavar="FILE", help="settings YAML file (default: $AIOPS_CONFIG, else built-in defaults)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="VERB")

    serve = sub.add_parser("serve", help="run the receiver (gunicorn; Flask's server with --dev)")
    serve.add_argument(
        "--host", metavar="ADDRESS", help="address to listen on (default: server.host, 127.0.0.1)"
    )
    serve.add_argument(
        "--port", type=_port, metavar="PORT", help="port to listen on (default: server.port, 8080)"
    )
    serve.add_argument(
        "--dev",
        action="store_true",
        help="Flask's development server; starts without an approver token (local experiments only)",
    )
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="run an RQ worker")
    worker.add_argument(
        "--queues",
        default=",".join(QUEUES),
        metavar="NAME[,NAME...]",
        help=f"comma-separated queues to take jobs from, in priority order; of {', '.join(QUEUES)} "
        "(default: %(default)s)",
    )
    worker.add_argument(
        "--burst", action="store_true", help="exit when the queues are empty (default: keep waiting)"
    )
    worker.set_defaults(func=cmd_worker)

    sub.add_parser("cron", help="run the periodic-job scheduler (proposal expiry)").set_defaults(
        func=cmd_cron
    )

    watch = sub.add_parser("watch", help="watch pods and turn container failures into alerts")
    watch.add_argument(
        "--namespace",
        action="append",
        metavar="NS",
        help="watch only this namespace (repeatable; default: namespaces.allow, else every one not denied)",
    )
    watch.set_defaults(func=cmd_watch)

    rules = sub.add_parser("rules", help="lint, test or print the schema of rules")
    rules_sub = rules.add_subparsers(dest="verb", required=True, metavar="VERB")
    rule_paths = "rule files and directories, in any mix (a directory: its *.yaml files); rule names "
    rule_paths += "must be unique across all of them"
    lint = rules_sub.add_parser(
        "lint", help="report every problem as file:line: message; exit 1 when there is any"
    )
    lint.add_argument("paths", nargs="+", type=Path, metavar="PATH", help=rule_paths)
    test = rules_sub.add_parser(
        "test",
        help="show which rules match each alert of a payload, what they render to and why the others "
        "do not match; exit 1 on a render error",
    )
    test.add_argument("paths", nargs="+", type=Path, metavar="PATH", help=rule_paths)
    test.add_argument(
        "--alert", type=Path, required=True, metavar="FILE", help="Alertmanager webhook payload (JSON)"
    )
    _add_format(test, ("text", "json"), "text", "text for people, json for scripts")
    rules_sub.add_parser("schema", help="print the rule JSON Schema")
    rules.set_defaults(func=cmd_rules)

    approvals = sub.add_parser("approvals", help="list, show and decide proposals (through the HTTP API)")
    approvals_sub = approvals.add_subparsers(dest="verb", required=True, metavar="VERB")
    listing = approvals_sub.add_parser("list", help="proposals, newest first (viewer token)")
    listing.add_argument(
        "--status",
        choices=list(STATES),
        metavar="STATUS",
        help=f"only this state, one of {', '.join(STATES)} (default: every state)",
    )
    listing.add_argument(
        "--limit",
        type=_positive_limit,
        default=50,
        metavar="N",
        help="at most N, 1 to 500 (default: %(default)s)",
    )
    _add_format(listing, ("text", "json"), "text", "one line per proposal, or the API's JSON")
    approvals_sub.add_parser("show", help="one proposal as JSON (viewer token)").add_argument(
        "id", metavar="ID", help="proposal id, e.g. p-3f2a..."
    )
    approve = approvals_sub.add_parser("approve", help="approve a pending proposal (approver token)")
    approve.add_argument("id", metavar="ID", help="proposal id")
    approve.add_argument("--comment", metavar="TEXT", help="why, kept in the audit record (default: none)")
    reject = approvals_sub.add_parser("reject", help="reject a pending proposal (approver token)")
    reject.add_argument("id", metavar="ID", help="proposal id")
    reject.add_argument(
        "--reason", required=True, metavar="TEXT", help="why (required), kept in the audit record"
    )
    for verb in (approve, reject):
        _add_format(verb, ("text", "json"), "text", "a one-line summary, or the decided proposal as JSON")
    approvals.set_defaults(func=cmd_approvals)

    records = sub.add_parser("records", help="list and show audit records (through the HTTP API)")
    records_sub = records.add_subparsers(dest="verb", required=True, metavar="VERB")
    records_list = records_sub.add_parser("list", help="records, newest first (viewer token)")
    statuses = [status.value for status in RecordStatus]
    records_list.add_argument(
        "--status",
        choices=statuses,
        metavar="STATUS",
        help=f"only records whose status is this, one of {', '.join(statuses)} (default: any)",
    )
    records_list.add_argument("--rule", metavar="NAME", help="only records of this rule (default: any)")
    records_list.add_argument(
        "--since",
        metavar="WHEN",
        help="only records created since then: a duration back from now (90m, 12h, 7d) or an ISO 8601 time "
        "(default: the whole retention, proposals.retention_days)",
    )
    records_list.add_argument(
        "--limit",
        type=_positive_limit,
        default=50,
        metavar="N",
        help="at most N, 1 to 500 (default: %(default)s)",
    )
    _add_format(records_list, ("text", "json"), "text", "one line per record, or the API's JSON")
    show = records_sub.add_parser("show", help="one record (viewer token)")
    show.add_argument("id", metavar="ID", help="record id, e.g. r-3f2a...")
    _add_format(show, ("md", "json"), "md", "a readable operations log, or JSON")
    records.set_defaults(func=cmd_records)

    settings = sub.add_parser("settings", help="the settings reference")
    settings_sub = settings.add_subparsers(dest="verb", required=True, metavar="VERB")
    doc = settings_sub.add_parser("doc", help="write docs/settings.md: every key, variable, type, default")
    doc.add_argument("--out", type=Path, metavar="FILE", help="write to FILE (default: standard output)")
    settings.set_defaults(func=cmd_settings)

    sandbox = sub.add_parser("sandbox", help="the simulated Kubernetes API server (tests and demo)")
    sandbox_sub = sandbox.add_subparsers(dest="verb", required=True, metavar="VERB")
    sandbox_serve = sandbox_sub.add_parser("serve", help="serve a directory of manifests as a cluster")
    sandbox_serve.add_argument("directory", type=Path, metavar="DIRECTORY", help="manifests, logs and events")
    sandbox_serve.add_argument(
        "--port",
        type=_port,
        default=0,
        metavar="PORT",
        help="port to listen on; 0 picks a free one (default: %(default)s)",
    )
    sandbox_serve.add_argument(
        "--kubeconfig-out",
        type=Path,
        metavar="FILE",
        help="write a kubeconfig for the sandbox here (default: none)",
    )
    sandbox.set_defaults(func=cmd_sandbox)

    # -- scaling (US2) --
    scaling = sub.add_parser("scaling", help="HPA recommendations (read-only)")
    scaling_sub = scaling.add_subparsers(dest="verb", required=True, metavar="VERB")
    scaling_rec = scaling_sub.add_parser(
        "recommend", help="recommend an HPA for a Deployment: capacity, cost and a replay of its history"
    )
    scaling_rec.add_argument("--namespace", required=True, metavar="NS", help="the Deployment's namespace")
    scaling_rec.add_argument("--deployment", required=True, metavar="NAME", help="the Deployment's name")
    _add_format(scaling_rec, ("json", "md"), "json", "JSON, or a readable summary")
    scaling.set_defaults(func=cmd_scaling)

    # -- right-sizing (US3) --
    rightsizing_cli.add_parser(sub).set_defaults(func=cmd_rightsize)

    # -- rollouts (US4) --
    rollouts = sub.add_parser("rollouts", help="rollout safety gates (through the HTTP API)")
    rollouts_sub = rollouts.add_subparsers(dest="verb", required=True, metavar="VERB")
    rollouts_watch = rollouts_sub.add_parser(
        "watch", help="start (or attach to) the gate of a Deployment's rollout and show its rounds (approver)"
    )
    rollouts_watch.add_argument("target", metavar="NAMESPACE/DEPLOYMENT", help="the Deployment to gate")
    rollouts_watch.add_argument(
        "--follow", action="store_true", help="print each analysis round as it comes, until the decision"
    )
    _add_format(rollouts_watch, ("text", "json"), "text", "a table, or one JSON object per round")
    rollouts_list = rollouts_sub.add_parser("list", help="gates, newest first (viewer token)")
    rollouts_list.add_argument(
        "--limit",
        type=_positive_limit,
        default=50,
        metavar="N",
        help="at most this many (default: %(default)s)",
    )
    _add_format(rollouts_list, ("text", "json"), "text", "one line per gate, or JSON")
    rollouts_show = rollouts_sub.add_parser("show", help="one gate with its rounds (viewer token)")
    rollouts_show.add_argument("id", help="the gate id (g-...)")
    _add_format(rollouts_show, ("text", "json"), "text", "the rounds as a table, or JSON")
    rollouts.set_defaults(func=cmd_rollouts)

    # -- reports (US5, US6) --
    report = sub.add_parser("report", help="build the health report or the security audit now (read-only)")
    report.add_argument("kind", choices=["health", "security"], help="which report")
    _add_format(report, ("json", "md", "html", "sarif"), "md", "json, md, html (sarif: security only)")
    report.add_argument("--out", type=Path, metavar="FILE", help="write the report here (default: stdout)")
    report.add_argument(
        "--exceptions",
        type=Path,
        metavar="FILE",
        help="security only: a YAML file of audit exceptions (default: security.exceptions_file, else none)",
    )
    report.set_defaults(func=cmd_report)

    # -- PHR compliance --
    audit = sub.add_parser("audit", help="audit the audit trail: PHR compliance of executed actions")
    audit_sub = audit.add_subparsers(dest="verb", required=True, metavar="VERB")
    comp = audit_sub.add_parser(
        "compliance",
        help="every executed action approved before it ran, dry-run, snapshotted and validated "
        "(exit 1 and a list when not)",
    )
    comp.add_argument(
        "--since", default="7d", metavar="SINCE", help="a duration (7d, 12h) or an ISO 8601 time; default 7d"
    )
    _add_format(comp, ("json", "md"), "json", "JSON, or a readable page")
    audit.set_defaults(func=cmd_audit)

    demo = sub.add_parser("demo", help="the whole loop on one machine: alert to validated fix")
    demo.add_argument(
        "--interactive", action="store_true", help="wait for a person to approve (default: the demo approves)"
    )
    demo.add_argument(
        "--keep-running", action="store_true", help="keep serving after the demo (default: stop everything)"
    )
    demo.add_argument(
        "--full", action="store_true", help="print the whole operations log (markdown), not a line per entry"
    )
    demo.set_defaults(func=cmd_demo)

    cli_help.document_environment(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SettingsError as exc:
        print(f"aiops: configuration error: {exc}", file=sys.stderr)
        return 2
    except ClientError as exc:
        print(f"aiops: {exc}", file=sys.stderr)
        return exc.exit_code
    except AiopsError as exc:
        print(f"aiops: {exc}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] != "sandbox":
            raise
        # The container image leaves the simulated cluster out: only `aiops demo` and `aiops sandbox` need it.
        print(
            f"aiops: `aiops {args.command}` needs the sandbox package, which this installation leaves out "
            "(the container image does): run it from a checkout or an install of the wheel",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
