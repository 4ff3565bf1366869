"""Each adapter's reading of its tool's output, fed with the documented outputs (no processes, no network)."""

from __future__ import annotations

import json
from pathlib import Path

from a2a.helpers import new_data_part, new_message, new_text_part
from a2a.types.a2a_pb2 import Artifact, Task, TaskState, TaskStatus

from tests.standins.incident import sample_incident
from workers.integrations.advisers import holmesgpt, k8sgpt, kagent, kubectl_ai
from workers.integrations.advisers.base import AdviceStatus
from workers.integrations.advisers.process import CommandResult
from workers.integrations.advisers.prompt import build_request
from workers.settings import K8sgptSettings, KagentSettings, KubectlAiSettings


def _ran(stdout: str = "", stderr: str = "", code: int | None = 0, timed_out: bool = False) -> CommandResult:
    return CommandResult(["x"], code, stdout, stderr, timed_out, 0.1)


def test_kubectl_ai_argument_list_is_exact() -> None:
    settings = KubectlAiSettings(enabled=True, llm_provider="openai", model="gpt-4.1", kubeconfig=Path("/k"))
    assert kubectl_ai.build_argv(settings, "/bin/kubectl-ai", "why?") == [
        "/bin/kubectl-ai",
        "--quiet",
        "--llm-provider",
        "openai",
        "--model",
        "gpt-4.1",
        "--max-iterations",
        "10",
        "--kubeconfig",
        "/k",
        "why?",
    ]
    settings.model = None
    assert "--model" not in kubectl_ai.build_argv(settings, "kubectl-ai", "why?")


def test_kubectl_ai_exit_0_with_gave_up_messages_is_an_error() -> None:
    for text in ("Maximum number of iterations reached.", "Empty response from LLM"):
        result = kubectl_ai.interpret(_ran(stdout=f"thinking\n{text}\n"), 10, 7)
        assert result.status is AdviceStatus.error
        assert text in result.detail
    assert (
        "(--max-iterations 7)"
        in kubectl_ai.interpret(_ran("Maximum number of iterations reached."), 1, 7).detail
    )


def test_kubectl_ai_permission_refusal_is_a_mutating_recommendation_not_an_error() -> None:
    stderr = (
        "RunOnce mode cannot handle permission requests. The following commands require approval:\n"
        "* kubectl delete pod checkout-1 -n shop\n* kubectl scale deployment/checkout --replicas=0\n"
        "Use --skip-permissions flag to bypass permission checks in RunOnce mode.\n"
    )
    result = kubectl_ai.interpret(_ran(stderr=stderr, code=1), 10, 10)
    assert result.status is AdviceStatus.ok
    assert [rec.command for rec in result.recommendations] == [
        "kubectl delete pod checkout-1 -n shop",
        "kubectl scale deployment/checkout --replicas=0",
    ]
    assert {rec.risk for rec in result.recommendations} == {"mutating"}
    assert result.recommendations[0].action == "restart-pod"


def test_kubectl_ai_answer_lists_what_it_ran_and_what_it_suggests() -> None:
    stdout = (
        "  Running: kubectl get pods -n shop\n"
        "The pod is OOMKilled.\n- exit 137\nFix: `kubectl top pod x -n shop`\n"
    )
    result = kubectl_ai.interpret(_ran(stdout=stdout), 10, 10)
    assert result.status is AdviceStatus.ok
    assert result.summary == "The pod is OOMKilled."
    assert result.findings == ["exit 137", "ran (read-only): kubectl get pods -n shop"]
    assert [(rec.command, rec.risk) for rec in result.recommendations] == [
        ("kubectl top pod x -n shop", "read")
    ]


def test_kubectl_ai_other_outcomes() -> None:
    assert kubectl_ai.interpret(_ran(code=None, timed_out=True), 2.5, 10).status is AdviceStatus.timeout
    crashed = kubectl_ai.interpret(_ran(stderr="Error: creating llm client: no key", code=1), 10, 10)
    assert crashed.status is AdviceStatus.error and "no key" in crashed.detail
    assert (
        kubectl_ai.interpret(_ran(stdout="  Running: kubectl get pods\n"), 10, 10).status
        is AdviceStatus.error
    )


def test_k8sgpt_argument_list_is_exact() -> None:
    assert k8sgpt.build_argv(K8sgptSettings(), "k8sgpt", "shop") == [
        "k8sgpt",
        "analyze",
        "-o",
        "json",
        "--filter",
        "Pod",
        "-n",
        "shop",
    ]
    explained = k8sgpt.build_argv(K8sgptSettings(explain=True, kubeconfig=Path("/ro")), "k8sgpt", "shop")
    assert explained[8:] == ["--explain", "--anonymize", "--kubeconfig", "/ro"]


