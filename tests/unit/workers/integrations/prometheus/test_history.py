"""The history check of PromQL range functions: which selectors it reads, the terms it sends, and the
note it gives when a range had too little history (no Prometheus here: tests/integration/evidence)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support.pod_builders import container, evidence
from workers.integrations.prometheus import history
from workers.integrations.prometheus.history import Need, RangeSelector
from workers.spine.evidence import query_entry, shown_metrics
from workers.workflows.pod_failure.classifier import classify

RESTARTS = 'kube_pod_container_status_restarts_total{namespace="shop", pod="web-1", container="app"}'
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC).timestamp()


def test_the_library_queries_are_read_per_function() -> None:
    assert history.range_selectors(f"sum(increase({RESTARTS}[1h]))") == [
        RangeSelector("increase", RESTARTS, "1h")
    ]
    peak = 'max(max_over_time(container_memory_working_set_bytes{pod="web-1"}[1h]))'
    assert [s.need for s in history.range_selectors(peak)] == [Need.one]
    assert history.checked(peak) == []  # a peak is a true observation from the first sample on
    ratio = 'sum(increase(a{pod="web-1"}[1h])) / sum(increase(b{pod="web-1"}[1h]))'
    assert [s.selector for s in history.checked(ratio)] == ['a{pod="web-1"}', 'b{pod="web-1"}']


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # brackets, braces and quotes inside label values belong to the literal
        (
            'rate(x{a="]}[5m]\\"", b=~\'[x]\'}[2m])',
            [RangeSelector("rate", 'x{a="]}[5m]\\"", b=~\'[x]\'}', "2m")],
        ),
        ('rate({__name__="x"}[5m])', [RangeSelector("rate", '{__name__="x"}', "5m")]),
        ("quantile_over_time(0.95, x[7d])", [RangeSelector("quantile_over_time", "x", "7d")]),
        ("sum by (pod) (irate(x[2m]))", [RangeSelector("irate", "x", "2m")]),
        # a subquery's range is not a selector's; the selector inside it is
        ("max_over_time(rate(x[5m])[1h:1m])", [RangeSelector("rate", "x", "5m")]),
        ("delta(x[1h] offset -5m @ start())", [RangeSelector("delta", "x", "1h", "offset -5m @ start()")]),
        (
            "increase(x[1h] @ 1764000000 offset 1h)",
            [RangeSelector("increase", "x", "1h", "@ 1764000000 offset 1h")],
        ),
        ('up{job="a"} # not x[5m]', []),
        ('up{job="unterminated', []),
    ],
)
def test_range_selectors(query: str, expected: list[RangeSelector]) -> None:
    assert history.range_selectors(query) == expected


def test_needs_by_function() -> None:
    assert RangeSelector("increase", "x", "1h").need is Need.coverage
    assert RangeSelector("deriv", "x", "1h").need is Need.two
    assert RangeSelector("avg_over_time", "x", "1h").need is Need.one
    assert RangeSelector("some_future_function", "x", "1h").need is Need.coverage
    assert history.checked("x[5m]") == []  # a bare range is no figure


def test_durations_and_windows() -> None:
    assert history.duration_seconds("1h30m") == 5400.0
    assert history.duration_seconds("1w") == 604800.0
    assert history.duration_seconds("500ms") == 0.5
    assert history.duration_seconds("1x") is None and history.duration_seconds("$__range") is None
    assert RangeSelector("rate", "x", "5m", "offset 1h").window_end(NOW) == NOW - 3600
    assert RangeSelector("rate", "x", "5m", "offset -1h").window_end(NOW) == NOW + 3600
    assert RangeSelector("rate", "x", "5m", "@ 1000 offset 10s").window_end(NOW) == 990


def test_the_history_terms_travel_with_the_query() -> None:
    selectors = history.checked(f"sum(increase({RESTARTS}[1h])) # restarts")
    assert history.combined(f"sum(increase({RESTARTS}[1h])) # restarts", selectors) == (
        f"(sum(increase({RESTARTS}[1h])) # restarts\n) or "
        f'(label_replace(min(count_over_time({RESTARTS}[1h])), "aiops_history", "samples:0", "", "")) or '
        f"(label_replace(max(min_over_time(timestamp({RESTARTS})[1h:60s])), "
        f'"aiops_history", "first:0", "", ""))'
    )
    offset = history.checked("rate(x[10s] offset 5m)")
    assert "count_over_time(x[10s] offset 5m)" in history.history_terms(offset)
    assert "timestamp(x)[10s:1s] offset 5m" in history.history_terms(offset)


def test_split_separates_the_answer() -> None:
    result = [
        {"metric": {"pod": "web-1"}, "value": [NOW, "0"]},
        {"metric": {"aiops_history": "samples:0"}, "value": [NOW, "3"]},
        {"metric": {"aiops_history": "first:0"}, "value": [NOW, str(NOW - 2)]},
    ]
    own, figures, now = history.split(result)
    assert own == result[:1]
    assert figures == {"samples:0": 3.0, "first:0": NOW - 2}
    assert now == NOW


@pytest.mark.parametrize(
    ("function", "figures", "note"),
    [
        ("increase", {}, "no samples in the 1h range"),
        (
            "increase",
            {"samples:0": 1, "first:0": NOW - 1},
            "not enough history yet: 1 sample(s) since 09:59 UTC (range 1h)",
        ),
        (
            "increase",
            {"samples:0": 40, "first:0": NOW - 600},
            "not enough history yet: 40 sample(s) since 09:50 UTC (range 1h)",
        ),
        ("increase", {"samples:0": 120, "first:0": NOW - 3700}, None),
        ("increase", {"samples:0": 120, "first:0": NOW - 3600 + 30}, None),  # within a subquery step
        ("increase", {"samples:0": 2}, "not enough history yet: 2 sample(s) since 10:00 UTC (range 1h)"),
        ("irate", {"samples:0": 2, "first:0": NOW - 10}, None),  # a slope needs two, not the whole range
        (
            "irate",
            {"samples:0": 1, "first:0": NOW - 10},
            "not enough history yet: 1 sample(s) since 09:59 UTC (range 1h)",
        ),
    ],
)
def test_assess(function: str, figures: dict[str, float], note: str | None) -> None:
    assert history.assess([RangeSelector(function, "x", "1h")], figures, NOW) == note


def test_the_worst_selector_decides() -> None:
    selectors = [RangeSelector("increase", "a", "1h"), RangeSelector("increase", "b", "1h")]
    figures = {"samples:0": 120, "first:0": NOW - 7200, "samples:1": 1, "first:1": NOW - 5}
    assert history.assess(selectors, figures, NOW) == (
        "not enough history yet: 1 sample(s) since 09:59 UTC (range 1h)"
    )


def test_the_record_shows_the_note_in_place_of_the_figure() -> None:
    ev = evidence(metrics={"restarts_1h": None, "memory_peak_bytes": 1.0})
    note = "not enough history yet: 3 sample(s) since 09:59 UTC (range 1h)"
    ev["metric_notes"] = {"restarts_1h": note}
    ev["queries"] = {"restarts_1h": "sum(increase(x[1h]))", "memory_peak_bytes": "max(x)"}
    assert shown_metrics(ev) == {"restarts_1h": note, "memory_peak_bytes": 1.0}
    assert query_entry(ev, "restarts_1h") == {
        "name": "restarts_1h",
        "query": "sum(increase(x[1h]))",
        "value": None,
        "note": note,
    }
    assert "note" not in query_entry(ev, "memory_peak_bytes")


def test_the_diagnosis_cites_the_pods_restarts_not_a_withheld_zero() -> None:
    ev = evidence(container(restarts=7), metrics={"restarts_1h": None})
    ev["metric_notes"] = {"restarts_1h": "not enough history yet: 3 sample(s) since 09:59 UTC (range 1h)"}
    diagnosis = classify(ev)
    assert "7 restarts" in diagnosis.summary
    texts = [diagnosis.summary, diagnosis.root_cause, *(c.text for c in diagnosis.citations)]
    assert not any("restarts_1h" in text or "0 restarts" in text for text in texts)
