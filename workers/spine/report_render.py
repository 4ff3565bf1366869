"""Any stored ``Report`` as markdown or as one self-contained HTML page (the health report, the audit).

The HTML has no external assets and no script: inline CSS and inline SVG charts, every value escaped.
It puts first what a person needs at a glance: the score, the counts per severity, what could not be
read, the critical and high findings, then the recommendations, the week-over-week changes, the charts
and each section; last, the findings an exception covers (``Report.excepted``), listed apart with the
exception's reason and expiry and never counted. A section draws charts from ``summary["charts"]``: a list of
``{"title", "unit", "series": [names], "bars": [{"label", "values": [one per series]}], "max"?}``.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from workers.domain import Finding, Report, Section, Severity

TOP_FINDINGS = 25
"""Critical and high findings listed at the top of a page."""
SECTION_ROWS = 200
"""Findings shown per section; the rest are counted."""
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
"""The Content-Security-Policy the page is served with: nothing but its own inline styles."""

_COLOURS = ("#1a73e8", "#e37400", "#9334e6", "#188038")
_SEVERITY_COLOURS = {
    Severity.critical: "#a50e0e",
    Severity.high: "#d93025",
    Severity.medium: "#e37400",
    Severity.low: "#1a73e8",
    Severity.info: "#5f6368",
}
TITLES = {"health": "Cluster health report", "security": "Security posture audit"}


def _title(report: Report) -> str:
    return TITLES.get(report.kind, f"{report.kind} report")


def counts(report: Report) -> dict[str, int]:
    found = {severity.value: 0 for severity in Severity}
    for finding in report.findings():
        found[finding.severity.value] += 1
    return found


def _figure(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict | list):
        return json.dumps(value, default=str, separators=(", ", ": "))
    return "" if value is None else str(value)


def _where(finding: Finding) -> str:
    parts = [
        finding.kind or "",
        f"{finding.namespace}/" if finding.namespace else "",
        finding.name or "",
    ]
    return f"{parts[0]} {parts[1]}{parts[2]}".strip()


# --- markdown -----------------------------------------------------------------------------------------


def _md(text: Any) -> str:
    """A table cell: pipes escaped, newlines flattened."""
    return _figure(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report) -> str:
    lines = [
        f"# {_title(report)} {report.id}",
        "",
        f"Period {report.period_start} to {report.period_end}; generated {report.generated_at}.",
        "",
        f"**Score {_figure(report.score) or 'n/a'} ({report.grade or '-'})** — "
        + ", ".join(f"{count} {name}" for name, count in counts(report).items()),
        "",
    ]
    for note in report.notes:
        lines.append(f"> **Note:** {note}")
    if report.notes:
        lines.append("")
    top = [f for f in report.findings() if f.severity in (Severity.critical, Severity.high)][:TOP_FINDINGS]
    if top:
        lines += ["## Critical and high findings", "", *_md_findings(top), ""]
    if report.recommendations:
        lines += [
            "## Recommendations",
            "",
            *[f"1. {_md(line)}" for line in report.recommendations],
            "",
        ]
    if report.changes:
        lines += ["## Since the previous report", "", *_md_changes(report.changes), ""]
    for section in report.sections:
        lines += _md_section(section)
    if report.excepted:
        lines += [f"## Excepted ({len(report.excepted)})", "", _EXCEPTED_NOTE, ""]
        lines += ["| check | object | severity | reason | expires |", "|---|---|---|---|---|"]
        for f in report.excepted[:SECTION_ROWS]:
            reason, expires = _exception(f)
            lines.append(
                f"| {_md(f.check)} | {_md(_where(f))} | {f.severity.value} | {_md(reason)} | {_md(expires)} |"
            )
        if len(report.excepted) > SECTION_ROWS:
            lines.append(f"\n… and {len(report.excepted) - SECTION_ROWS} more (json format has them all)")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


_EXCEPTED_NOTE = (
    "Findings an accepted exception covers, until it expires: not counted in the score or the counts."
)


def _exception(finding: Finding) -> tuple[str, str]:
    """(reason, expiry) of the exception that covers ``finding`` (``evidence.exception``)."""
    rule = finding.evidence.get("exception")
    if not isinstance(rule, dict):
        return "excepted (reason not recorded)", ""
    return str(rule.get("reason") or "excepted (reason not recorded)"), str(rule.get("expires") or "")


def _md_findings(findings: list[Finding]) -> list[str]:
    rows = ["| severity | check | object | finding | recommendation |", "|---|---|---|---|---|"]
    for f in findings:
        rows.append(
            f"| {f.severity.value} | {_md(f.check)} | {_md(_where(f))} | {_md(f.message)} | "
            f"{_md(f.remediation)} |"
        )
    return rows


def _md_changes(changes: dict[str, Any]) -> list[str]:
    if not changes.get("previous_id"):
        return [_md(changes.get("note") or "no previous report")]
    lines = [f"Compared with {changes['previous_id']}."]
    score = changes.get("score") or {}
    lines.append(f"- score: {_figure(score.get('before'))} → {_figure(score.get('after'))}")
    new, resolved = changes.get("new_findings") or [], changes.get("resolved_findings") or []
    lines.append(f"- {len(new)} new, {len(resolved)} resolved, {changes.get('still_open', 0)} still open")
    for item in new[:TOP_FINDINGS]:
        lines.append(f"  - new {item['severity']}: {_md(item['message'])}")
    for item in resolved[:TOP_FINDINGS]:
        lines.append(f"  - resolved: {_md(item['message'])}")
    for group in ("services", "capacity"):
        for name, moved in (changes.get(group) or {}).items():
            if group == "services":
                text = ", ".join(
                    f"{k} {_figure(v['before'])} → {_figure(v['after'])}" for k, v in moved.items()
                )
                lines.append(f"- {_md(name)}: {text}")
            else:
                lines.append(f"- cluster {name}: {_figure(moved['before'])} → {_figure(moved['after'])}")
    return lines


def _md_section(section: Section) -> list[str]:
    score = f" — score {_figure(section.score)}" if section.score is not None else ""
    lines = [f"## {section.title}{score}", ""]
    if section.unavailable:
        lines += [f"> **Unavailable:** {section.unavailable}", ""]
    figures = {k: v for k, v in section.summary.items() if k != "charts"}
    if figures:
        lines += ["| figure | value |", "|---|---|"]
        lines += [f"| {_md(k)} | {_md(_short(v))} |" for k, v in figures.items()]
        lines.append("")
    if section.findings:
        shown = section.findings[:SECTION_ROWS]
        lines += _md_findings(shown)
        if len(section.findings) > len(shown):
            lines.append(
                f"\n… and {len(section.findings) - len(shown)} more findings (json format has them all)"
            )
        lines.append("")
    elif section.score is not None:
        lines += ["No findings.", ""]
    return lines


def _short(value: Any, limit: int = 400) -> str:
    text = _figure(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- html ---------------------------------------------------------------------------------------------

_STYLE = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;color:#202124;background:#fff}
main{max-width:72rem;margin:0 auto;padding:1rem 1.5rem}
h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.1rem;margin:1.4rem 0 .4rem;border-bottom:1px solid #dadce0}
.head{display:flex;gap:1.5rem;align-items:center;flex-wrap:wrap}
.score{font-size:2rem;font-weight:700;padding:.2rem .8rem;border-radius:.4rem;color:#fff}
.A,.B{background:#188038}.C{background:#e37400}.D,.F{background:#d93025}.none{background:#5f6368}
.pill{display:inline-block;padding:0 .5rem;border-radius:1rem;color:#fff;font-size:.8rem;font-weight:600}
.note{background:#fef7e0;border:1px solid #e37400;padding:.4rem .6rem;margin:.3rem 0;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;margin:.3rem 0}
td,th{border-bottom:1px solid #e8eaed;padding:.25rem .4rem;
text-align:left;vertical-align:top}th{background:#f1f3f4}
.charts{display:flex;flex-wrap:wrap;gap:1rem}.chart{border:1px solid #e8eaed;padding:.4rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem}dt{color:#5f6368}
dd{margin:0;word-break:break-word}
"""


