"""STAND-IN for the kagent controller's A2A endpoint, for tests only: a real ``a2a-sdk`` server, no LLM.

Reproduces what kagent v0.9 documents for calling an agent over A2A:
- each agent is served at ``/api/a2a/{namespace}/{agent}`` (with or without a trailing slash) as A2A
  0.3 JSON-RPC (``message/send``, ``tasks/get``; ``kind``-tagged parts), with its card at
  ``/api/a2a/{namespace}/{agent}/.well-known/agent.json``;
- the agent answers with a Task whose artifacts hold the answer's text parts; a tool that needs a
  person's approval leaves the Task ``input-required`` with the request in the status message (a
  text part and a ``function_call`` data part naming ``adk_request_confirmation`` and the
  ``originalFunctionCall``); a model failure leaves it ``failed``.

The agents are deterministic, one behaviour per name: ``k8s-agent`` (completed, with an artifact),
``failing-agent``, ``approval-agent`` (input-required), ``slow-agent`` (answers after ``slow_s``),
``message-agent`` (a direct Message reply) and ``empty-agent`` (completed with nothing to say).
``MalformedA2AServer`` is a raw HTTP server answering with broken JSON-RPC instead.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import uvicorn
from a2a.helpers import (
    new_data_part,
    new_message,
    new_task_from_user_message,
    new_text_message,
    new_text_part,
)
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types.a2a_pb2 import AgentCapabilities, AgentCard, AgentInterface, AgentSkill
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.support.servers import free_port

NAMESPACE = "kagent"
AGENTS = ("k8s-agent", "failing-agent", "approval-agent", "slow-agent", "message-agent", "empty-agent")
ANSWER = (
    "## Diagnosis\n"
    "The checkout pod is OOMKilled: the app container needs more than its 256Mi memory limit.\n\n"
    "- last termination reason OOMKilled, exit code 137\n"
    "- revision 3 did not change the memory settings\n\n"
    "Suggested commands (not run):\n"
    "`kubectl describe pod checkout-7d9f-abcde -n shop`\n"
    "`kubectl set resources deployment/checkout -c app --limits=memory=512Mi -n shop`"
)


class StandinAgent(AgentExecutor):
    """A deterministic agent whose behaviour is fixed by its name."""

    def __init__(self, name: str, received: list[str], slow_s: float) -> None:
        self.name = name
        self.received = received
        self.slow_s = slow_s

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        self.received.append(context.get_user_input())
        if self.name == "message-agent":
            await event_queue.enqueue_event(
                new_message([new_text_part(ANSWER)], context_id=context.context_id)
            )
            return
        task = context.current_task or new_task_from_user_message(context.message)
        await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        await updater.start_work()
        if self.name == "failing-agent":
            await updater.failed(
                new_text_message("model provider returned 401: invalid API key", task_id=task.id)
            )
        elif self.name == "approval-agent":
            call = {
                "name": "k8s_delete_resource",
                "args": {"resource_type": "pod", "resource_name": "checkout-7d9f-abcde", "namespace": "shop"},
            }
            data = {
                "type": "function_call",
                "is_long_running": True,
                "name": "adk_request_confirmation",
                "args": {"originalFunctionCall": call, "toolConfirmation": {"hint": "approve deletion"}},
            }
            message = new_message(
                [
                    new_text_part("Approval required: the tool k8s_delete_resource wants to run."),
                    new_data_part(data),
                ],
                context_id=task.context_id,
                task_id=task.id,
            )
            await updater.requires_input(message)
        elif self.name == "slow-agent":
            await asyncio.sleep(self.slow_s)
            await updater.add_artifact([new_text_part("late answer")], name="answer")
            await updater.complete()
        elif self.name == "empty-agent":
            await updater.complete()
        else:
            await updater.add_artifact([new_text_part(ANSWER)], name="answer")
            await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        return None


class _RecordHeaders:
    """ASGI middleware keeping the headers of every request (to check Authorization, A2A-Version)."""

    def __init__(self, app: ASGIApp, sink: list[dict[str, str]]) -> None:
        self.app = app
        self.sink = sink

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.sink.append({k.decode(): v.decode() for k, v in scope["headers"]})
        await self.app(scope, receive, send)


def _card(name: str, url: str) -> AgentCard:
    return AgentCard(
        name=name,
        description=f"stand-in kagent agent {name}",
        version="0.9.0",
        default_input_modes=["text"],
        default_output_modes=["text"],
        capabilities=AgentCapabilities(streaming=False),
        supported_interfaces=[AgentInterface(protocol_binding="JSONRPC", url=url, protocol_version="0.3")],
        skills=[AgentSkill(id="k8s", name="kubernetes", description="diagnose kubernetes", tags=["k8s"])],
    )


class KagentStandin:
    """The A2A server on a free loopback port, uvicorn running in a thread."""

    def __init__(self, slow_s: float = 10.0) -> None:
        self.port = free_port()
        self.received: dict[str, list[str]] = {name: [] for name in AGENTS}
        self.headers: list[dict[str, str]] = []
        routes: list[Any] = []
        for name in AGENTS:
            path = f"/api/a2a/{NAMESPACE}/{name}"
            card = _card(name, f"{self.url}{path}")
            handler = DefaultRequestHandler(
                agent_executor=StandinAgent(name, self.received[name], slow_s),
                task_store=InMemoryTaskStore(),
                agent_card=card,
            )
            routes += create_jsonrpc_routes(handler, path, enable_v0_3_compat=True)
            routes += create_jsonrpc_routes(handler, path + "/", enable_v0_3_compat=True)
            routes += create_agent_card_routes(card, card_url=path + "/.well-known/agent.json")
        app = Starlette(routes=routes, middleware=[Middleware(_RecordHeaders, sink=self.headers)])
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> KagentStandin:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the A2A stand-in did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


# Agent name -> what the malformed server answers to message/send.
MALFORMED = {
    "not-json": (200, b"<html>502 bad gateway</html>"),
    "bad-result": (
        200,
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": "1",
                "result": {"kind": "task", "id": "t1", "contextId": "c1", "status": {"state": "exploded"}},
            }
        ).encode(),
    ),
    "no-result": (200, json.dumps({"jsonrpc": "2.0", "id": "1"}).encode()),
    "rpc-error": (
        200,
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": "1",
                "error": {"code": -32603, "message": "internal error: agent crashed"},
            }
        ).encode(),
    ),
    "http-500": (500, b"upstream exploded"),
}


class MalformedA2AServer:
    """A raw HTTP server that answers A2A calls with broken JSON-RPC, one flavour per agent name."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                agent = self.path.rstrip("/").rsplit("/", 1)[-1]
                status, body = MALFORMED.get(agent, (404, b"no such agent"))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> MalformedA2AServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
