"""Evidence figures as bar charts: grouped by unit, on one scale per chart, with readable values."""

from __future__ import annotations

from receiver.charts import charts, figure


def test_figures_are_grouped_by_unit_and_scaled_to_the_largest() -> None:
    drawn = charts(
        {
            "memory_peak_bytes": 200 * 2**20,
            "memory_limit_bytes": 256 * 2**20,
            "cpu_throttled_ratio": 0.25,
            "restarts_1h": 6.0,
            "note_only": "not enough history yet",
            "missing": None,
        }
    )
    by_title = {chart.title: chart for chart in drawn}
    assert sorted(by_title) == ["Counts", "Memory", "Ratios"]
    memory = by_title["Memory"].bars
    assert [bar.shown for bar in memory] == ["200.0Mi", "256.0Mi"]
    assert memory[1].width == 360 and memory[0].width == 281.2
    assert by_title["Ratios"].bars[0].width == 90 and by_title["Ratios"].bars[0].shown == "25.0 %"
    assert memory[1].y > memory[0].y and by_title["Memory"].height == 2 * 26 + 8


def test_a_figure_reads_with_its_unit_or_its_note() -> None:
    assert figure("memory_limit_bytes", 268435456.0) == "256.0Mi"
    assert figure("restarts_1h", None) == "none (no sample)"
    assert figure("restarts_1h", "not enough history yet") == "not enough history yet"
    assert figure("restarts_1h", 6.0) == "6"
