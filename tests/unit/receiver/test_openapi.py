"""The committed OpenAPI document (docs/openapi.json) is the one the receiver serves, and it covers the
routes the app really has."""

from __future__ import annotations

import json
from pathlib import Path

from receiver.openapi import openapi_document

ROOT = Path(__file__).resolve().parents[3]


def test_committed_document_matches_the_served_one() -> None:
    committed = json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert committed == openapi_document(), (
        "docs/openapi.json is stale: regenerate it with "
        "python -c 'import json; from receiver.openapi import openapi_document as d; "
        "print(json.dumps(d(), indent=2, sort_keys=True))' > docs/openapi.json"
    )


def test_every_api_route_is_documented() -> None:
    from receiver.app import create_app
    from receiver.auth import TokenBook
    from workers.settings import Settings
    from workers.spine.context import Context

    class _Rules:
        error = None
        generation = 0
        current: list[object] = []

    app = create_app(Context(settings=Settings(), redis=None, rules=_Rules()), TokenBook([]))  # type: ignore[arg-type]
    routes = {
        rule.rule.replace("<proposal_id>", "{id}")
        .replace("<record_id>", "{id}")
        .replace("<report_id>", "{id}")
        .replace("<gate_id>", "{id}")
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and not rule.rule.startswith("/ui") and rule.rule != "/"
    }
    assert routes == set(openapi_document()["paths"])
