"""``aiops scaling recommend``: the scaling engine, read-only, from the command line."""

from __future__ import annotations

import argparse
import json
import time

from workers.errors import NotFound
from workers.integrations.kubernetes.client import Kube, api_client_from_settings
from workers.integrations.prometheus.client import prometheus_client
from workers.settings import Settings
from workers.workflows.scaling import analysis, evidence, summary


def recommend(settings: Settings, namespace: str, deployment: str) -> dict[str, object]:
    """The recommendation for one Deployment; raises ``NotFound`` when it does not exist."""
    kube = Kube(api_client_from_settings(settings.kubernetes), settings.kubernetes.timeout_s)
    prometheus = prometheus_client(settings.prometheus)
    try:
        found = evidence.gather(
            kube, prometheus, namespace, deployment, settings.scaling.history_days, time.time()
        )
    except NotFound as exc:
        raise NotFound(f"deployment {namespace}/{deployment} not found: {exc}") from exc
    return analysis.analyse(found, settings.scaling)


def run(settings: Settings, args: argparse.Namespace) -> int:
    result = recommend(settings, args.namespace, args.deployment)
    if args.format == "md":
        print(summary.markdown(result), end="")
    else:
        print(json.dumps(result, indent=2, default=str))
    return 0
