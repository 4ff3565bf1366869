"""HolmesGPT as an adviser: ``POST {url}/api/investigate`` and read ``analysis`` and ``sections``.

The request carries the fields of HolmesGPT's ``InvestigateRequest``: ``source``, ``title``,
``description`` (our redacted question and evidence), ``subject`` (the target) and ``context``
(alert labels and the built-in diagnosis, redacted). The answer's ``analysis`` is free text; its
``sections`` ("Conclusions and Possible Root causes", "Next Steps", ...) give the summary, the
findings and the suggested commands. The whole call, body included, is bounded by the time slice.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from workers.integrations.advisers.base import (
    AdviceRequest,
    AdviceResult,
    AdviceStatus,
    ConfiguredAdviser,
    bullet_points,
    summarize_text,
)
from workers.integrations.advisers.classify import recommendations_from_text
from workers.settings import HolmesSettings

NAME = "holmesgpt"
SUMMARY_SECTIONS = ("Conclusions and Possible Root causes", "Alert Explanation")
STEPS_SECTIONS = ("Next Steps",)
MAX_RESPONSE_BYTES = 4 * 1024 * 1024


class _Deadline(Exception):
    pass


def build_body(request: AdviceRequest, model: str | None) -> dict[str, Any]:
    """The ``InvestigateRequest`` body; every value comes from the redacted request."""
    labels = dict(request.alert.get("labels") or {})
    target = request.target
    where = f"{target.get('kind', 'object')} {target.get('namespace')}/{target.get('name')}"
    title = f"{labels.get('alertname', 'Alert')}: {where}"
    body: dict[str, Any] = {
        "source": "prometheus",
        "title": title,
        "description": request.prompt,
        "subject": {
            "name": target.get("name"),
            "namespace": target.get("namespace"),
            "kind": str(target.get("kind") or "").lower() or None,
            "labels": labels,
        },
        "context": {
            "source": "aiops-responder",
            "alert": {
                "labels": labels,
                "annotations": dict(request.alert.get("annotations") or {}),
                "startsAt": request.alert.get("startsAt"),
                "fingerprint": request.alert.get("fingerprint"),
            },
            "diagnosis": {key: request.diagnosis.get(key) for key in ("category", "summary", "root_cause")},
        },
        "include_tool_calls": True,
        "include_tool_call_results": False,
    }
    if model:
        body["model"] = model
    return body


def _sections(payload: dict[str, Any]) -> dict[str, str]:
    sections = payload.get("sections") or {}
    if not isinstance(sections, dict):
        return {}
    out = {}
    for key, value in sections.items():
        text = "\n".join(f"- {item}" for item in value) if isinstance(value, list) else value
        if text:
            out[str(key)] = str(text)
    return out


def interpret(payload: Any) -> AdviceResult:
    """Read an ``InvestigationResult``: ``analysis`` and ``sections`` (and the tools Holmes ran)."""
    out = AdviceResult(adviser=NAME, status=AdviceStatus.ok)
    if not isinstance(payload, dict):
        out.status = AdviceStatus.error
        out.detail = "HolmesGPT answered with JSON that is not an object"
        return out
    analysis = str(payload.get("analysis") or "").strip()
    sections = _sections(payload)
    rendered = "\n\n".join(f"## {key}\n{value}" for key, value in sections.items())
    out.raw = "\n\n".join(part for part in (analysis, rendered) if part)
    if not out.raw:
        out.status = AdviceStatus.no_findings
        out.detail = "HolmesGPT returned no analysis"
        return out
    summary_source = next((sections[key] for key in SUMMARY_SECTIONS if key in sections), analysis)
    out.summary = summarize_text(summary_source) or summarize_text(out.raw)
    out.findings = bullet_points(summary_source) or bullet_points(analysis)
    for call in payload.get("tool_calls") or []:
        if isinstance(call, dict) and (call.get("description") or call.get("tool_name")):
            out.findings.append(f"ran (read-only): {call.get('description') or call.get('tool_name')}")
    steps = "\n".join(sections[key] for key in STEPS_SECTIONS if key in sections)
    seen: set[str] = set()
    for recommendation in recommendations_from_text(f"{steps}\n{analysis}"):
        if recommendation.command not in seen:
            seen.add(recommendation.command or "")
            out.recommendations.append(recommendation)
    return out


class HolmesAdviser(ConfiguredAdviser[HolmesSettings]):
    """Ask a HolmesGPT server to investigate the alert."""

    name = NAME

    def probe(self) -> bool:
        """Usable when a server URL is configured (reachability is learnt by asking)."""
        if not self.settings.url:
            self.unavailable_reason = "no HolmesGPT URL configured (advisers.holmesgpt.url)"
            return False
        self.unavailable_reason = ""
        return True

    def _post(self, url: str, body: dict[str, Any], deadline: float, timeout_s: float) -> tuple[int, bytes]:
        timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0))
        chunks: list[bytes] = []
        size = 0
        with httpx.Client(timeout=timeout) as client, client.stream("POST", url, json=body) as response:
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if self.clock() > deadline:
                    raise _Deadline
                if size > MAX_RESPONSE_BYTES:
                    raise ValueError(f"response larger than {MAX_RESPONSE_BYTES} bytes")
            return response.status_code, b"".join(chunks)

    def advise(self, request: AdviceRequest, timeout_s: float) -> AdviceResult:
        started = self.clock()
        if not self.probe():
            return AdviceResult(adviser=NAME, status=AdviceStatus.unavailable, detail=self.unavailable_reason)
        url = str(self.settings.url).rstrip("/") + "/api/investigate"
        body = build_body(request, self.settings.model)
        result = AdviceResult(adviser=NAME, status=AdviceStatus.error)
        try:
            status, content = self._post(url, body, started + timeout_s, timeout_s)
        except (httpx.TimeoutException, _Deadline):
            result.status = AdviceStatus.timeout
            result.detail = f"no answer from {url} within {timeout_s:.1f}s"
        except httpx.ConnectError as exc:
            result.status = AdviceStatus.unavailable
            result.detail = f"cannot reach {url}: {exc.__class__.__name__}: {exc}"
        except (httpx.HTTPError, ValueError) as exc:
            result.detail = f"HolmesGPT request failed: {exc}"
        else:
            text = content.decode("utf-8", errors="replace")
            if status >= 400:
                result.raw = text
                result.detail = f"HolmesGPT answered HTTP {status}: {text[:300]}"
            else:
                try:
                    result = interpret(json.loads(text))
                except ValueError as exc:
                    result.raw = text
                    result.detail = f"HolmesGPT answered with invalid JSON: {exc}"
        result.question = body["description"]
        result.duration_s = self.clock() - started
        return result
