"""STAND-IN for Slack, for tests only: its Web API (what ``slack_sdk.WebClient`` calls) and its side of
interactivity (a signed button press, and the ``response_url`` it hands out).

A real HTTP server on a free loopback port, reached through ``WebClient(base_url=...)``:
- ``POST /api/chat.postMessage`` and ``/api/chat.update``: Bearer token checked (``invalid_auth``),
  channel known (``channel_not_found``), then the Block Kit payload is checked against Slack's documented
  limits (``LIMITS``); a violation answers like Slack, ``{"ok": false, "error": "invalid_blocks",
  "errors": ["... [json-pointer:/blocks/1/text/text]"]}``;
- ``POST /hooks/<id>``: a ``response_url``; its JSON replaces (or answers beside) the message;
- ``mode = "down"`` answers 503 everywhere (a failed notification).
Every call is kept in ``calls`` (method, body) so tests can check what left the process.

``press`` plays Slack pressing a button: the ``block_actions`` payload, form-encoded, signed with
``v0:{timestamp}:{body}`` (HMAC-SHA256, the signing secret) as Slack documents.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from werkzeug.wrappers import Request, Response

from tests.support.served import ServedApp

# Slack's documented Block Kit limits (docs.slack.dev, "Block Kit" reference and "Reference: blocks").
LIMITS = {
    "blocks": 50,
    "header.text": 150,
    "section.text": 3000,
    "section.fields": 10,
    "section.field": 2000,
    "actions.elements": 25,
    "context.elements": 10,
    "button.text": 75,
    "button.value": 2000,
    "button.url": 3000,
    "action_id": 255,
    "block_id": 255,
    "confirm.title": 100,
    "confirm.text": 300,
    "confirm.button": 30,
    "input.label": 2000,
    "placeholder": 150,
    "text": 40000,
}
BLOCK_TYPES = {"header", "section", "actions", "context", "input", "divider", "image", "rich_text"}


def _text_len(obj: Any) -> int:
    return len(obj.get("text", "")) if isinstance(obj, dict) else 0


def validate_blocks(blocks: Any) -> list[str]:
    """Slack's ``invalid_blocks`` errors for ``blocks`` (empty: valid)."""
    errors: list[str] = []

    def over(value: int, limit: str, where: str) -> None:
        if value > LIMITS[limit]:
            errors.append(f"must be at most {LIMITS[limit]} ({value}) [json-pointer:{where}]")

    if not isinstance(blocks, list):
        return ["must be an array [json-pointer:/blocks]"]
    over(len(blocks), "blocks", "/blocks")
    block_ids: set[str] = set()
    action_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"/blocks/{index}"
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            errors.append(f"unknown block type {kind!r} [json-pointer:{where}/type]")
            continue
        if "block_id" in block:
            over(len(block["block_id"]), "block_id", f"{where}/block_id")
            if block["block_id"] in block_ids:
                errors.append(f"duplicate block_id [json-pointer:{where}/block_id]")
            block_ids.add(block["block_id"])
        if kind == "header":
            if block.get("text", {}).get("type") != "plain_text":
                errors.append(f"header text must be plain_text [json-pointer:{where}/text]")
            over(_text_len(block.get("text")), "header.text", f"{where}/text/text")
        elif kind == "section":
            if "text" not in block and "fields" not in block:
                errors.append(f"section needs text or fields [json-pointer:{where}]")
            over(_text_len(block.get("text")), "section.text", f"{where}/text/text")
            fields = block.get("fields") or []
            over(len(fields), "section.fields", f"{where}/fields")
            for number, item in enumerate(fields):
                over(_text_len(item), "section.field", f"{where}/fields/{number}/text")
        elif kind == "actions":
            elements = block.get("elements") or []
            if not elements:
                errors.append(f"actions needs elements [json-pointer:{where}/elements]")
            over(len(elements), "actions.elements", f"{where}/elements")
            for number, element in enumerate(elements):
                errors += _element(element, f"{where}/elements/{number}", action_ids)
        elif kind == "context":
            over(len(block.get("elements") or []), "context.elements", f"{where}/elements")
            for number, element in enumerate(block.get("elements") or []):
                over(_text_len(element), "section.text", f"{where}/elements/{number}/text")
        elif kind == "input":
            over(_text_len(block.get("label")), "input.label", f"{where}/label/text")
            element = block.get("element") or {}
            if element.get("type") != "plain_text_input":
                errors.append(f"unsupported input element [json-pointer:{where}/element]")
            over(len(element.get("action_id", "")), "action_id", f"{where}/element/action_id")
            over(_text_len(element.get("placeholder")), "placeholder", f"{where}/element/placeholder")
    return errors


def _element(element: dict[str, Any], where: str, action_ids: set[str]) -> list[str]:
    errors: list[str] = []
    if element.get("type") != "button":
        return [f"unsupported element {element.get('type')!r} [json-pointer:{where}/type]"]
    checks = [
        (_text_len(element.get("text")), "button.text", "/text/text"),
        (len(element.get("value", "")), "button.value", "/value"),
        (len(element.get("url", "")), "button.url", "/url"),
        (len(element.get("action_id", "")), "action_id", "/action_id"),
    ]
    for value, limit, path in checks:
        if value > LIMITS[limit]:
            errors.append(f"must be at most {LIMITS[limit]} ({value}) [json-pointer:{where}{path}]")
    if element.get("style") not in (None, "primary", "danger"):
        errors.append(f"style must be primary or danger [json-pointer:{where}/style]")
    url = element.get("url")
    if url is not None and not str(url).startswith(("http://", "https://")):
        errors.append(f"url must be absolute [json-pointer:{where}/url]")
    action_id = element.get("action_id")
    if action_id in action_ids:
        errors.append(f"duplicate action_id [json-pointer:{where}/action_id]")
    action_ids.add(action_id)
    confirm = element.get("confirm")
    if confirm:
        for key, limit in (("title", "confirm.title"), ("text", "confirm.text")):
            if _text_len(confirm.get(key)) > LIMITS[limit]:
                errors.append(f"must be at most {LIMITS[limit]} [json-pointer:{where}/confirm/{key}]")
        for key in ("confirm", "deny"):
            if _text_len(confirm.get(key)) > LIMITS["confirm.button"]:
                errors.append(f"must be at most 30 [json-pointer:{where}/confirm/{key}]")
    return errors


