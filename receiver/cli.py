"""The ``aiops`` command: serve, worker, cron, rules, approvals, records, sandbox and demo."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from workers.errors import AiopsError, SettingsError
from workers.settings import Settings, load_settings


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(config_file=getattr(args, "config", None))


def cmd_serve(args: argparse.Namespace) -> int:
    from receiver.runtime import configure_logging, serve

    settings = _settings(args)
    configure_logging(settings)
    serve(settings, args.host or settings.server.host, args.port or settings.server.port, args.dev)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from receiver.runtime import configure_logging, run_worker

    settings = _settings(args)
    configure_logging(settings)
    run_worker(settings, [name.strip() for name in args.queues.split(",") if name.strip()], burst=args.burst)
    return 0


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


def _context(args: argparse.Namespace) -> Any:
    from workers.context import build_context

    return build_context(_settings(args))


def _print(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def cmd_approvals(args: argparse.Namespace) -> int:
    from workers import decisions
    from workers.proposals import to_json

    context = _context(args)
    if args.verb == "list":
        for proposal in context.proposals.list(status=args.status, limit=args.limit):
            target = proposal.target
            print(
                f"{proposal.id}  {proposal.status:<10} {target.get('kind')} {target.get('namespace')}/"
                f"{target.get('name')}  {proposal.action.get('type')}  "
                f"{proposal.diagnosis.get('summary', '')}"
            )
        return 0
    if args.verb == "show":
        _print(to_json(context.proposals.get(args.id)))
        return 0
    who = f"cli:{args.identity}"
    if args.verb == "approve":
        _print(to_json(decisions.approve(context, args.id, who, args.comment)))
    else:
        _print(to_json(decisions.reject(context, args.id, who, args.reason)))
    return 0


def cmd_records(args: argparse.Namespace) -> int:
    from workers.records import render_markdown

    record = _context(args).records.get(args.id)
    if args.format == "md":
        print(render_markdown(record))
    else:
        _print(record)
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    from sandbox.server import serve

    serve(args.directory, args.port, args.kubeconfig_out)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from receiver.demo import run_demo

    return run_demo(interactive=args.interactive, keep_running=args.keep_running)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aiops", description="Kubernetes alert responder with an approval gate."
    )
    parser.add_argument("--config", help="settings YAML file (default: $AIOPS_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the receiver (gunicorn; Flask's server with --dev)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--dev", action="store_true", help="development server; allows running without tokens")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="run an RQ worker")
    worker.add_argument("--queues", default="alerts,actions,advice,reports")
    worker.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    worker.set_defaults(func=cmd_worker)

    sub.add_parser("cron", help="run the periodic-job scheduler").set_defaults(func=cmd_cron)

    watch = sub.add_parser("watch", help="watch pods and turn container failures into alerts")
    watch.add_argument(
        "--namespace",
        action="append",
        metavar="NS",
        help="watch only this namespace (repeatable; default: namespaces.allow, else every one not denied)",
    )
    watch.set_defaults(func=cmd_watch)

    rules = sub.add_parser("rules", help="lint, test or print the schema of rules")
    rules_sub = rules.add_subparsers(dest="verb", required=True)
    lint = rules_sub.add_parser("lint", help="report problems as file:line: message")
    lint.add_argument("directory", type=Path)
    test = rules_sub.add_parser("test", help="show which rules match the alerts of a payload")
    test.add_argument("directory", type=Path)
    test.add_argument("--alert", type=Path, required=True, help="Alertmanager webhook payload (JSON)")
    rules_sub.add_parser("schema", help="print the rule JSON Schema")
    rules.set_defaults(func=cmd_rules)

    approvals = sub.add_parser("approvals", help="list, show and decide proposals")
    approvals_sub = approvals.add_subparsers(dest="verb", required=True)
    listing = approvals_sub.add_parser("list")
    listing.add_argument("--status")
    listing.add_argument("--limit", type=int, default=50)
    approvals_sub.add_parser("show").add_argument("id")
    approve = approvals_sub.add_parser("approve")
    approve.add_argument("id")
    approve.add_argument("--comment")
    reject = approvals_sub.add_parser("reject")
    reject.add_argument("id")
    reject.add_argument("--reason", required=True)
    for verb in (approve, reject):
        verb.add_argument("--identity", default=_local_user(), help="who decides (recorded as cli:NAME)")
    approvals.set_defaults(func=cmd_approvals)

    records = sub.add_parser("records", help="show audit records")
    records_sub = records.add_subparsers(dest="verb", required=True)
    show = records_sub.add_parser("show")
    show.add_argument("id")
    show.add_argument("--format", choices=["md", "json"], default="md")
    records.set_defaults(func=cmd_records)

    sandbox = sub.add_parser("sandbox", help="the simulated Kubernetes API server (tests and demo)")
    sandbox_sub = sandbox.add_subparsers(dest="verb", required=True)
    sandbox_serve = sandbox_sub.add_parser("serve")
    sandbox_serve.add_argument("directory", type=Path)
    sandbox_serve.add_argument("--port", type=int, default=0)
    sandbox_serve.add_argument("--kubeconfig-out", type=Path)
    sandbox.set_defaults(func=cmd_sandbox)

    demo = sub.add_parser("demo", help="the whole loop on one machine: alert to validated fix")
    demo.add_argument("--interactive", action="store_true", help="wait for a person to approve")
    demo.add_argument("--keep-running", action="store_true", help="keep serving after the demo")
    demo.set_defaults(func=cmd_demo)
    return parser


def _local_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SettingsError as exc:
        print(f"aiops: configuration error: {exc}", file=sys.stderr)
        return 2
    except AiopsError as exc:
        print(f"aiops: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
