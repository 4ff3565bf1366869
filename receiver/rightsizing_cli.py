"""``aiops rightsize``: the right-sizing report, read-only, from the command line (JSON, md or CSV).

Without ``--namespace`` every namespace actions may touch (``namespaces`` settings) is analysed, one
namespace's queries at a time.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from workers.errors import NotFound
from workers.settings import Settings
from workers.workflows.rightsizing.model import WORKLOAD_KINDS

if TYPE_CHECKING:
    from workers.integrations.kubernetes.client import Kube

KIND_ALIASES = {
    **{kind.lower(): kind for kind in WORKLOAD_KINDS},
    "deploy": "Deployment",
    "sts": "StatefulSet",
    "ds": "DaemonSet",
}


def workload_arg(text: str) -> tuple[str, str]:
    """``KIND/NAME`` (``Deployment/api``, ``sts/db``) → (kind, name)."""
    kind, sep, name = text.partition("/")
    if not sep or not name or "/" in name:
        raise argparse.ArgumentTypeError(f"not KIND/NAME: {text!r}")
    canonical = KIND_ALIASES.get(kind.lower())
    if canonical is None:
        raise argparse.ArgumentTypeError(f"kind must be one of {', '.join(WORKLOAD_KINDS)}, not {kind!r}")
    return canonical, name


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "rightsize", help="recommend requests and limits from 7+ days of usage (read-only report)"
    )
    parser.add_argument("--namespace", metavar="NS", help="one namespace (default: every permitted one)")
    parser.add_argument(
        "--workload",
        type=workload_arg,
        metavar="KIND/NAME",
        help="one Deployment, StatefulSet or DaemonSet (default: every workload of the namespaces)",
    )
    parser.add_argument(
        "--format",
        choices=["json", "md", "csv"],
        default="json",
        help="json, md or csv (default: %(default)s)",
    )
    return parser


def namespaces(kube: Kube, settings: Settings) -> list[str]:
    from workers.integrations.kubernetes.client import list_paged

    names = [str((ns.get("metadata") or {}).get("name")) for ns in list_paged(kube, "Namespace")]
    return sorted(ns for ns in names if settings.namespaces.permits(ns))


def run(settings: Settings, args: argparse.Namespace) -> int:
    # The Kubernetes and Prometheus clients load only for this verb (the CLI starts fast).
    from workers.integrations.kubernetes.client import Kube, api_client_from_settings
    from workers.integrations.prometheus.client import prometheus_client
    from workers.workflows.rightsizing import render, workflow

    kube = Kube(api_client_from_settings(settings.kubernetes), settings.kubernetes.timeout_s)
    prometheus = prometheus_client(settings.prometheus)
    if args.workload and not args.namespace:
        raise NotFound("--workload needs --namespace")
    results = []
    for namespace in [args.namespace] if args.namespace else namespaces(kube, settings):
        found, _ = workflow.report(kube, prometheus, settings, namespace, args.workload)
        results.extend(found)
    rows = render.containers(results)
    if args.format == "md":
        print(render.markdown(rows), end="")
    elif args.format == "csv":
        print(render.to_csv(rows), end="")
    else:
        print(json.dumps(rows, indent=2, default=str))
    return 0
