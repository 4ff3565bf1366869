"""kagent as an adviser, over A2A JSON-RPC (``message/send``) with the official ``a2a-sdk`` client.

kagent v0.9 serves each agent at ``{url}/api/a2a/{namespace}/{agent}`` and speaks A2A 0.3 JSON-RPC,
so the client is built from a local agent card that declares that interface and version (no card
round trip). The question goes out as one ``text`` part. A ``completed`` Task is read from its
artifacts' text parts (a direct ``Message`` reply is accepted too); ``input-required`` — kagent asking
a person to approve a tool call — becomes a mutating recommendation and is never approved by us;
``failed``, ``rejected`` and ``canceled`` are errors.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from a2a.client import A2AClientError, A2AClientTimeoutError, ClientCallContext, ClientConfig, ClientFactory
from a2a.helpers import get_data_parts, get_text_parts
from a2a.types.a2a_pb2 import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    GetTaskRequest,
    Message,
    Part,
    Role,
    SendMessageRequest,
    Task,
    TaskState,
)
from a2a.utils.errors import A2AError

from workers.integrations.advisers.base import (
    AdviceRequest,
    AdviceResult,
    AdviceStatus,
    ConfiguredAdviser,
    Recommendation,
    bullet_points,
    summarize_text,
)
from workers.integrations.advisers.classify import recommend, recommendations_from_text
from workers.settings import KagentSettings

NAME = "kagent"
A2A_PROTOCOL_VERSION = "0.3"
POLL_INTERVAL_S = 0.5
PENDING = (TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING, TaskState.TASK_STATE_UNSPECIFIED)
_TOOL_VERBS = ("delete", "patch", "scale", "apply", "label", "annotate")
_APPROVAL_TEXT = "kagent asked a person to approve this tool call; aiops-responder never approves it"


def agent_url(settings: KagentSettings) -> str:
    """The agent's A2A JSON-RPC endpoint."""
    return f"{str(settings.url).rstrip('/')}/api/a2a/{settings.namespace}/{settings.agent}"


def agent_card(settings: KagentSettings) -> AgentCard:
    """A local card for the agent: one JSON-RPC interface at A2A 0.3, no streaming."""
    return AgentCard(
        name=settings.agent,
        description=f"kagent agent {settings.namespace}/{settings.agent}",
        version="0",
        default_input_modes=["text"],
        default_output_modes=["text"],
        capabilities=AgentCapabilities(streaming=False),
        supported_interfaces=[
            AgentInterface(
                protocol_binding="JSONRPC", url=agent_url(settings), protocol_version=A2A_PROTOCOL_VERSION
            )
        ],
    )


def _state_name(state: int) -> str:
    name = str(TaskState.Name(state))
    return name.removeprefix("TASK_STATE_").lower().replace("_", "-")


def _tool_calls(data: Any) -> list[tuple[str, dict[str, Any]]]:
    """(tool, arguments) of function calls in kagent's approval data parts, innermost call preferred."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(data, dict):
        original = data.get("originalFunctionCall") or data.get("original_function_call")
        if isinstance(original, dict):
            return _tool_calls(original)
        if isinstance(data.get("name"), str) and isinstance(data.get("args"), dict):
            if data["name"] != "adk_request_confirmation":
                return [(data["name"], data["args"])]
            return _tool_calls(data["args"])
        for value in data.values():
            found += _tool_calls(value)
    elif isinstance(data, list):
        for value in data:
            found += _tool_calls(value)
    return found


def _equivalent_command(tool: str, args: dict[str, Any]) -> str | None:
    """A kubectl line equivalent to a kagent tool call, when it is obvious."""
    command = args.get("command")
    if isinstance(command, str) and command.strip().startswith(("kubectl", "helm")):
        return command.strip()
    kind, name = args.get("resource_type"), args.get("resource_name")
    verb = next((verb for verb in _TOOL_VERBS if verb in tool), None)
    if not (verb and kind and name):
        return None
    namespace = f" -n {args['namespace']}" if args.get("namespace") else ""
    return f"kubectl {verb} {kind} {name}{namespace}"


def approval_recommendations(message: Message) -> list[Recommendation]:
    """Mutating recommendations for the tool calls an ``input-required`` status asks to approve."""
    recommendations = []
    for data in get_data_parts(message.parts):
        for tool, args in _tool_calls(data):
            command = _equivalent_command(tool, args)
            text = f"{_APPROVAL_TEXT}: {tool}({json.dumps(args, sort_keys=True, default=str)[:400]})"
            if command:
                recommendations.append(recommend(command, text=text, risk="mutating"))
            else:
                recommendations.append(Recommendation(text=text, command=None, risk="mutating"))
    text = "\n".join(get_text_parts(message.parts))
    for rec in recommendations_from_text(text):
        rec.risk = "mutating"
        rec.text = f"{_APPROVAL_TEXT}: {rec.text}"
        recommendations.append(rec)
    if not recommendations:
        detail = text or "no details given"
        recommendations.append(Recommendation(text=f"{_APPROVAL_TEXT}: {detail}", risk="mutating"))
    return recommendations


def interpret_task(task: Task) -> AdviceResult:
    """Read a Task: artifacts when completed, the status message otherwise."""
    state = task.status.state
    has_message = task.status.HasField("message")
    status_text = "\n".join(get_text_parts(task.status.message.parts)) if has_message else ""
    out = AdviceResult(adviser=NAME, status=AdviceStatus.ok)
    if state == TaskState.TASK_STATE_COMPLETED:
        texts = [text for artifact in task.artifacts for text in get_text_parts(artifact.parts)]
        answer = "\n\n".join(texts) or status_text
        return interpret_text(answer, empty_detail=f"task {task.id} completed without any text")
    if state == TaskState.TASK_STATE_INPUT_REQUIRED:
        out.recommendations = approval_recommendations(task.status.message)
        out.summary = "kagent wants to change the cluster and asked for approval; it was not given"
        out.findings = [rec.text for rec in out.recommendations]
        out.raw = status_text
        return out
    out.status = AdviceStatus.timeout if state in PENDING else AdviceStatus.error
    out.raw = status_text
    said = f": {status_text[:500]}" if status_text else ""
    out.detail = f"kagent task {task.id} ended {_state_name(state)}{said}"
    return out


def interpret_text(answer: str, empty_detail: str = "empty answer") -> AdviceResult:
    """A free-text answer: summary, bullet findings and classified command suggestions."""
    answer = answer.strip()
    if not answer:
        return AdviceResult(adviser=NAME, status=AdviceStatus.no_findings, detail=empty_detail)
    return AdviceResult(
        adviser=NAME,
        status=AdviceStatus.ok,
        summary=summarize_text(answer),
        findings=bullet_points(answer),
        recommendations=recommendations_from_text(answer),
        raw=answer,
    )


def _run(coro: Coroutine[Any, Any, AdviceResult]) -> AdviceResult:
    """Run ``coro`` to completion from synchronous code, even if this thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _one_line(text: str, limit: int = 600) -> str:
    return " ".join(text.split())[:limit]