def render_html(report: Report) -> str:
    found = counts(report)
    grade = report.grade or "none"
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        f"<title>{escape(_title(report))} "
        f"{escape(report.id)}</title><style>{_STYLE}</style></head><body><main>",
        '<section id="summary"><div class="head">',
        f'<div class="score {escape(grade)}" id="score">{escape(_figure(report.score) or "n/a")}'
        f" {escape(report.grade or '')}</div>",
        f"<div><h1>{escape(_title(report))}</h1><div>{escape(report.period_start)} → "
        f"{escape(report.period_end)}"
        f" · generated {escape(report.generated_at)} · {escape(report.id)}</div><div>",
        " ".join(
            f'<span class="pill" style="background:{_SEVERITY_COLOURS[Severity(name)]}">{count} '
            f"{escape(name)}</span>"
            for name, count in found.items()
        ),
        "</div></div></div>",
    ]
    parts += [f'<div class="note">{escape(note)}</div>' for note in report.notes]
    parts.append("</section>")
    top = [f for f in report.findings() if f.severity in (Severity.critical, Severity.high)][:TOP_FINDINGS]
    parts.append('<section id="critical"><h2>Critical and high findings</h2>')
    parts.append(_html_findings(top) if top else "<p>None.</p>")
    parts.append("</section>")
    if report.recommendations:
        parts.append('<section id="recommendations"><h2>Recommendations</h2><ol>')
        parts += [f"<li>{escape(line)}</li>" for line in report.recommendations]
        parts.append("</ol></section>")
    if report.changes:
        parts.append('<section id="changes"><h2>Since the previous report</h2><ul>')
        parts += [f"<li>{escape(line.lstrip('- '))}</li>" for line in _md_changes(report.changes)]
        parts.append("</ul></section>")
    charts = [chart for section in report.sections for chart in section.summary.get("charts") or []]
    if charts:
        parts.append('<section id="charts"><h2>Charts</h2><div class="charts">')
        parts += [f'<div class="chart">{bar_chart(chart)}</div>' for chart in charts]
        parts.append("</div></section>")
    for section in report.sections:
        parts.append(_html_section(section))
    if report.excepted:
        parts.append(_html_excepted(report.excepted))
    parts.append("</main></body></html>")
    return "".join(parts)


