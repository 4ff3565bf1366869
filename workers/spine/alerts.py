"""The normalised alert dict that intake, jobs and records use, from Alertmanager's v4 fields."""

from __future__ import annotations

import hashlib
import json
from typing import Any

NEVER_ENDS = "0001-01-01"
"""Alertmanager's ``endsAt`` of a firing alert starts with this (the zero time)."""


def label_fingerprint(labels: dict[str, str]) -> str:
    canonical = json.dumps(sorted(labels.items()), separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def normalised(fields: dict[str, Any], received_at: str, source: str = "alertmanager") -> dict[str, Any]:
    """The alert dict for one validated Alertmanager alert's ``fields`` (its JSON object, or a model's)."""
    labels = fields["labels"]
    ends = fields.get("endsAt") or None
    return {
        "status": fields["status"],
        "labels": dict(labels),
        "annotations": dict(fields.get("annotations") or {}),
        "startsAt": fields["startsAt"],
        "endsAt": None if ends is None or ends.startswith(NEVER_ENDS) else ends,
        "generatorURL": fields.get("generatorURL") or "",
        "fingerprint": fields.get("fingerprint") or label_fingerprint(labels),
        "source": source,
        "receivedAt": received_at,
    }