def test_k8sgpt_report_is_read_target_first() -> None:
    report = {
        "provider": "",
        "errors": None,
        "status": "ProblemDetected",
        "problems": 2,
        "results": [
            {
                "kind": "Pod",
                "name": "shop/other",
                "error": [{"Text": "ImagePullBackOff"}],
                "details": "",
                "parentObject": "",
            },
            {
                "kind": "Pod",
                "name": "shop/checkout-7d9f-abcde",
                "error": [{"Text": "OOMKilled"}],
                "details": "",
                "parentObject": "",
            },
        ],
    }
    target = {"namespace": "shop", "name": "checkout-7d9f-abcde"}
    result = k8sgpt.interpret(_ran(stdout=json.dumps(report)), target, 10)
    assert result.status is AdviceStatus.ok
    assert result.findings == ["Pod shop/checkout-7d9f-abcde: OOMKilled", "Pod shop/other: ImagePullBackOff"]
    assert result.summary == "Pod shop/checkout-7d9f-abcde: OOMKilled"
    ok = {"provider": "", "errors": None, "status": "OK", "problems": 0, "results": None}
    assert k8sgpt.interpret(_ran(stdout=json.dumps(ok)), target, 10).status is AdviceStatus.no_findings
    assert k8sgpt.interpret(_ran(stdout="{nope"), target, 10).status is AdviceStatus.error
    assert k8sgpt.interpret(_ran(stdout="[]"), target, 10).status is AdviceStatus.error


def test_holmes_request_body_has_the_documented_fields() -> None:
    incident = sample_incident()
    request = build_request(
        incident["alert"], incident["target"], incident["evidence"], incident["diagnosis"], 8192
    )
    body = holmesgpt.build_body(request, "gpt-4.1")
    assert {"source", "title", "description", "subject", "context"} <= set(body)
    assert body["title"] == "KubePodCrashLooping: Pod shop/checkout-7d9f-abcde"
    assert body["subject"]["name"] == "checkout-7d9f-abcde" and body["subject"]["namespace"] == "shop"
    assert body["description"] == request.prompt and body["model"] == "gpt-4.1"
    assert "model" not in holmesgpt.build_body(request, None)


def test_holmes_answer_is_read_from_analysis_and_sections() -> None:
    payload = {
        "analysis": "The pod is OOMKilled.",
        "sections": {
            "Conclusions and Possible Root causes": "- limit too low\n- heap too big",
            "Next Steps": "`kubectl rollout undo deployment/checkout`",
            "Related logs": None,
        },
        "tool_calls": [{"tool_name": "kubectl_describe", "description": "kubectl describe pod x"}],
    }
    result = holmesgpt.interpret(payload)
    assert result.status is AdviceStatus.ok
    assert result.summary == "limit too low"
    assert result.findings == ["limit too low", "heap too big", "ran (read-only): kubectl describe pod x"]
    assert result.recommendations[0].action == "rollback-deployment"
    assert "## Next Steps" in result.raw
    assert holmesgpt.interpret({"analysis": None, "sections": None}).status is AdviceStatus.no_findings
    assert holmesgpt.interpret(["not", "an", "object"]).status is AdviceStatus.error


def test_kagent_endpoint_and_card() -> None:
    settings = KagentSettings(enabled=True, url="http://kagent-controller.kagent:8083/")
    assert kagent.agent_url(settings) == "http://kagent-controller.kagent:8083/api/a2a/kagent/k8s-agent"
    interface = kagent.agent_card(settings).supported_interfaces[0]
    assert (interface.protocol_binding, interface.protocol_version) == ("JSONRPC", "0.3")


def _task(state: int, artifacts: list[str] = (), status_parts=None) -> Task:
    task = Task(id="t1", context_id="c1", status=TaskStatus(state=state))
    for index, text in enumerate(artifacts):
        task.artifacts.append(Artifact(artifact_id=f"a{index}", parts=[new_text_part(text)]))
    if status_parts:
        task.status.message.CopyFrom(new_message(status_parts))
    return task


def test_kagent_completed_task_is_read_from_its_artifacts() -> None:
    result = kagent.interpret_task(
        _task(TaskState.TASK_STATE_COMPLETED, ["OOMKilled.\n`kubectl get pods -n shop`"])
    )
    assert result.status is AdviceStatus.ok and result.summary == "OOMKilled."
    assert result.recommendations[0].risk == "read"
    assert kagent.interpret_task(_task(TaskState.TASK_STATE_COMPLETED)).status is AdviceStatus.no_findings


def test_kagent_input_required_becomes_a_mutating_recommendation() -> None:
    call = {
        "name": "adk_request_confirmation",
        "args": {
            "originalFunctionCall": {
                "name": "k8s_delete_resource",
                "args": {"resource_type": "pod", "resource_name": "p1", "namespace": "shop"},
            }
        },
    }
    task = _task(
        TaskState.TASK_STATE_INPUT_REQUIRED, status_parts=[new_text_part("approve?"), new_data_part(call)]
    )
    result = kagent.interpret_task(task)
    assert result.status is AdviceStatus.ok
    rec = result.recommendations[0]
    assert (rec.command, rec.risk, rec.action) == ("kubectl delete pod p1 -n shop", "mutating", "restart-pod")
    assert "never approves" in rec.text


def test_kagent_failed_and_unfinished_tasks() -> None:
    failed = kagent.interpret_task(_task(TaskState.TASK_STATE_FAILED, status_parts=[new_text_part("401")]))
    assert failed.status is AdviceStatus.error and "ended failed: 401" in failed.detail
    assert kagent.interpret_task(_task(TaskState.TASK_STATE_WORKING)).status is AdviceStatus.timeout
    assert kagent.interpret_task(_task(TaskState.TASK_STATE_REJECTED)).status is AdviceStatus.error
