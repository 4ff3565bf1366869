"""render_markdown: text from alerts and advisers stays inside its code block (the fence is longer than
any backtick run in it), cannot forge a heading, and large objects are printed once."""

from __future__ import annotations

import copy
import re
from typing import Any

from workers.spine.records import render_markdown

ANSWER = "Raise the limit:\n```\n# Heading\nkubectl set resources deploy/web --limits=memory=1Gi\n````\nDone."


def record(*entries: tuple[str, dict[str, Any]], **meta: Any) -> dict[str, Any]:
    return {
        "id": "r-0001",
        "rule": "pod-crashloop",
        **meta,
        "entries": [
            {"seq": seq, "kind": kind, "at": "2026-11-25T10:00:00+00:00", "data": data}
            for seq, (kind, data) in enumerate(entries, start=1)
        ],
    }


def structure(markdown: str) -> tuple[list[str], list[list[str]]]:
    """The headings outside code blocks and the contents of each block, by CommonMark's fence rules:
    a block opened by N backticks closes only at a line of at least N backticks and nothing else."""
    headings: list[str] = []
    blocks: list[list[str]] = []
    fence = 0
    for line in markdown.split("\n"):
        stripped = line.strip()
        if fence:
            if re.fullmatch(f"`{{{fence},}}", stripped):
                fence = 0
            else:
                blocks[-1].append(line.removeprefix("  "))
        elif opened := re.match(r"`{3,}", stripped):
            fence = len(opened.group(0))
            blocks.append([])
        elif re.match(r"#{1,6}(\s|$)", stripped):
            headings.append(stripped)
    assert fence == 0, "a code block was left open"
    return headings, blocks


def test_an_answer_with_a_fence_and_a_heading_stays_in_its_block() -> None:
    md = render_markdown(record(("advice", {"adviser": "kubectl-ai", "answer": ANSWER})))
    headings, blocks = structure(md)
    assert headings == ["# Operations log r-0001", "## 1. advice — 2026-11-25T10:00:00+00:00"]
    assert blocks == [ANSWER.splitlines()]
    assert "  `````" in md.splitlines()  # one backtick longer than the longest run in the answer


def test_backticks_inside_nested_data_are_fenced_too() -> None:
    data = {"opinions": [{"adviser": "kagent", "text": "```\n# Forged\n```"}]}
    headings, blocks = structure(render_markdown(record(("advice", data))))
    assert headings == ["# Operations log r-0001", "## 1. advice — 2026-11-25T10:00:00+00:00"]
    assert any("# Forged" in line for line in blocks[0])


def test_line_breaks_in_one_line_fields_cannot_start_a_block() -> None:
    md = render_markdown(
        record(
            ("alert_received", {"summary": "x\r# Forged by \\r", "note": "y\u2028# Forged"}),
            alertname="A\n# Forged",
        )
    )
    headings, _ = structure(md)
    assert headings == ["# Operations log r-0001", "## 1. alert received — 2026-11-25T10:00:00+00:00"]
    assert "- **alertname**: A # Forged" in md


def template(image: str) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": "web"}},
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": image,
                    "ports": [{"name": "http", "containerPort": 8080}],
                    "resources": {"limits": {"memory": "512Mi"}, "requests": {"cpu": "200m"}},
                }
            ],
            "restartPolicy": "Always",
        },
    }


def test_a_large_object_is_printed_once_and_a_close_one_as_its_difference() -> None:
    patch = [{"op": "replace", "path": "/spec/template", "value": template("web:1.4.2")}]
    md = render_markdown(
        record(
            ("proposal", {"action": {"type": "rollback-deployment", "plan": {"patch": patch}}}),
            ("snapshot", {"spec": {"replicas": 2, "template": template("web:1.5.0")}}),
            ("applied", {"patch": copy.deepcopy(patch), "verb": "patch"}),
        )
    )
    assert md.count("containerPort: 8080") == 1
    assert "- **patch**: (same as action.plan.patch in entry 1 (proposal))" in md
    assert "(as action.plan.patch[0].value in entry 1 (proposal), except:)" in md
    assert "-    image: web:1.4.2" in md and "+    image: web:1.5.0" in md
    headings, _ = structure(md)
    assert len(headings) == 4


def test_small_objects_are_printed_each_time() -> None:
    results = [{"name": "target_ready", "ok": True}]
    md = render_markdown(
        record(("validation_check", {"results": results}), ("validation_check", {"results": results}))
    )
    assert md.count("name: target_ready") == 2 and "same as" not in md
