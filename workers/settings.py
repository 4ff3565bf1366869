"""The one settings object: typed sections loaded from a YAML file and environment variables.

Precedence, lowest first: defaults, the YAML file named by ``AIOPS_CONFIG``, ``AIOPS_<SECTION>_<FIELD>``
variables, and the standard variables ``REDIS_URL``, ``PROMETHEUS_URL``, ``KUBECONFIG``. This is the only
module that reads the environment; everything else is handed a ``Settings``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from workers.errors import SettingsError

DEFAULT_RULES_DIR = Path(__file__).resolve().parent.parent / "rules" / "library"
DEFAULT_DENIED_NAMESPACES = ["kube-system", "kube-public", "kube-node-lease"]
SERVICE_ACCOUNT_NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def in_cluster_namespace(path: Path = SERVICE_ACCOUNT_NAMESPACE_FILE) -> str | None:
    """The namespace Kubernetes mounts into every pod with a service account; None outside a cluster."""
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


class Section(BaseModel):
    # Attribute docstrings become field descriptions: docs/settings.md is generated from them.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, use_attribute_docstrings=True)


class RedisSettings(Section):
    """Where the queues, proposals, records and counters live."""

    url: str | None = None
    """Redis URL (``REDIS_URL``): ``redis://``, ``rediss://``, ``unix://``, or
    ``redis+sentinel://[:password@]host:port[,host:port...]/service[/db]`` for a Sentinel-monitored primary
    that the receiver, the workers and RQ follow across failovers (docs/deploy.md). Unset: every aiops
    process of the user shares one embedded Redis (not for production)."""
    min_replicas_ack: int = Field(0, ge=0, le=10)
    """Replicas that must hold an alert's intake before the webhook answers 2xx (Redis ``WAIT``); 0: the
    primary's word is enough. With Sentinel, 1 keeps an acknowledged alert through the primary's loss;
    fewer acks within ``replica_ack_timeout_ms`` answer 503, and the sender's retry is deduplicated."""
    replica_ack_timeout_ms: int = Field(500, ge=1, le=10_000)
    """How long the webhook waits for ``min_replicas_ack`` replicas."""
    embedded_dir: Path | None = None
    """State directory of the shared embedded Redis (socket, lock, pid and AOF files); unset:
    ``$XDG_STATE_HOME/aiops-responder/redis``, else ``~/.local/state/aiops-responder/redis``."""


def default_embedded_dir(env: Mapping[str, str] | None = None) -> Path:
    """The per-user state directory of the embedded Redis (XDG base directory specification)."""
    env = os.environ if env is None else env
    state_home = env.get("XDG_STATE_HOME")
    if state_home and Path(state_home).is_absolute():
        return Path(state_home) / "aiops-responder" / "redis"
    home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    return home / ".local" / "state" / "aiops-responder" / "redis"


class PrometheusSettings(Section):
    """The Prometheus that evidence queries and validation checks ask."""

    url: str = "http://127.0.0.1:9090"
    """Prometheus base URL (``PROMETHEUS_URL``)."""
    timeout_s: float = Field(10.0, gt=0)
    """Per-query timeout in seconds."""
    verify_tls: bool = True
    """Verify the server certificate on https URLs."""
    bearer_token_file: Path | None = None
    """File holding a bearer token for Prometheus, if it needs one."""


class KubernetesSettings(Section):
    """The Kubernetes API server that evidence is read from and approved actions are applied to."""

    kubeconfig: Path | None = None
    """Kubeconfig file (``KUBECONFIG``). Unset: in-cluster service account, else ~/.kube/config."""
    context: str | None = None
    """Kubeconfig context to use; the current context when unset."""
    timeout_s: float = Field(10.0, gt=0)
    """Per-request timeout for API server calls."""


class AuthSettings(Section):
    """Who may call the receiver: tokens with the roles webhook, viewer and approver."""

    tokens_file: Path | None = None
    """YAML list of ``{name, role, token}`` or ``{name, role, sha256}`` (``AIOPS_TOKENS_FILE``)."""
    session_ttl_s: int = Field(8 * 3600, ge=60, le=7 * 86400)
    """How long a web-page sign-in lasts before the token must be typed again (the session cookie's age)."""


class RulesSettings(Section):
    """The YAML rules that match alerts to playbooks."""

    dir: Path = DEFAULT_RULES_DIR
    """Directory whose ``*.yaml`` files hold the rules (``AIOPS_RULES_DIR``)."""
    reload_interval_s: float = Field(5.0, ge=0)
    """How often to check the directory for changes; 0 turns polling off (SIGHUP still reloads)."""


