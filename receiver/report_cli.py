"""``aiops report health|security``: build one report now, read-only, and print or write it.

The cluster is read through ``KUBECONFIG`` (its current context) or the in-cluster service account, and
Prometheus through ``PROMETHEUS_URL``; nothing is stored and no Redis is needed, so the report has no
week-over-week comparison (the scheduled run, ``aiops cron``, stores and compares). ``json``, ``md`` and
``html`` are rendered by ``workers.spine.report_render``; any other format (``sarif``) by the report
workflow's own ``render(report, fmt)``, when it has one.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from workers.errors import AiopsError, SettingsError
from workers.settings import Settings
from workers.spine.registry import Registry
from workers.spine.report_render import render
from workers.spine.workflow import ReportInputs

KINDS = ("health", "security")
FORMATS = ("json", "md", "html", "sarif")


class ReportUnavailable(AiopsError):
    """The report kind, or one of its options, is not available in this installation."""


def build_inputs(settings: Settings, options: dict[str, Any]) -> ReportInputs:
    from workers.clock import utc_now
    from workers.integrations.kubernetes.client import Kube, api_client_from_settings
    from workers.integrations.prometheus.client import prometheus_client

    kube = Kube(api_client_from_settings(settings.kubernetes), settings.kubernetes.timeout_s)
    return ReportInputs(
        settings=settings,
        kube=kube,
        prometheus=prometheus_client(settings.prometheus),
        now=utc_now(),
        options=options,
    )


def run(settings: Settings, args: argparse.Namespace, registry: Registry | None = None) -> int:
    """Build, render and print (or write) the ``args.kind`` report; ``registry``: the product's by default."""
    from workers.spine.registry import default_registry

    registry = registry or default_registry()
    try:
        workflow = registry.report(args.kind)
    except KeyError:
        raise ReportUnavailable(
            f"the {args.kind} report is not available in this version "
            f"(available: {', '.join(sorted(registry.reports)) or 'none'})"
        ) from None
    options: dict[str, Any] = {}
    if args.exceptions is not None:
        if args.kind != "security":
            raise SettingsError("--exceptions: only `aiops report security` takes an exceptions file")
        options["exceptions_file"] = args.exceptions
    own_render = getattr(workflow, "render", None)
    if args.format not in ("json", "md", "html") and own_render is None:
        raise SettingsError(f"--format {args.format}: the {args.kind} report is json, md or html")
    report = workflow.build(build_inputs(settings, options), None)
    text = (
        render(report, args.format)
        if own_render is None or args.format in ("json", "md", "html")
        else own_render(report, args.format)
    )
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
        print(
            f"aiops: wrote the {args.kind} report {report.id} ({args.format}) to {args.out}",
            file=sys.stderr,
        )
    return 0
