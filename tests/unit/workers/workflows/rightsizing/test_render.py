"""The report as markdown and CSV."""

from __future__ import annotations

import csv
import io

from tests.support.rightsizing import analyse as run
from tests.support.rightsizing import workload
from workers.workflows.rightsizing import render


def test_markdown_shows_the_arithmetic_backtest_and_guards() -> None:
    rows = render.containers([run(workload(restarts=1.0))])
    text = render.markdown(rows)
    assert text.startswith("# Right-sizing report\n")
    assert "| Deployment/shop/api | app | ok | 500m → 195m |" in text
    assert "- cpu_request: p95 150.0m × (1 + 0.30) = 195.0m → 195m" in text
    assert "Backtest: OOM False, throttled False" in text
    assert "- stability: 1 restart(s) and 0 OOM kill(s)" in text
    assert render.markdown([]) == "# Right-sizing report\n\nNo workloads found.\n"


def test_csv_has_one_row_per_container() -> None:
    rows = render.containers([run(workload())])
    (row,) = list(csv.DictReader(io.StringIO(render.to_csv(rows))))
    assert row["recommended.cpu_request"] == "195m" and row["status"] == "ok" and row["hpa.name"] == ""
