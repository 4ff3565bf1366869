"""The US1 corpus: every pod-failure scenario's evidence through the classifier and the proposal, as a
confusion matrix (expected category by row, diagnosed category by column), the action agreement and the
confidence calibration.

    .venv/bin/python bench/corpus_matrix.py [--scenarios DIR] [--only PREFIX] [--misses] [--calibration]
                                            [--format md|json]

The evidence is built straight from each scenario folder's files (tests/support/scenario_evidence.py,
the same facts the sandbox serves), so the run takes seconds and needs no server; ``--calibration`` adds
the degraded-evidence variants of tests/support/corpus.py and the accuracy per confidence band.
docs/diagnosis.md holds its output; tests/unit/workers/workflows/pod_failure/test_corpus.py asserts the
same figures.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.corpus import Row, reliability, run, summary
from tests.support.scenario_evidence import SCENARIOS_DIR


def matrix_markdown(rows: list[Row]) -> str:
    """The confusion matrix as a markdown table (only categories that occur)."""
    cells = Counter((row.expected, row.diagnosed) for row in rows)
    expected = sorted({row.expected for row in rows})
    columns = sorted({row.diagnosed for row in rows} | set(expected))
    short = {name: name.replace("_", " ") for name in columns}
    lines = [
        "| expected \\ diagnosed | " + " | ".join(short[c] for c in columns) + " | right |",
        "|---|" + "---:|" * (len(columns) + 1),
    ]
    for name in expected:
        total = sum(cells[(name, c)] for c in columns)
        counts = [
            (f"**{cells[(name, c)]}**" if c == name else str(cells[(name, c)])) if cells[(name, c)] else "."
            for c in columns
        ]
        lines.append(f"| {short[name]} | " + " | ".join(counts) + f" | {cells[(name, name)]}/{total} |")
    return "\n".join(lines)


def render_markdown(rows: list[Row], misses: bool, calibration: list[Row] | None) -> str:
    figures = summary(rows)
    parts = [
        matrix_markdown(rows),
        "",
        f"- category right: {figures['category_right']} of {figures['rows']}",
        f"- action right: {figures['action_right']} of {figures['rows']}",
        f"- mean confidence of right answers: {figures['mean_confidence_right']}",
        f"- mean confidence of wrong answers: {figures['mean_confidence_wrong']} "
        f"(highest {figures['max_confidence_wrong']})",
    ]
    wrong = [row for row in rows if not (row.right and row.action_right)]
    if misses and wrong:
        parts += [
            "",
            "| scenario | expected | diagnosed | expected action | proposed | confidence |",
            "|---|---|---|---|---|---:|",
        ]
        parts += [
            f"| {r.scenario} | {r.expected} | {r.diagnosed} | {r.expected_action} | {r.proposed_action} | "
            f"{r.confidence:.2f} |"
            for r in wrong
        ]
    if calibration is not None:
        figures = summary(calibration)
        parts += [
            "",
            f"Calibration over {figures['rows']} answers (every scenario, and each with its evidence "
            "degraded: no previous log, no events, a bare exit 1):",
            "",
            f"- right: {figures['category_right']}, mean confidence {figures['mean_confidence_right']}",
            f"- wrong: {figures['rows'] - figures['category_right']}, mean confidence "
            f"{figures['mean_confidence_wrong']}; of them named (not `unknown`): {figures['named_wrong']}, "
            f"mean confidence {figures['mean_confidence_named_wrong']}",
            f"- `unknown`: {figures['unknown']} answers, "
            f"confidence at most {figures['max_confidence_unknown']}",
            "",
            "| confidence | named answers | accuracy |",
            "|---|---:|---:|",
        ]
        parts += [f"| {b['band']} | {b['answers']} | {b['accuracy']:.2f} |" for b in reliability(calibration)]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scenarios", type=Path, default=SCENARIOS_DIR)
    parser.add_argument("--only", default="", help="only scenarios whose folder name starts with this")
    parser.add_argument("--format", choices=("md", "json"), default="md")
    parser.add_argument(
        "--misses", action="store_true", help="list the scenarios whose category or action is wrong"
    )
    parser.add_argument("--calibration", action="store_true", help="add the degraded-evidence calibration")
    args = parser.parse_args(argv)
    rows = run(args.scenarios, variants=args.calibration)
    rows = [row for row in rows if row.scenario.startswith(args.only)]
    full = [row for row in rows if row.variant == "full"]
    if args.format == "json":
        out = {"summary": summary(full), "rows": [asdict(row) for row in full]}
        if args.calibration:
            out["calibration"] = {"summary": summary(rows), "bands": reliability(rows)}
        print(json.dumps(out, indent=2))
    else:
        print(render_markdown(full, args.misses, rows if args.calibration else None))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