@dataclass
class Call:
    method: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class SlackStandin:
    """Slack's Web API and response URLs on a free loopback port (a real HTTP server in a thread)."""

    def __init__(
        self,
        token: str = "xoxb-test-token-0001",  # noqa: S107 - the stand-in's own, for tests
        channels: tuple[str, ...] = ("C0APPROVALS",),
    ) -> None:
        self.token = token
        self.channels = set(channels)
        self.mode = "ok"
        self.calls: list[Call] = []
        self.messages: dict[str, dict[str, Any]] = {}  # ts -> the message as Slack shows it now
        self._lock = threading.Lock()
        self._seq = 0
        self.served = ServedApp(self._wsgi)

    @property
    def url(self) -> str:
        return self.served.url

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, key: str = "T1/B1/x") -> str:
        return f"{self.url}/hooks/{key}"

    def __enter__(self) -> SlackStandin:
        self.served.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.served.__exit__(*exc)

    def posted(self, method: str = "chat.postMessage") -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    # -- the API ------------------------------------------------------------------------------------

    def _answer(
        self, method: str, body: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.calls.append(Call(method, body, headers))
        if self.mode == "down":
            return 503, {"ok": False, "error": "service_unavailable"}
        if method.startswith("hooks/"):
            return 200, self._hook(body)
        if headers.get("authorization") != f"Bearer {self.token}":
            return 200, {"ok": False, "error": "invalid_auth"}
        if method not in ("chat.postMessage", "chat.update"):
            return 200, {"ok": False, "error": "unknown_method"}
        if body.get("channel") not in self.channels:
            return 200, {"ok": False, "error": "channel_not_found"}
        if not body.get("text") and not body.get("blocks"):
            return 200, {"ok": False, "error": "no_text"}
        blocks = body.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        errors = validate_blocks(blocks) if blocks is not None else []
        if len(body.get("text") or "") > LIMITS["text"]:
            errors.append("text must be at most 40000 [json-pointer:/text]")
        if errors:
            return 200, {"ok": False, "error": "invalid_blocks", "errors": errors}
        with self._lock:
            if method == "chat.update":
                ts = str(body.get("ts"))
                if ts not in self.messages:
                    return 200, {"ok": False, "error": "message_not_found"}
            else:
                self._seq += 1
                ts = f"{int(time.time())}.{self._seq:06d}"
            self.messages[ts] = {"text": body.get("text"), "blocks": blocks, "channel": body["channel"]}
        return 200, {"ok": True, "channel": body["channel"], "ts": ts, "message": self.messages[ts]}

    def _hook(self, body: dict[str, Any]) -> dict[str, Any]:
        errors = validate_blocks(body["blocks"]) if "blocks" in body else []
        return {"ok": not errors, "errors": errors}

    @Request.application
    def _wsgi(self, request: Request) -> Response:
        raw = request.get_data()
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        path = request.path.strip("/")
        method = path.removeprefix("api/") if path.startswith("api/") else path
        headers = {key.lower(): value for key, value in request.headers.items()}
        status, answer = self._answer(method, body, headers)
        return Response(json.dumps(answer), status=status, mimetype="application/json")


# -- Slack's side of interactivity -----------------------------------------------------------------------


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return "v0=" + hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()


def block_actions(
    proposal_id: str,
    action_id: str,
    user: str,
    response_url: str,
    note: str | None = None,
    message: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``block_actions`` payload as Slack sends it when a button of our message is pressed."""
    values = {} if note is None else {"note": {"note": {"type": "plain_text_input", "value": note}}}
    return {
        "type": "block_actions",
        "team": {"id": "T0TEAM", "domain": "example"},
        "user": {"id": user, "username": f"user-{user.lower()}", "team_id": "T0TEAM"},
        "api_app_id": "A0APP",
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": "C0APPROVALS"},
        "trigger_id": "123.456.abc",
        "channel": {"id": "C0APPROVALS", "name": "approvals"},
        "message": message or {"type": "message", "ts": "1700000000.000100", "blocks": []},
        "state": {"values": values},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": "decision",
                "type": "button",
                "value": proposal_id,
                "action_ts": "1700000001.000200",
            }
        ],
    }


def press(
    client: Any,
    secret: str,
    payload: dict[str, Any],
    timestamp: int | None = None,
    signature: str | None = None,
    path: str = "/integrations/slack/actions",
) -> Any:
    """POST ``payload`` as Slack does (form-encoded, signed) with a Flask test client or an httpx client."""
    body = urlencode({"payload": json.dumps(payload)}).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature or sign(secret, stamp, body),
    }
    if isinstance(client, httpx.Client):
        return client.post(path, content=body, headers=headers)
    return client.post(path, data=body, headers=headers)
