"""The HTML report in a real headless Chromium (Debian's chromium and chromium-driver, from
scripts/setup): the page is not blank, has no external requests, and its critical findings are on
screen without scrolling. The screenshot is written under the test's tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import CHROMIUM, DRIVER, MISSING, start_browser, stop_browser
from tests.support.png import colour_stats
from tests.support.reports import Env
from workers.spine.report_render import render_html
from workers.spine.reports import run_report

pytestmark = pytest.mark.skipif(CHROMIUM is None or DRIVER is None, reason=MISSING)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    started = start_browser("", tmp_path / "profile")  # stopped by pid, as every page test's browser
    try:
        yield started.driver
    finally:
        stop_browser(started)


def test_html_report_renders_with_critical_findings_above_the_fold(
    env: Env, browser: Any, tmp_path: Path
) -> None:
    report = run_report(env.context, "health")
    criticals = [f for f in report.findings() if f.severity.value == "critical"]
    assert criticals, "the generated cluster has critical findings"
    page = tmp_path / f"{report.id}.html"
    page.write_text(render_html(report), encoding="utf-8")

    browser.get(page.as_uri())
    shot = tmp_path / "artifacts" / f"{report.id}.png"
    shot.parent.mkdir()
    assert browser.save_screenshot(str(shot))
    print(f"screenshot: {shot}")

    colours, ink = colour_stats(shot.read_bytes())
    assert colours > 20 and ink > 0.02, f"the screenshot looks blank ({colours} colours, {ink:.1%} ink)"
    visible = browser.execute_script(
        """const height = window.innerHeight;
        return [window.scrollY, height, Array.from(document.querySelectorAll('#critical tr.finding.critical'))
          .map((row) => {
            const box = row.getBoundingClientRect();
            return [box.top >= 0 && box.bottom <= height && box.height > 0, row.innerText];
          })];"""
    )
    scroll_y, _height, rows = visible
    assert scroll_y == 0 and len(rows) == len(criticals)
    assert all(on_screen for on_screen, _text in rows), [text for on_screen, text in rows if not on_screen]
    assert all("critical" in text for _on, text in rows)
    # Self-contained: the only resource the browser loaded is the page itself.
    loaded = browser.execute_script("return performance.getEntriesByType('resource').map((e) => e.name);")
    assert loaded == []
    assert browser.find_element("css selector", "#charts svg").is_displayed()