def _pill(severity: Severity) -> str:
    colour = _SEVERITY_COLOURS[severity]
    return f'<span class="pill" style="background:{colour}">{escape(severity.value)}</span>'


def _html_findings(findings: list[Finding]) -> str:
    rows = "".join(
        '<tr class="finding '
        f'{escape(f.severity.value)}"><td>{_pill(f.severity)}</td><td>{escape(_where(f))}</td>'
        f"<td>{escape(f.message)}</td><td>{escape(f.remediation)}</td></tr>"
        for f in findings
    )
    return (
        f"<table><thead><tr><th>severity</th><th>object</th><th>finding</th><th>recommendation</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _html_section(section: Section) -> str:
    score = f" — score {escape(_figure(section.score))}" if section.score is not None else ""
    parts = [f'<section id="section-{escape(section.id)}"><h2>{escape(section.title)}{score}</h2>']
    if section.unavailable:
        parts.append(f'<div class="note">Unavailable: {escape(section.unavailable)}</div>')
    figures = {k: v for k, v in section.summary.items() if k != "charts"}
    if figures:
        parts.append(
            "<dl>"
            + "".join(f"<dt>{escape(k)}</dt><dd>{escape(_short(v))}</dd>" for k, v in figures.items())
            + "</dl>"
        )
    if section.findings:
        shown = section.findings[:SECTION_ROWS]
        parts.append(_html_findings(shown))
        if len(section.findings) > len(shown):
            parts.append(f"<p>… and {len(section.findings) - len(shown)} more (json format has them all)</p>")
    parts.append("</section>")
    return "".join(parts)


def _html_excepted(excepted: list[Finding]) -> str:
    shown = excepted[:SECTION_ROWS]
    rows = "".join(
        f'<tr class="excepted"><td>{escape(f.check)}</td><td>{escape(_where(f))}</td>'
        f"<td>{_pill(f.severity)}</td><td>{escape(reason)}</td><td>{escape(expires)}</td></tr>"
        for f in shown
        for reason, expires in [_exception(f)]
    )
    more = (
        f"<p>… and {len(excepted) - len(shown)} more (json format has them all)</p>"
        if len(excepted) > len(shown)
        else ""
    )
    return (
        f'<section id="excepted"><h2>Excepted ({len(excepted)})</h2><p>{escape(_EXCEPTED_NOTE)}</p>'
        "<table><thead><tr><th>check</th><th>object</th><th>severity</th><th>reason</th><th>expires</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>{more}</section>"
    )


def bar_chart(chart: dict[str, Any], width: int = 520) -> str:
    """A horizontal grouped bar chart as inline SVG: one group per bar, one bar per series."""
    bars = chart.get("bars") or []
    series = chart.get("series") or [""]
    unit = str(chart.get("unit") or "")
    values = [float(v or 0.0) for bar in bars for v in bar.get("values") or []]
    top = float(chart.get("max") or 0.0) or max(values, default=0.0) or 1.0
    label_w, value_w, bar_h, gap = 180, 70, 9, 6
    group_h = bar_h * len(series) + gap
    legend_h = 18
    height = 22 + legend_h + max(1, len(bars)) * group_h
    plot_w = width - label_w - value_w
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(str(chart.get("title") or ""))}">',
        f'<text x="0" y="14" font-size="13" font-weight="600">{escape(str(chart.get("title") or ""))}</text>',
    ]
    for index, name in enumerate(series):
        x = label_w + index * 90
        colour = _COLOURS[index % len(_COLOURS)]
        out.append(
            f'<rect x="{x}" y="24" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="33" font-size="11">{escape(str(name))}</text>'
        )
    if not bars:
        out.append(f'<text x="0" y="{22 + legend_h + 12}" font-size="12">no data</text>')
    for row, bar in enumerate(bars):
        y0 = 22 + legend_h + row * group_h
        label = str(bar.get("label") or "")
        shown = label if len(label) <= 28 else label[:27] + "…"
        out.append(
            f'<text x="0" y="{y0 + bar_h * len(series) / 2 + 4:.1f}" font-size="11">'
            f"<title>{escape(label)}</title>{escape(shown)}</text>"
        )
        for index, value in enumerate(bar.get("values") or []):
            number = float(value or 0.0)
            w = max(0.0, min(1.0, number / top)) * plot_w
            y = y0 + index * bar_h
            colour = _COLOURS[index % len(_COLOURS)]
            out.append(
                f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h - 1}" fill="{colour}"/>'
                f'<text x="{label_w + w + 3:.1f}" y="{y + bar_h - 1}" '
                f'font-size="9">{number:g}{escape(unit)}</text>'
            )
    out.append("</svg>")
    return "".join(out)


def as_json(report: Report) -> dict[str, Any]:
    """The stored report plus, for scripts, every finding in one list (worst first, with its section) and
    the counts per severity: ``findings`` and ``counts`` at the top level."""
    sections = {id(finding): section.id for section in report.sections for finding in section.findings}
    data: dict[str, Any] = report.model_dump(mode="json")
    data["counts"] = counts(report)
    data["findings"] = [
        {**finding.model_dump(mode="json"), "section": sections.get(id(finding))}
        for finding in report.findings()
    ]
    return data


def render(report: Report, fmt: str) -> str:
    """``report`` as ``json``, ``md`` or ``html``; ``ValueError`` for another format."""
    if fmt == "json":
        return json.dumps(as_json(report), indent=2, default=str) + "\n"
    if fmt == "md":
        return render_markdown(report)
    if fmt == "html":
        return render_html(report)
    raise ValueError(f"format: must be json, md or html, not {fmt!r}")