def _caused_by_connect_error(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, httpx.ConnectError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class KagentAdviser(ConfiguredAdviser[KagentSettings]):
    """Ask a kagent agent over A2A, once, without ever approving its tool calls."""

    name = NAME

    def probe(self) -> bool:
        """Usable when a controller URL is configured (and the token file, if configured, exists)."""
        if not self.settings.url:
            self.unavailable_reason = "no kagent URL configured (advisers.kagent.url)"
            return False
        if self.settings.token_file is not None and not self.settings.token_file.is_file():
            self.unavailable_reason = (
                f"token file {self.settings.token_file} (advisers.kagent.token_file) does not exist"
            )
            return False
        self.unavailable_reason = ""
        return True

    def _headers(self) -> dict[str, str]:
        if self.settings.token_file is None:
            return {}
        token = self.settings.token_file.read_text(encoding="utf-8").strip()
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def _ask(self, text: str, timeout_s: float) -> AdviceResult:
        deadline = self.clock() + timeout_s
        timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0))
        async with httpx.AsyncClient(timeout=timeout, headers=self._headers()) as http:
            factory = ClientFactory(ClientConfig(streaming=False, httpx_client=http))
            client = factory.create(agent_card(self.settings))
            message = Message(role=Role.ROLE_USER, message_id=str(uuid.uuid4()), parts=[Part(text=text)])
            call = ClientCallContext(timeout=timeout_s)
            reply = None
            async for event in client.send_message(SendMessageRequest(message=message), context=call):
                reply = event
            if reply is None:
                raise ValueError("no reply event")
            if reply.HasField("message"):
                return interpret_text("\n".join(get_text_parts(reply.message.parts)))
            task = reply.task
            while task.status.state in PENDING and self.clock() + POLL_INTERVAL_S < deadline:
                await asyncio.sleep(POLL_INTERVAL_S)
                task = await client.get_task(GetTaskRequest(id=task.id), context=call)
            return interpret_task(task)

    async def _bounded(self, text: str, timeout_s: float) -> AdviceResult:
        return await asyncio.wait_for(self._ask(text, timeout_s), timeout=timeout_s)

    def advise(self, request: AdviceRequest, timeout_s: float) -> AdviceResult:
        started = self.clock()
        if not self.probe():
            return AdviceResult(adviser=NAME, status=AdviceStatus.unavailable, detail=self.unavailable_reason)
        url = agent_url(self.settings)
        try:
            result = _run(self._bounded(request.prompt, timeout_s))
        except (TimeoutError, A2AClientTimeoutError):
            detail = f"no answer from {url} within {timeout_s:.1f}s"
            result = AdviceResult(adviser=NAME, status=AdviceStatus.timeout, detail=detail)
        except A2AClientError as exc:
            unreachable = _caused_by_connect_error(exc)
            status = AdviceStatus.unavailable if unreachable else AdviceStatus.error
            what = "cannot reach" if unreachable else "A2A call failed:"
            result = AdviceResult(adviser=NAME, status=status, detail=_one_line(f"{what} {url}: {exc}"))
        except A2AError as exc:
            detail = f"kagent answered {url} with an A2A error: {exc.__class__.__name__}: {exc}"
            result = AdviceResult(adviser=NAME, status=AdviceStatus.error, detail=_one_line(detail))
        except OSError as exc:  # e.g. the token file could not be read
            detail = _one_line(f"cannot call {url}: {exc.__class__.__name__}: {exc}")
            result = AdviceResult(adviser=NAME, status=AdviceStatus.unavailable, detail=detail)
        except Exception as exc:  # a malformed answer surfaces as many different exception types
            detail = f"malformed A2A answer from {url}: {exc.__class__.__name__}: {exc}"
            result = AdviceResult(adviser=NAME, status=AdviceStatus.error, detail=_one_line(detail))
        result.question = request.prompt
        result.duration_s = self.clock() - started
        return result
