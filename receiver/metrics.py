"""/metrics: Redis-backed counters (shared by every replica and worker) plus this process's latency.

Counters and proposal states are read from Redis at scrape time, so totals agree whichever replica is
scraped; the webhook latency histogram is per process, as latency is.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import redis
from flask import Blueprint, Flask, Response, current_app
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from workers.spine import counters, inbox, queues
from workers.spine.context import Context

log = logging.getLogger(__name__)
blueprint = Blueprint("metrics", __name__)

COUNTER_HELP = {
    "alerts_received_total": "Alerts received on the webhook.",
    "alerts_duplicate_total": "Alerts dropped as duplicates within the dedup window.",
    "alerts_unmatched_total": "Alerts no rule matched.",
    "alerts_truncated_total": "Alerts Alertmanager left out of notifications (truncatedAlerts).",
    "jobs_enqueued_total": "Jobs put on a queue by the receiver.",
    "jobs_refused_total": "Jobs a worker refused to run (not the responder's own), by queue.",
    "proposals_created_total": "Proposals parked, by proposed action.",
    "action_outcomes_total": "Executed actions, by action and outcome.",
    "validations_total": "Finished validations, by outcome.",
    "investigations_skipped_total": "Investigations skipped, by reason.",
    "rules_reload_failures_total": "Rule reloads that failed (the last good set stayed active).",
    "watch_alerts_total": "Alerts the watch source (aiops watch) handed to intake, by alert name and status.",
    "watch_relists_total": "Full pod lists the watch source made again after 410 Gone.",
    "watch_errors_total": "Failed pod lists or watches of the watch source, each followed by a backoff.",
}


# Exported as 0 before the first increment, so that increase() sees the first occurrence.
ZERO_FROM_START = ("alerts_truncated_total",)


class StoreCollector(Collector):
    """Yields the Redis counters, proposals by state, queue depths and the rule-set state."""

    def __init__(self, context: Context) -> None:
        self.context = context

    def collect(self) -> Iterator[Any]:
        registry = self.context.rules
        rules_ok = GaugeMetricFamily("aiops_rules_last_reload_ok", "1 when the last rule reload succeeded.")
        rules_ok.add_metric([], 0.0 if registry.error else 1.0)
        yield rules_ok
        loaded = GaugeMetricFamily("aiops_rules_loaded", "Rules in the active rule set.")
        loaded.add_metric([], float(len(registry.current)))
        yield loaded
        try:
            totals = counters.read_all(self.context.redis)
            for name in ZERO_FROM_START:
                totals.setdefault((name, ()), 0)
            states = self.context.proposals.count_by_status()
            depths = {name: self.context.redis.llen(f"rq:queue:{name}") for name in queues.ALL}
            backlog, rejected = inbox.backlog(self.context.redis), self.context.redis.llen(inbox.REJECTED)
        except redis.RedisError as exc:
            log.warning("metrics: redis unavailable: %s", exc)
            up = GaugeMetricFamily("aiops_store_up", "1 when Redis answered this scrape.")
            up.add_metric([], 0.0)
            yield up
            return
        up = GaugeMetricFamily("aiops_store_up", "1 when Redis answered this scrape.")
        up.add_metric([], 1.0)
        yield up
        families: dict[str, CounterMetricFamily] = {}
        for (name, labels), value in sorted(totals.items()):
            label_names = [key for key, _ in labels]
            family = families.get(name)
            if family is None:
                family = CounterMetricFamily(
                    f"aiops_{name.removesuffix('_total')}", COUNTER_HELP.get(name, name), labels=label_names
                )
                families[name] = family
            family.add_metric([v for _, v in labels], float(value))
        yield from families.values()
        by_state = GaugeMetricFamily("aiops_proposals", "Proposals by state.", labels=["state"])
        for state, count in states.items():
            by_state.add_metric([state], float(count))
        yield by_state
        depth = GaugeMetricFamily("aiops_queue_depth", "Jobs waiting per queue.", labels=["queue"])
        for name, count in depths.items():
            depth.add_metric([name], float(count))
        yield depth
        waiting = GaugeMetricFamily(
            "aiops_intake_backlog", "Webhook payloads waiting for a drain job (alerts.intake: deferred)."
        )
        waiting.add_metric([], float(backlog))
        yield waiting
        kept = GaugeMetricFamily(
            "aiops_intake_rejected", f"Intake entries a drain job could not read ({inbox.REJECTED})."
        )
        kept.add_metric([], float(rejected))
        yield kept
        try:
            usage = counters.store_usage(self.context.redis)
        except redis.RedisError as exc:  # e.g. a Redis user not allowed INFO or MEMORY: the rest still counts
            log.warning("metrics: no store usage: %s", exc)
        else:
            yield from _usage_families(usage)


def _usage_families(usage: counters.StoreUsage) -> Iterator[GaugeMetricFamily]:
    """Redis memory and the audit records' share of it (records are measured at most once a minute)."""
    for name, help_text, value in (
        ("aiops_redis_used_memory_bytes", "Memory Redis uses (INFO used_memory).", usage.used_memory_bytes),
        ("aiops_redis_maxmemory_bytes", "Redis maxmemory; 0 when unlimited.", usage.maxmemory_bytes),
        ("aiops_records", "Audit records kept in Redis.", usage.records),
        ("aiops_records_bytes", "Redis memory the audit records use (MEMORY USAGE).", usage.record_bytes),
    ):
        family = GaugeMetricFamily(name, help_text)
        family.add_metric([], float(value))
        yield family


def install(app: Flask, context: Context) -> None:
    registry = CollectorRegistry()
    registry.register(StoreCollector(context))
    app.extensions["aiops.metrics"] = registry
    app.extensions["aiops.webhook_latency"] = Histogram(
        "aiops_webhook_latency_seconds",
        "Time to answer a webhook request.",
        registry=registry,
        buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
    )
    app.register_blueprint(blueprint)


def webhook_latency() -> Histogram:
    latency: Histogram = current_app.extensions["aiops.webhook_latency"]  # set by install()
    return latency


@blueprint.get("/metrics")
def metrics() -> Response:
    return Response(generate_latest(current_app.extensions["aiops.metrics"]), mimetype=CONTENT_TYPE_LATEST)
