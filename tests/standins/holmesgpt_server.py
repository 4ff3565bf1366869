"""STAND-IN for the HolmesGPT HTTP server (robusta-dev/holmesgpt), for tests only: no LLM, no cluster.

Reproduces the documented ``POST /api/investigate`` contract of ``holmes serve``:
- the body is an ``InvestigateRequest``: ``source``, ``title``, ``description``, ``subject`` (object)
  and ``context`` (object) are required, the rest (``include_tool_calls``, ``model``, ...) optional;
  a missing or mistyped field gets FastAPI's 422 ``{"detail": [{"loc", "msg", "type"}]}``;
- the answer is an ``InvestigationResult``: ``analysis`` (markdown), ``sections`` (title -> markdown
  or null: "Alert Explanation", "Investigation", "Conclusions and Possible Root causes",
  "Next Steps", ...), ``tool_calls`` and ``instructions``;
- an LLM failure is a 500 with ``{"detail": "..."}``; ``GET /healthz`` answers 200.

``mode`` picks the behaviour: ``ok``, ``slow`` (answers after ``delay_s``), ``error`` (500),
``bad-json`` (200 with a body that is not JSON), ``empty`` (no analysis). Every request body is kept
in ``requests`` so tests can check what left the process.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REQUIRED = {"source": str, "title": str, "description": str, "subject": dict, "context": dict}


def _validation_errors(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        return [{"loc": ["body"], "msg": "Input should be a valid dictionary", "type": "dict_type"}]
    errors = []
    for field, kind in REQUIRED.items():
        if field not in body:
            errors.append({"loc": ["body", field], "msg": "Field required", "type": "missing"})
        elif not isinstance(body[field], kind):
            errors.append(
                {"loc": ["body", field], "msg": f"Input should be a valid {kind.__name__}", "type": "type"}
            )
    return errors


def investigation(body: dict[str, Any]) -> dict[str, Any]:
    """A deterministic ``InvestigationResult`` about the request's subject."""
    subject = body.get("subject") or {}
    name, namespace = subject.get("name", "?"), subject.get("namespace", "default")
    return {
        "analysis": (
            f"# Investigation of {name}\n"
            f"The pod {namespace}/{name} is crash-looping because the container `app` is OOMKilled.\n"
            "Its memory working set reaches the 256Mi limit within minutes of each start."
        ),
        "sections": {
            "Alert Explanation": f"Pod {namespace}/{name} keeps restarting.",
            "Investigation": "- fetched pod status\n- fetched previous logs",
            "Conclusions and Possible Root causes": (
                "- The memory limit of 256Mi is too low for the Java heap\n"
                "- The last termination reason is OOMKilled (exit 137)"
            ),
            "Next Steps": (
                f"1. `kubectl describe pod {name} -n {namespace}`\n"
                f"2. `kubectl set resources deployment/checkout -c app --limits=memory=512Mi -n {namespace}`"
            ),
            "Related logs": None,
            "App or Infra?": "App",
            "External links": None,
        },
        "tool_calls": [
            {
                "tool_call_id": "1",
                "tool_name": "kubectl_describe",
                "description": f"kubectl describe pod {name}",
                "result": {"status": "success", "data": "..."},
            },
        ],
        "instructions": [],
        "metadata": {},
    }


class HolmesStandin:
    """A HolmesGPT-like server on a free loopback port, run in a thread."""

    def __init__(self, mode: str = "ok", delay_s: float = 5.0) -> None:
        self.mode = mode
        self.delay_s = delay_s
        self.requests: list[Any] = []
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> HolmesStandin:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _send(self, status: int, payload: Any, raw: bytes | None = None) -> None:
                data = raw if raw is not None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/healthz":
                    self._send(200, {"status": "healthy"})
                else:
                    self._send(404, {"detail": "Not Found"})

            def do_POST(self) -> None:
                if self.path != "/api/investigate":
                    self._send(404, {"detail": "Not Found"})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"null")
                except ValueError:
                    self._send(
                        422,
                        {"detail": [{"loc": ["body"], "msg": "JSON decode error", "type": "json_invalid"}]},
                    )
                    return
                standin.requests.append(body)
                errors = _validation_errors(body)
                if errors:
                    self._send(422, {"detail": errors})
                    return
                if standin.mode == "slow" and standin._stop.wait(standin.delay_s):
                    return
                if standin.mode == "error":
                    self._send(500, {"detail": "litellm.AuthenticationError: invalid api key"})
                elif standin.mode == "bad-json":
                    self._send(200, None, raw=b"<html>upstream proxy error</html>")
                elif standin.mode == "empty":
                    self._send(
                        200, {"analysis": None, "sections": None, "tool_calls": [], "instructions": []}
                    )
                else:
                    self._send(200, investigation(body))

        return Handler
