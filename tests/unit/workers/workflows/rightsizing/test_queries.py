"""One query per figure per namespace, label values escaped, start-up left out of the percentiles."""

from __future__ import annotations

from workers.workflows.rightsizing import queries

WINDOW = queries.Window(days=7, step_s=300, rate_window="5m", startup_s=300, holdout_days=1)


def test_one_query_per_figure_for_the_whole_namespace() -> None:
    sent = queries.figure_queries("shop", WINDOW)
    assert len(sent) == 20
    assert all('namespace="shop"' in q for q in sent.values())
    assert all("pod=" not in q for q in sent.values()), "never one query per pod"
    assert sent["cpu_p95"] == (
        "max by (namespace, pod, container) (quantile_over_time(0.95, "
        '(rate(container_cpu_usage_seconds_total{namespace="shop", container!="", container!="POD"}[5m])'
        ' unless on (namespace, pod, container) (time() - kube_pod_container_state_started{namespace="shop"}'
        " < 300))[168h:300s]))"
    )


def test_maxima_keep_start_up_and_memory_reads_raw_samples() -> None:
    sent = queries.figure_queries("shop", WINDOW)
    assert "kube_pod_container_state_started" not in sent["memory_max"]
    assert sent["memory_max"].endswith('container!="POD"}[168h]))')
    assert sent["fit_memory_max"].endswith("[144h] offset 24h))")
    assert sent["fit_cpu_p95"].endswith("[144h:300s] offset 24h))")
    assert sent["check_cpu_max"].endswith("[24h:300s]))")


def test_hostile_namespace_cannot_change_the_query() -> None:
    sent = queries.figure_queries('x"} or vector(1) #', WINDOW)
    assert all('namespace="x\\"} or vector(1) #"' in q for q in sent.values())


def test_no_start_up_exclusion_when_it_is_zero() -> None:
    window = queries.Window(days=7, step_s=300, rate_window="5m", startup_s=0, holdout_days=1)
    assert "unless" not in queries.figure_queries("shop", window)["memory_p95"]
