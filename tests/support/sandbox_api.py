"""Helpers for tests of the sandbox API: the demo scenario and its crashing pods, a fixed time, patches."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

DEMO = Path(__file__).resolve().parents[2] / "sandbox" / "scenarios" / "demo-crashloop"


CRASHING = ("checkout-7d9f8b6c5-q8wzt", "checkout-7d9f8b6c5-x2k4p")


NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)


def status_of(exc: Exception) -> dict:
    """The Kubernetes Status object in an ApiException's body."""
    return json.loads(exc.body)


def app_patch(**fields: object) -> dict:
    """A strategic merge patch of the ``app`` container in a Deployment's pod template."""
    return {"spec": {"template": {"spec": {"containers": [{"name": "app", **fields}]}}}}