class NamespaceSettings(Section):
    """Namespaces approved actions may touch."""

    allow: list[str] = Field(default_factory=list)
    """Namespaces actions may touch; empty means every namespace not denied."""
    deny: list[str] = Field(default_factory=lambda: list(DEFAULT_DENIED_NAMESPACES))
    """Namespaces never touched, whatever a rule says."""
    own: str | None = Field(default_factory=in_cluster_namespace)
    """The responder's own namespace, never touched whatever allow and deny say (``AIOPS_NAMESPACES_OWN``);
    default: the pod's namespace from its service account, when it runs in a cluster."""

    @field_validator("own")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return value.strip() or None

    def permits(self, namespace: str) -> bool:
        """True when actions may touch ``namespace``."""
        if namespace in self.deny or namespace == self.own:
            return False
        return not self.allow or namespace in self.allow


class LimitSettings(Section):
    """Bounds on what the receiver accepts and the evidence keeps."""

    max_body_bytes: int = Field(1024 * 1024, gt=0)
    """Largest webhook body accepted; larger gets 413."""
    max_alerts_per_payload: int = Field(1000, gt=0)
    """Most alerts one webhook payload may carry."""
    max_label_name_chars: int = Field(256, gt=0)
    """Longest label or annotation name in a webhook payload; longer gets 400 naming the field."""
    max_label_value_chars: int = Field(1024, gt=0)
    """Longest label value (and alert fingerprint) in a webhook payload; longer gets 400 naming the label."""
    max_annotation_value_chars: int = Field(16 * 1024, gt=0)
    """Longest annotation value (and generatorURL) in a webhook payload; longer gets 400 naming it."""
    max_labels_per_alert: int = Field(64, gt=0)
    """Most labels one alert (or the payload's common and group labels) may carry; more gets 400."""
    max_annotations_per_alert: int = Field(64, gt=0)
    """Most annotations one alert (or the payload's common annotations) may carry; more gets 400."""
    log_tail_lines: int = Field(100, gt=0)
    """Lines of a container's previous log kept as evidence."""
    log_tail_bytes: int = Field(16 * 1024, gt=0)
    """Bytes of a container's previous log kept as evidence."""
    max_stored_alert_text: int = Field(4096, gt=0)
    """Longest label or annotation value kept in stored alerts (jobs, proposals, records); longer values are
    cut there and end with a marker such as ``…[truncated 12345 chars]`` (the webhook still accepts them)."""


class AlertSettings(Section):
    """How incoming alerts are deduplicated and grouped into incidents."""

    dedup_window_s: int = Field(6 * 3600, gt=0)
    """Window in which a repeat of (fingerprint, status, startsAt) is a duplicate."""
    incident_window_s: int = Field(3600, gt=0)
    """Window in which alerts about the same pod, container and alert name, from any source (Alertmanager,
    ``aiops watch``) or episode, are one incident; a resolved alert ends the incident early."""
    resolved_supersedes: bool = True
    """A resolved alert marks its pending proposals ``superseded``."""
    intake: Literal["inline", "deferred"] = "inline"
    """``inline``: the webhook deduplicates, matches and queues before its 202, whose body counts what the
    payload made. ``deferred``: it validates, appends the payload to a Redis list in one round trip and
    answers ``{"received", "deferred": true}``; a drain job on the workers does the rest (same dedup, same
    exactly-once; the counts reach ``/metrics``). For high alert rates (docs/deploy.md, "Scale")."""


class ProposalSettings(Section):
    """Lifetime of proposals and audit records."""

    default_expires_after_s: int = Field(3600, gt=0)
    """Pending proposals expire after this unless the rule says otherwise."""
    retention_days: int = Field(30, gt=0)
    """How long proposals, records and full adviser answers are kept."""


# --- the environment of adviser CLIs: an allowlist, never the worker's own credentials ----------------
# What every adviser CLI gets from the worker's environment (LC_* as well); anything else only when listed.
ADVISER_BASE_ENV = ("PATH", "HOME", "LANG", "LANGUAGE", "TMPDIR", "TZ")
KUBECTL_AI_ENV = (
    "GEMINI_API_KEY",
    "OPENAI_API_KEY",
    "OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_ENDPOINT",
    "ANTHROPIC_API_KEY",
    "GROK_API_KEY",
    "OLLAMA_HOST",
    "LLAMACPP_HOST",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
)
K8SGPT_ENV = (
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "K8SGPT_BACKEND",
    "K8SGPT_MODEL",
    "K8SGPT_BASEURL",
    "K8SGPT_PASSWORD",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
)
# The worker's Redis URL, settings, kubeconfig and in-cluster API server: never an adviser's.
_NEVER_PASSED_PREFIXES = ("REDIS_", "AIOPS_", "KUBERNETES_", "PROMETHEUS_")
_NEVER_PASSED = frozenset({"KUBECONFIG"})
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def _never_passed(name: str) -> bool:
    return name.upper() in _NEVER_PASSED or name.upper().startswith(_NEVER_PASSED_PREFIXES)


def checked_passthrough(names: list[str]) -> list[str]:
    """``names`` for an adviser's ``env_passthrough``; refuses the worker's own credentials."""
    refused = [name for name in names if _never_passed(name)]
    if refused:
        raise ValueError(
            f"{', '.join(refused)} may not be passed to an adviser: REDIS_*, AIOPS_*, KUBERNETES_*, "
            "PROMETHEUS_* and KUBECONFIG are the worker's own (an adviser's kubeconfig is its section's)"
        )
    return names


def adviser_environment(
    passthrough: list[str], kubeconfig: Path | None, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The whole environment of an adviser CLI: ``ADVISER_BASE_ENV``, LC_*, the ``passthrough`` names that
    are set, and KUBECONFIG pointing at the adviser's own (read-only) kubeconfig when it has one. Never the
    Redis URL, AIOPS_* settings, the worker's kubeconfig, KUBERNETES_SERVICE_* or a value pointing into the
    ServiceAccount directory."""
    env = os.environ if environ is None else environ
    wanted = set(ADVISER_BASE_ENV) | set(passthrough)
    chosen = {
        name: value
        for name, value in env.items()
        if (name in wanted or name.startswith("LC_"))
        and not _never_passed(name)
        and SERVICE_ACCOUNT_DIR not in value
    }
    if kubeconfig is not None:
        chosen["KUBECONFIG"] = str(kubeconfig)
    return chosen


class _CliAdviser(Section):
    """What the two advisers run as local programs share: an allowlisted environment."""

    if TYPE_CHECKING:  # fields of the subclasses, which keep their own order, defaults and docs
        env_passthrough: list[str]
        kubeconfig: Path | None

    @field_validator("env_passthrough", check_fields=False)
    @classmethod
    def _no_worker_credentials(cls, value: list[str]) -> list[str]:
        return checked_passthrough(value)

    def process_environment(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """The whole environment the program is started with (``environ``: the worker's, by default)."""
        return adviser_environment(self.env_passthrough, self.kubeconfig, environ)


class KubectlAiSettings(_CliAdviser):
    """kubectl-ai, run as a CLI with a read-only kubeconfig."""

    enabled: bool = False
    """Consult kubectl-ai in investigations whose rule lists it."""
    binary: str = "kubectl-ai"
    """Executable name (looked up on PATH) or path."""
    llm_provider: str = "gemini"
    """Passed as ``--llm-provider``."""
    model: str | None = None
    """Passed as ``--model``; kubectl-ai's default model when unset."""
    max_iterations: int = Field(10, gt=0)
    """Passed as ``--max-iterations``: most tool calls kubectl-ai may make for one question."""
    kubeconfig: Path | None = None
    """A kubeconfig bound to a read-only role; required when enabled."""
    timeout_s: float = Field(120.0, gt=0)
    """Seconds one kubectl-ai run may take before it is stopped."""
    env_passthrough: list[str] = Field(default_factory=lambda: list(KUBECTL_AI_ENV))
    """Variables of the worker's environment kubectl-ai also gets (its LLM provider's key and endpoint);
    besides these it gets only PATH, HOME, LANG, LC_*, TMPDIR, TZ and KUBECONFIG set to ``kubeconfig``."""


class KagentSettings(Section):
    """kagent, reached over its A2A JSON-RPC interface."""

    enabled: bool = False
    """Consult kagent in investigations whose rule lists it."""
    url: str | None = None
    """kagent controller base URL, e.g. http://kagent-controller.kagent:8083."""
    namespace: str = "kagent"
    """Namespace of the kagent agent to ask."""
    agent: str = "k8s-agent"
    """Name of the kagent agent to ask."""
    token_file: Path | None = None
    """File holding a bearer token for the kagent controller, if it needs one."""
    timeout_s: float = Field(300.0, gt=0)
    """Seconds one kagent task may take."""


class HolmesSettings(Section):
    """HolmesGPT, reached over its HTTP API."""

    enabled: bool = False
    """Consult HolmesGPT in investigations whose rule lists it."""
    url: str | None = None
    """HolmesGPT server base URL."""
    model: str | None = None
    """Model name sent with each request; the server's default when unset."""
    timeout_s: float = Field(180.0, gt=0)
    """Seconds one HolmesGPT request may take."""


class K8sgptSettings(_CliAdviser):
    """k8sgpt, run as a CLI (``k8sgpt analyze``)."""

    enabled: bool = False
    """Consult k8sgpt in investigations whose rule lists it."""
    binary: str = "k8sgpt"
    """Executable name (looked up on PATH) or path."""
    explain: bool = False
    """Pass ``--explain`` (asks k8sgpt's AI backend for an explanation; needs one configured)."""
    kubeconfig: Path | None = None
    """Kubeconfig passed as ``--kubeconfig``; k8sgpt's own default when unset."""
    timeout_s: float = Field(60.0, gt=0)
    """Seconds one k8sgpt run may take before it is stopped."""
    env_passthrough: list[str] = Field(default_factory=lambda: list(K8SGPT_ENV))
    """Variables of the worker's environment k8sgpt also gets (its config location and backend settings);
    besides these it gets only PATH, HOME, LANG, LC_*, TMPDIR, TZ and KUBECONFIG set to ``kubeconfig``."""


class AdviserSettings(Section):
    """AI diagnosis tools consulted after the built-in diagnosis; each is off until enabled."""

    budget_s: float = Field(600.0, gt=0)
    """Overall time budget for all advisers of one investigation."""
    max_prompt_bytes: int = Field(16 * 1024, gt=0)
    """Cap on the evidence text sent to an adviser."""
    breaker_failures: int = Field(3, gt=0)
    """Consecutive failures that open an adviser's circuit breaker."""
    breaker_cooldown_s: int = Field(300, gt=0)
    """How long an open breaker skips the adviser."""
    max_answer_chars: int = Field(4000, gt=0)
    """Answer length kept inline in the record; the full text is stored aside."""
    kubectl_ai: KubectlAiSettings = Field(default_factory=KubectlAiSettings)
    """kubectl-ai (YAML only)."""
    kagent: KagentSettings = Field(default_factory=KagentSettings)
    """kagent (YAML only)."""
    holmesgpt: HolmesSettings = Field(default_factory=HolmesSettings)
    """HolmesGPT (YAML only)."""
    k8sgpt: K8sgptSettings = Field(default_factory=K8sgptSettings)
    """k8sgpt (YAML only)."""


class NotifySink(Section):
    """One place notifications go."""

    type: Literal["log", "webhook"] = "log"
    """``log`` writes a JSON line; ``webhook`` POSTs the proposal summary as JSON."""
    url: str | None = None
    """Where a ``webhook`` sink POSTs to."""
    timeout_s: float = Field(5.0, gt=0)
    """Seconds a ``webhook`` sink may take to answer."""
    secret: SecretStr | None = None
    """Key a ``webhook`` sink signs its body with (HMAC-SHA256 in ``X-Aiops-Signature``); unset:
    ``notify.webhook_secret``."""
    attempts: int = Field(3, gt=0, le=10)
    """Tries of a ``webhook`` sink before its failure is recorded (retried on 5xx, 429 and network errors)."""
    backoff_s: float = Field(0.5, ge=0, le=30)
    """Wait before a ``webhook`` sink's second try; doubled before each later one."""


class NotifySettings(Section):
    """Telling people that a proposal waits for them, or what became of it."""

    public_url: str | None = None
    """Base URL people use to reach this receiver (e.g. https://aiops.example.org); notification links start
    with it. Unset: links are relative paths, and start-up and /readyz say so."""
    sinks: list[NotifySink] = Field(default_factory=lambda: [NotifySink()])
    """Where notifications go: a list of ``{type, url, timeout_s, secret, attempts, backoff_s}`` (YAML
    only)."""
    webhook_secret: SecretStr | None = None
    """Key every ``webhook`` sink without its own ``secret`` signs its body with; unset: bodies unsigned."""
    slack_bot_token: SecretStr | None = None
    """Slack bot token (``xoxb-...``, scope ``chat:write``); with ``slack_channel`` it turns the Slack
    notifications on."""
    slack_channel: str | None = None
    """Channel id (or name) proposals are posted to, with buttons Approve / Reject / Open."""
    slack_signing_secret: SecretStr | None = None
    """The Slack app's signing secret: ``POST /integrations/slack/actions`` refuses requests it did not
    sign (and answers 404 while it is unset)."""
    slack_users: dict[str, str] = Field(default_factory=dict)
    """Slack user id -> approver identity (``{U0123ABCD: alice}``; in the environment
    ``U0123ABCD=alice,U0456EFGH=bob``); a button pressed by anyone else is refused and recorded."""
    slack_api_url: str = "https://slack.com/api/"
    """Base URL of Slack's Web API (a test points it at a local stand-in)."""
    slack_timeout_s: float = Field(5.0, gt=0)
    """Seconds one Slack Web API call may take."""

    @field_validator("public_url")
    @classmethod
    def _absolute_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an absolute http:// or https:// URL, not {value!r}")
        return value

    @property
    def slack_enabled(self) -> bool:
        """Proposals are posted to Slack: a bot token and a channel are set."""
        return self.slack_bot_token is not None and bool(self.slack_channel)

    def link_warning(self) -> str | None:
        """What to tell people when links cannot be absolute (no public URL); None when they can."""
        if self.public_url is not None:
            return None
        return (
            "notify.public_url (env AIOPS_NOTIFY_PUBLIC_URL) is not set: notification links are relative "
            "paths such as /ui/approvals/ID; set it to the URL people use to reach this receiver"
        )


class ScheduleSettings(Section):
    """Periodic jobs run by ``aiops cron``."""

    expire_interval_s: int = Field(60, gt=0)
    """How often pending proposals past their expiry are moved to ``expired``."""
    health_report_cron: str = "0 0 * * 1"
    """Weekly health report, Mondays 00:00 UTC."""
    security_audit_cron: str = "0 0 * * 5"
    """Weekly security audit, Fridays 00:00 UTC."""


class ServerSettings(Section):
    """``aiops serve``: the receiver's HTTP server."""

    host: str = "127.0.0.1"
    """Address to listen on (``--host`` overrides it); 0.0.0.0 for every interface."""
    port: int = Field(8080, gt=0, lt=65536)
    """Port to listen on (``--port`` overrides it)."""
    workers: int = Field(1, gt=0)
    """Gunicorn worker processes; scale with replicas rather than processes."""
    threads: int = Field(8, gt=0)
    """Threads per gunicorn worker (requests served at once by one worker)."""


class CliSettings(Section):
    """``aiops approvals`` and ``aiops records``: they call the receiver's HTTP API with a token, so the
    identity recorded for a decision is the token's name."""

    url: str | None = None
    """Receiver base URL the CLI calls; unset: the receiver on this machine, ``http://127.0.0.1:<server.port>``."""
    token_file: Path | None = None
    """File holding the CLI's API token (a viewer token reads, an approver token also decides)."""
    token: SecretStr | None = None
    """The API token itself, for when no file is used; give either this or ``token_file``, not both."""

    @field_validator("url")
    @classmethod
    def _absolute_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an absolute http:// or https:// URL, not {value!r}")
        return value

    @model_validator(mode="after")
    def _one_token_source(self) -> CliSettings:
        if self.token_file is not None and self.token is not None:
            raise ValueError(
                "give cli.token_file (AIOPS_CLI_TOKEN_FILE) or cli.token (AIOPS_CLI_TOKEN), not both"
            )
        return self


class WorkerSettings(Section):
    """``aiops worker``: RQ workers and how they find jobs of workers that died."""

    job_monitoring_interval_s: int = Field(30, gt=0)
    """How often a busy worker renews its heartbeat; a dead worker's job is recovered an interval plus the
    heartbeat grace later."""
    maintenance_interval_s: int = Field(60, gt=0)
    """How often a worker sweeps abandoned jobs (RQ's default is 10 minutes)."""
    heartbeat_grace_s: int = Field(60, gt=0)
    """Grace after a missed heartbeat before a job counts as abandoned (RQ's fixed value is 60 s)."""


class WatchSettings(Section):
    """``aiops watch``: the Kubernetes watch source that turns pod failures into alerts within seconds."""

    timeout_s: int = Field(300, gt=0)
    """Server-side length of one watch request; the watch then resumes from the last resourceVersion."""
    backoff_max_s: float = Field(30.0, gt=0)
    """Longest wait before reconnecting after an error (the wait doubles from half a second)."""
    waiting_reasons: list[str] = Field(
        default_factory=lambda: [
            "ImagePullBackOff",
            "ErrImagePull",
            "InvalidImageName",
            "CreateContainerConfigError",
            "CreateContainerError",
        ]
    )
    """Waiting reasons reported as ``KubeContainerWaiting`` (CrashLoopBackOff is ``KubePodCrashLooping``)."""
    oom_recent_s: int = Field(900, gt=0)
    """At start-up, an OOM kill of a container that runs again counts only if it ended this recently."""
    resolve_after_s: int = Field(900, gt=0)
    """Seconds a container must run Ready to end its alerts (a crash loop is Ready briefly at each start)."""
    send_resolved: bool = True
    """Send a resolved alert when a container recovers or its pod is deleted; it ends the incident."""


class LoggingSettings(Section):
    """What every ``aiops`` process logs, on standard error."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Lowest level logged (audit entries are logged whatever the level)."""
    json_lines: bool = True
    """Log as one JSON object per line."""


class SecuritySettings(Section):
    """The weekly security audit: registries, namespace criticality, rotation age, exceptions."""

    allowed_registries: list[str] = Field(default_factory=list)
    """Registries images may come from (comma-separated in the environment); empty: no registry check."""
    critical_namespaces: list[str] = Field(default_factory=lambda: list(DEFAULT_DENIED_NAMESPACES))
    """Namespaces whose findings weigh double in the ranking (exposure)."""
    secret_max_age_days: int = Field(90, gt=0)
    """Secrets older than this many days are reported for rotation."""
    exceptions_file: Path | None = None
    """YAML file of audit exceptions ({check, selector, reason, expires}); unset: none."""


class ServiceQueries(Section):
    """The PromQL of one service's health in the weekly report (``{window}`` is the report's period)."""

    latency_buckets: str
    """A histogram's buckets as a rate, grouped by ``le``, e.g.
    ``sum by (le) (rate(http_request_duration_seconds_bucket{service="checkout"}[{window}]))``."""
    error_ratio: str
    """One number: the share of failed requests over the period (0 to 1)."""


class ReportSettings(Section):
    """The weekly reports (health, security): storage bounds and the health report's service queries."""

    retention_days: int = Field(90, gt=0)
    """Stored reports older than this many days are deleted."""
    max_bytes: int = Field(4_000_000, gt=1024)
    """Largest stored report in JSON bytes; a larger one keeps its worst findings and says what it dropped."""
    max_per_kind: int = Field(60, gt=0)
    """Reports kept per kind; storing one more deletes the oldest."""
    pending_after_s: int = Field(300, gt=0)
    """A pod Pending longer than this is a finding."""
    latency_buckets: str = (
        "sum by (namespace, service, le) (rate(http_request_duration_seconds_bucket[{window}]))"
    )
    """Every service's latency histogram as a rate by ``le`` (grouped by ``namespace`` and ``service``)."""
    requests_total: str = (
        "sum by (namespace, service) (increase(http_request_duration_seconds_count[{window}]))"
    )
    """Every service's requests over the whole period (its volume, and how much of the week had data)."""
    requests: str = (
        "sum by (namespace, service) (label_replace(sum by (namespace, pod)"
        " (rate(http_requests_total[{window}]))"
        " * on (namespace, pod) group_left (label_app) max by (namespace, pod, label_app)"
        ' (max_over_time(kube_pod_labels[{window}])), "service", "$1", "label_app", "(.+)"))'
    )
    """Every service's request rate (pods joined to their ``app`` label, which names the Service)."""
    errors: str = (
        "sum by (namespace, service) (label_replace(sum by (namespace, pod)"
        ' (rate(http_requests_total{{code=~"5.."}}[{window}]))'
        " * on (namespace, pod) group_left (label_app) max by (namespace, pod, label_app)"
        ' (max_over_time(kube_pod_labels[{window}])), "service", "$1", "label_app", "(.+)"))'
    )
    """Every service's 5xx rate, grouped like ``requests``."""
    services: dict[str, ServiceQueries] = Field(default_factory=dict)
    """Queries for one service (``namespace/name``) that replace the discovered ones (YAML only)."""
    error_ratio_warn: float = Field(0.01, ge=0, le=1)
    """A service whose weekly error ratio is above this is a high finding (above 5x this: critical)."""
    latency_p99_warn_s: float = Field(1.0, gt=0)
    """A service whose weekly p99 latency is above this many seconds is a medium finding."""


class ScalingSettings(Section):
    """US2 proactive scaling: the HPA target, the headroom on the peak, and the prices of the cost model."""

    target_utilization: float = Field(0.70, gt=0, le=1)
    """CPU usage / CPU request the proposed HPA aims at when the rule sets none (0.70 is 70 %)."""
    headroom: float = Field(0.20, ge=0, le=5)
    """Share added on top of the week's peak demand when sizing maxReplicas (0.20 is 20 % more)."""
    price_per_vcpu_hour: float = Field(0.031611, ge=0)
    """Price of one requested vCPU for one hour (OpenCost's default)."""
    price_per_gib_hour: float = Field(0.004237, ge=0)
    """Price of one requested GiB of memory for one hour (OpenCost's default)."""
    currency: str = "USD"
    """Currency of the prices above, shown with every cost figure."""
    history_days: int = Field(7, gt=0, le=60)
    """Days of CPU history read for the peak and the replay (the longest available when less is stored)."""


class RolloutSettings(Section):
    """US4 rollout gate: the defaults of an analysis; a ``rollout-gate`` rule's ``rollout:`` section wins."""

    window_s: int = Field(120, gt=0)
    """How long the new ReplicaSet's first replicas are analysed before the rollout may continue."""
    interval_s: float = Field(10.0, gt=0)
    """Seconds between the analysis rounds that are stored and shown."""
    check_every_s: float = Field(2.0, gt=0)
    """Seconds between looks at Prometheus; a failing look decides at once (the decision lag)."""
    max_error_rate: float = Field(0.05, ge=0, le=1)
    """The new ReplicaSet fails when its 5xx share of requests is above this (0.05 is 5 %)."""
    max_increase: float | None = Field(None, ge=0, le=1)
    """It also fails when its share is above the old ReplicaSet's by more than this (None: not compared)."""
    min_request_rate: float = Field(0.1, ge=0)
    """Requests per second the new ReplicaSet must serve for a verdict; fewer is inconclusive."""
    max_updated_replicas: int | None = Field(None, gt=0)
    """End the analysis early, healthy, once this many replicas are updated (None: the whole window)."""
    wait_for_rollout_s: int = Field(600, gt=0)
    """A gate asked for with no rollout in progress waits this long for the next one."""
    watch_label: str = "aiops.dev/rollout-gate"
    """Label or annotation (value ``"true"``) opting a Deployment in to gates started by ``aiops watch``."""


class RightsizingSettings(Section):
    """US3 resource right-sizing: the margin, the history it needs, the guards and the daily schedule.

    Prices come from ``scaling`` (one cost model)."""

    margin: float = 0.30
    """Safety margin on p95 (requests) and on the observed maximum (memory limit); never below 0.30."""
    history_days: int = Field(7, ge=7, le=90)
    """Days of usage analysed; a container with less history gets no proposal (never below 7)."""
    cpu_limit_policy: Literal["none", "keep", "ratio"] = "keep"
    """CPU limit: ``none`` (removed, no throttling), ``keep`` (as it is, raised to the request if below it)
    or ``ratio`` (``cpu_limit_ratio`` × the new request)."""
    cpu_limit_ratio: float = Field(2.0, ge=1.0, le=20.0)
    """CPU limit / CPU request when ``cpu_limit_policy`` is ``ratio``."""
    startup_exclusion_minutes: int = Field(5, ge=0, le=120)
    """Usage in a container's first minutes is left out of the percentiles (still counted for limits)."""
    hysteresis: float = Field(0.10, ge=0, le=1)
    """A change smaller than this share of the current value is not proposed."""
    step_s: int = Field(300, ge=15, le=3600)
    """Resolution of the percentile subqueries (``quantile_over_time(...[7d:5m])``)."""
    rate_window: str = "5m"
    """Window of the CPU ``rate()`` inside the subqueries."""
    query_concurrency: int = Field(4, ge=1, le=16)
    """Queries of one namespace sent to Prometheus at the same time."""
    backtest_days: int = Field(1, ge=1, le=7)
    """The last days of the window held out to check the recommendation fitted on the days before."""
    cpu_floor_millicores: int = Field(10, ge=1)
    """Smallest CPU request proposed."""
    memory_floor_mib: int = Field(32, ge=1)
    """Smallest memory request proposed, in MiB."""
    watch_window_s: int = Field(3600, gt=0)
    """After the change: how long restarts and OOM kills are watched (default 1 h)."""
    ready_within_s: int = Field(300, gt=0)
    """After the change: every pod must be Ready within this many seconds."""
    validate_after_s: int = Field(30, gt=0)
    """First validation round this many seconds after the change (then doubling)."""
    schedule_cron: str = "0 3 * * *"
    """Daily analysis of ``namespaces`` that parks proposals (03:00 UTC); empty: no schedule."""
    namespaces: list[str] = Field(default_factory=list)
    """Namespaces the schedule analyses; empty: ``namespaces.allow`` (nothing when that is empty too)."""

    @field_validator("margin")
    @classmethod
    def _margin_floor(cls, value: float) -> float:
        if not 0.30 <= value <= 5:
            raise ValueError(f"margin must be between 0.30 and 5 (30 % is the floor), not {value}")
        return value


class Settings(Section):
    """Everything aiops-responder can be configured with."""

    redis: RedisSettings = Field(default_factory=RedisSettings)
    prometheus: PrometheusSettings = Field(default_factory=PrometheusSettings)
    kubernetes: KubernetesSettings = Field(default_factory=KubernetesSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    rules: RulesSettings = Field(default_factory=RulesSettings)
    namespaces: NamespaceSettings = Field(default_factory=NamespaceSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    proposals: ProposalSettings = Field(default_factory=ProposalSettings)
    advisers: AdviserSettings = Field(default_factory=AdviserSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    schedules: ScheduleSettings = Field(default_factory=ScheduleSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    cli: CliSettings = Field(default_factory=CliSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    watch: WatchSettings = Field(default_factory=WatchSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    reports: ReportSettings = Field(default_factory=ReportSettings)
    scaling: ScalingSettings = Field(default_factory=ScalingSettings)
    rightsizing: RightsizingSettings = Field(default_factory=RightsizingSettings)
    rollouts: RolloutSettings = Field(default_factory=RolloutSettings)

    @field_validator("namespaces")
    @classmethod
    def _deny_wins(cls, value: NamespaceSettings) -> NamespaceSettings:
        clash = set(value.allow) & set(value.deny)
        if clash:
            raise ValueError(f"namespaces both allowed and denied: {sorted(clash)}")
        return value


STANDARD_VARIABLES = {
    "REDIS_URL": ("redis", "url"),
    "PROMETHEUS_URL": ("prometheus", "url"),
    "KUBECONFIG": ("kubernetes", "kubeconfig"),
}
# Short names the design promises, besides the regular AIOPS_<SECTION>_<FIELD> form.
SHORT_VARIABLES = {
    "AIOPS_TOKENS_FILE": ("auth", "tokens_file"),
}


def _env_overrides(env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    overrides: dict[str, dict[str, Any]] = {}
    sections = Settings.model_fields
    for section_name, section_field in sections.items():
        section_model = section_field.annotation
        if not (isinstance(section_model, type) and issubclass(section_model, BaseModel)):
            continue  # every field of Settings is a section; this tells mypy so
        for field_name, field in section_model.model_fields.items():
            if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
                continue  # nested sections come from the YAML file only
            var = f"AIOPS_{section_name}_{field_name}".upper()
            if var in env:
                overrides.setdefault(section_name, {})[field_name] = _parse_env_value(env[var], field)
    for var, (section_name, field_name) in {**SHORT_VARIABLES, **STANDARD_VARIABLES}.items():
        if env.get(var):
            overrides.setdefault(section_name, {})[field_name] = env[var]
    return overrides


def _parse_env_value(raw: str, field: Any) -> Any:
    if getattr(field.annotation, "__origin__", None) is list:
        return [item.strip() for item in raw.split(",") if item.strip()]
    if getattr(field.annotation, "__origin__", None) is dict:
        # ``key=value,key=value``; an item without ``=`` is left for validation to name.
        pairs = [item.strip() for item in raw.split(",") if item.strip()]
        split = [pair.partition("=") for pair in pairs]
        return {key.strip(): value.strip() for key, sep, value in split if sep} or raw
    return raw


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _env_name(location: tuple[Any, ...]) -> str:
    path = [str(part) for part in location if not isinstance(part, int)]
    if len(path) == 2:
        return f" (env AIOPS_{path[0]}_{path[1]})".upper().replace("(ENV", "(env")
    return ""


def load_settings(env: Mapping[str, str] | None = None, config_file: str | Path | None = None) -> Settings:
    """Build the settings from ``config_file`` (or ``AIOPS_CONFIG``) and the environment.

    Raises ``SettingsError`` naming the first bad setting.
    """
    env = os.environ if env is None else env
    path = config_file or env.get("AIOPS_CONFIG")
    data: dict[str, Any] = {}
    if path:
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise SettingsError(f"AIOPS_CONFIG: cannot read {path}: {exc.strerror}") from exc
        except yaml.YAMLError as exc:
            raise SettingsError(f"AIOPS_CONFIG: {path} is not valid YAML: {exc}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise SettingsError(f"AIOPS_CONFIG: {path} must hold a mapping of sections")
        data = loaded or {}
    data = _merge(data, _env_overrides(env))
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise SettingsError(f"setting {where}{_env_name(first['loc'])}: {first['msg']}") from exc
    if settings.redis.embedded_dir is None:
        settings.redis.embedded_dir = default_embedded_dir(env)
    return settings


def child_environment(overrides: Mapping[str, str]) -> dict[str, str]:
    """This process's environment plus ``overrides``, for a child process (the demo's worker)."""
    return {**os.environ, **overrides}
