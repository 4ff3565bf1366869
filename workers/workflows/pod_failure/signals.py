"""The table of pod-failure signals: each entry is one piece of evidence that points at a category.

A ``Signal`` says where it looks (``where``), what must match there, how much it weighs, and the
sentence a person reads when it fires. The classifier evaluates every entry against the evidence and
combines the weights per category. Adding a pattern, or a whole new category, is one more entry in
``SIGNALS``; nothing else has to change.

Where a signal can look:

``waiting``     a container's ``state.waiting``: ``reason`` full-matches, ``pattern`` searches the message
``terminated``  ``lastState.terminated`` (or ``state.terminated``): ``reason``/``not_reason``, ``exit_codes``,
                ``signal``, ``pattern`` on the message
``log``         each line of the container's previous log: ``pattern`` searches, ``exclude`` vetoes
``event``       the pod's events: ``reason`` full-matches the event reason, ``pattern`` searches the message
``metric``      ``metric=(numerator, denominator, ratio)``: fires when numerator >= ratio x denominator
``node``        a node condition in a bad state whose type full-matches ``reason``

``role`` limits a container-level signal to init containers (``"init"``) or to the main ones (``"app"``).
For a ``log`` signal, ``reason``/``not_reason`` and ``exit_codes`` are conditions on the container's last
termination: a JVM ``OutOfMemoryError`` means the container's memory limit only when the kernel
OOM-killed it, and ``Permission denied`` from a shell that exits 126 is an entrypoint that cannot run.
Weights are independent evidence strengths in 0..1; a category's score is 1 - prod(1 - weight) over
its distinct signals, so two medium signals beat one, and a specific signal (0.7+) beats a generic one.

``kind`` says what a signal tells: ``specific`` names a cause; ``generic`` only says that the process
died (an exception header, a traceback, a panic, an abort exit code), so a specific terminal message
beside it explains it better; ``probe`` is the kubelet's verdict on a probe, which is a consequence,
not a cause, when the process exits on its own (``weighing`` applies both rules).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

Where = Literal["waiting", "terminated", "log", "event", "metric", "node"]
Role = Literal["any", "init", "app"]
Kind = Literal["specific", "generic", "probe"]

# Lines in which a connection problem is about the pod itself (localhost), not another service.
LOCALHOST = r"(?i)(\blocalhost\b|\b127\.0\.0\.1\b|\[::1\]|\b0\.0\.0\.0\b)"
CONNECTION_REFUSED = r"(?i)(connection refused|ECONNREFUSED|connection to \S+ refused)"
_LOCAL, _REFUSED = LOCALHOST.removeprefix("(?i)"), CONNECTION_REFUSED.removeprefix("(?i)")
_REFUSED_ON_LOCALHOST = f"(?i){_REFUSED}.*{_LOCAL}|{_LOCAL}.*{_REFUSED}"


@dataclass(frozen=True)
class Signal:
    """One table entry; see the module docstring for what each field means per ``where``."""

    name: str
    category: str
    where: tuple[Where, ...]
    weight: float
    text: str
    """Sentence for the root cause; may use {container}, {reason}, {exit_code}, {match}, {node}."""
    reason: str | None = None
    pattern: str | None = None
    exclude: str | None = None
    not_reason: str | None = None
    exit_codes: tuple[int, ...] = ()
    signal: int | None = None
    role: Role = "any"
    metric: tuple[str, str, float] | None = None
    kind: Kind = "specific"


# Human titles per category; a category missing here is shown with its name.
CATEGORY_TITLES: dict[str, str] = {
    "oom_killed": "out of memory (OOMKilled)",
    "bad_config": "bad configuration",
    "missing_config_object": "missing ConfigMap or Secret",
    "probe_failure": "killed by its liveness/startup probe",
    "image_pull": "image cannot be pulled",
    "exec_error": "entrypoint cannot be executed",
    "permission_denied": "permission denied",
    "dependency_unavailable": "a dependency is unreachable",
    "app_crash": "application crash",
    "init_container_failure": "init container failing",
    "node_problem": "node problem",
    "unknown": "unknown cause",
}

_EVERYWHERE: tuple[Where, ...] = ("log", "terminated", "waiting", "event")

# A table: one entry per signal reads better than one argument per line.
# fmt: off
SIGNALS: tuple[Signal, ...] = (
    # --- oom_killed -------------------------------------------------------------------------------
    Signal("oom-reason", "oom_killed", ("terminated",), 0.9,
           "container {container} was killed by the kernel OOM killer at its memory limit "
           "(reason OOMKilled, exit {exit_code})", reason="OOMKilled"),
    Signal("oom-event", "oom_killed", ("event",), 0.5,
           "the node reported an OOM kill: {match}", pattern=r"(?i)OOMKill|memory cgroup out of memory"),
    Signal("oom-log", "oom_killed", ("log",), 0.5,
           "the log shows the process running out of memory: {match}",
           pattern=r"(?i)OutOfMemoryError|JavaScript heap out of memory|Cannot allocate memory|"
                   r"\bMemoryError\b|std::bad_alloc|runtime: out of memory", reason="OOMKilled"),
    Signal("oom-peak", "oom_killed", ("metric",), 0.4,
           "the memory working set peaked at {match} of the limit",
           metric=("memory_peak_bytes", "memory_limit_bytes", 0.95)),
    # --- probe_failure ----------------------------------------------------------------------------
    Signal("probe-killing", "probe_failure", ("event",), 0.7,
           "the kubelet restarted {container} because a probe failed: {match}",
           reason="Killing", pattern=r"(?i)failed (liveness|startup) probe", kind="probe"),
    Signal("probe-liveness-unhealthy", "probe_failure", ("event",), 0.6,
           "the liveness probe keeps failing: {match}",
           reason="Unhealthy", pattern=r"(?i)liveness probe failed", kind="probe"),
    Signal("probe-startup-unhealthy", "probe_failure", ("event",), 0.6,
           "the startup probe keeps failing: {match}",
           reason="Unhealthy", pattern=r"(?i)startup probe failed", kind="probe"),
    Signal("probe-sigkill", "probe_failure", ("terminated",), 0.35,
           "exit {exit_code} (SIGKILL) without OOMKilled: killed from outside the process, typically by the "
           "kubelet after failed liveness probes", exit_codes=(137,), not_reason="OOMKilled", role="app",
           kind="probe"),
    Signal("probe-sigterm", "probe_failure", ("terminated",), 0.2,
           "exit {exit_code} (SIGTERM): the container was asked to stop", exit_codes=(143,), role="app",
           kind="probe"),
    # --- image_pull -------------------------------------------------------------------------------
    Signal("image-pull-waiting", "image_pull", ("waiting",), 0.9,
           "the image of {container} cannot be pulled ({reason})",
           reason="ErrImagePull|ImagePullBackOff|InvalidImageName|ErrImageNeverPull|RegistryUnavailable"),
    Signal("image-pull-event", "image_pull", ("event",), 0.4,
           "the kubelet failed to pull the image: {match}", reason="Failed|BackOff",
           pattern=r"(?i)failed to pull image|back-off pulling image|ErrImagePull|ImagePullBackOff"),
    # --- missing_config_object ----------------------------------------------------------------------
    Signal("config-object-waiting", "missing_config_object", ("waiting",), 0.5,
           "{container} cannot be created: its configuration cannot be assembled ({reason})",
           reason="CreateContainerConfigError"),
    Signal("config-object-not-found", "missing_config_object", ("waiting", "event"), 0.9,
           "a referenced ConfigMap or Secret does not exist: {match}",
           pattern=r"(?i)(configmaps?|secrets?) \"[^\"]+\" not found|"
                   r"couldn't find key \S+ in (ConfigMap|Secret)"),
    # --- exec_error -------------------------------------------------------------------------------
    Signal("exec-format", "exec_error", _EVERYWHERE, 0.85,
           "the entrypoint binary is for another CPU architecture or not a binary: {match}",
           pattern=r"(?i)exec format error"),
    Signal("exec-not-in-path", "exec_error", _EVERYWHERE, 0.85,
           "the command does not exist in the image: {match}", pattern=r"(?i)executable file not found"),
    Signal("exec-no-such-file", "exec_error", _EVERYWHERE, 0.8,
           "the entrypoint path does not exist in the image: {match}",
           pattern=r"(?i)exec:? \"?[^\s\"]+\"?: (stat [^:]+: )?no such file or directory"),
    Signal("exec-permission", "exec_error", _EVERYWHERE, 0.8,
           "the entrypoint is not executable: {match}",
           pattern=r"(?i)exec:? \"?[^\s\"]+\"?: permission denied"),
    Signal("exec-shell-not-found", "exec_error", ("log",), 0.7,
           "the shell cannot find the command: {match}",
           pattern=r"(?i)(^|\s)(/bin/)?(ba|da)?sh: (line )?(\d+: )?(exec: )?\S+: (command )?not found"),
    Signal("exec-shell-cannot-run", "exec_error", ("log",), 0.8,
           "the shell could not run the entrypoint (exit 126: not executable, 127: not found): {match}",
           pattern=r"(?i)permission denied|not found|no such file or directory", exit_codes=(126, 127)),
    Signal("exec-exit-126-127", "exec_error", ("terminated",), 0.55,
           "exit {exit_code}: the command could not be run (126 not executable, 127 not found)",
           exit_codes=(126, 127)),
    Signal("exec-start-error", "exec_error", ("terminated", "waiting"), 0.5,
           "the container runtime could not start {container} ({reason})",
           reason="StartError|ContainerCannotRun|RunContainerError"),
    # --- permission_denied ------------------------------------------------------------------------
    Signal("permission-log", "permission_denied", ("log",), 0.7,
           "the process is denied access: {match}",
           pattern=r"(?i)permission denied|\bEACCES\b|operation not permitted|\bEPERM\b|invalid permissions|"
                   r"wrong ownership|permissions \S+ for \S+ are too open|group or world access",
           exclude=r"(?i)\bexec\b"),
    Signal("permission-readonly-fs", "permission_denied", ("log",), 0.6,
           "the process writes to a read-only file system: {match}", pattern=r"(?i)read-only file system"),
    Signal("permission-rbac", "permission_denied", ("log",), 0.75,
           "the service account lacks an RBAC permission: {match}",
           pattern=r"(?i)forbidden: User \"system:serviceaccount:|cannot (get|list|watch|create|update|patch|"
                   r"delete) resource"),
    Signal("permission-cloud", "permission_denied", ("log",), 0.5,
           "a cloud API denied access: {match}", pattern=r"AccessDenied|is not authorized to perform"),
    # --- dependency_unavailable ---------------------------------------------------------------------
    Signal("dependency-refused", "dependency_unavailable", ("log",), 0.6,
           "another service refuses connections: {match}", pattern=CONNECTION_REFUSED, exclude=LOCALHOST),
    Signal("dependency-dns", "dependency_unavailable", ("log",), 0.65,
           "a service name does not resolve: {match}",
           pattern=r"(?i)no such host|Name or service not known|Temporary failure in name resolution|"
                   r"getaddrinfo (ENOTFOUND|EAI_AGAIN)|could not translate host name|NXDOMAIN|"
                   r"could not resolve (host|address)|host not found|UnknownHostException|"
                   r"nodename nor servname|DNS resolution failed|couldn't resolve|no resolvable"),
    Signal("dependency-timeout", "dependency_unavailable", ("log",), 0.4,
           "a connection to another service times out: {match}",
           pattern=r"(?i)i/o timeout|connection timed out|\bETIMEDOUT\b|timed out connecting|"
                   r"connect timeout|timed out waiting for a node assignment"),
    Signal("dependency-connect-failed", "dependency_unavailable", ("log",), 0.35,
           "the app cannot connect to another service: {match}",
           pattern=r"(?i)(could not|unable to|failed to|cannot) connect to|"
                   r"is the server running on that host|could not be established|broker may not be available|"
                   r"DBConnection\.ConnectionError|ConnectionNotEstablished|"
                   r"error occurred while establishing a connection|"
                   r"server was not found or was not accessible|could not open a connection|"
                   r"communications link failure|no (reachable |healthy )?(servers|upstream)( available)?",
           exclude=LOCALHOST),
    Signal("dependency-upstream", "dependency_unavailable", ("log",), 0.35,
           "an upstream service is unavailable: {match}",
           pattern=r"(?i)503 Service Unavailable|upstream connect error|no healthy upstream"),
    # --- bad_config -------------------------------------------------------------------------------
    Signal("config-env-missing", "bad_config", ("log",), 0.75,
           "a required setting is missing: {match}",
           pattern=r"(?i)(missing|required) (required )?(env(ironment)? var(iable)?s?|setting|"
                   r"config(uration)? (key|value|option))|"
                   r"env(ironment)? var(iable)? \S+ (is )?(not set|missing|required|must be set|is empty)|"
                   r"(?-i:KeyError: '[A-Z][A-Z0-9_]+'|"
                   r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+( setting| environment variable)? "
                   r"(must be set|is not set|not set|is required|is missing|must not be empty|is empty)\b)|"
                   r"Could not resolve placeholder"),
    Signal("config-bad-flag", "bad_config", ("log",), 0.75,
           "the command line has a bad flag: {match}",
           pattern=r"(?i)flag provided but not defined|unknown (flag|shorthand flag|option)|unrecognized "
                   r"arguments?|invalid (argument|value) \S* ?for (flag|option)"),
    Signal("config-load-failed", "bad_config", ("log",), 0.7,
           "the configuration cannot be loaded: {match}",
           pattern=r"(?i)(failed|unable|error|cannot|could not) (to )?(load|parse|parsing|read|reading|"
                   r"decode|decoding) (the )?config|invalid configuration|configuration error|"
                   r"config validation failed|Failed to bind properties|"
                   r"Failed to configure a DataSource|No configuration setting found for key|"
                   r"(has|have) not been (set|specified|configured|provided)|is not (specified|configured)\b|"
                   r"config(uration)? property \S+ is "
                   r"(defined as the empty|required|missing|not (set|defined))|"
                   r"validation errors? for \w*(Settings|Config)\b|Field required \[type=missing|"
                   r"error initializing configuration|has unknown fields|errors? found in configuration"),
    Signal("config-exception-class", "bad_config", ("log",), 0.5,
           "the runtime raised a configuration error: {match}",
           pattern=r"ImproperlyConfigured|ConfigException|OptionsValidationException|ConfigurationException|"
                   r"MissingAppKeyException|\bSRCFG\d{5}\b"),
    Signal("config-directive", "bad_config", ("log",), 0.7,
           "the server rejects a directive of its configuration file: {match}",
           pattern=r"(?i)unknown directive|Invalid command '[^']+', perhaps misspelled|"
                   r"Syntax error on line \d+|"
                   r"unknown keyword '|directive is not allowed here|invalid number of arguments in"),
    Signal("config-syntax", "bad_config", ("log",), 0.5,
           "a configuration file has a syntax error: {match}",
           pattern=r"(?i)yaml: line \d+|json: cannot unmarshal|toml: |ScannerError|ParserError"),
    Signal("config-localhost", "bad_config", ("log",), 0.65,
           "the app connects to an address inside its own pod, where nothing listens: an address setting is "
           "probably missing or wrong: {match}", pattern=_REFUSED_ON_LOCALHOST),
    # --- app_crash --------------------------------------------------------------------------------
    Signal("crash-build", "app_crash", ("log",), 0.7,
           "code or a library the image should ship is missing (a build-level failure): {match}",
           pattern=r"ModuleNotFoundError|ImportError: |Cannot find module '|MODULE_NOT_FOUND|"
                   r"NoClassDefFoundError|ClassNotFoundException|cannot load such file|Bundler::GemNotFound|"
                   r"in locally installed gems|Class \"[^\"]+\" not found|Could not load file or assembly|"
                   r"error while loading shared libraries|cannot open shared object file|\{undef,\[|"
                   r"UnsatisfiedLinkError|undefined symbol: "),
    Signal("crash-heap", "app_crash", ("log",), 0.6,
           "the runtime's own memory limit ran out ({match}); the container was not OOMKilled, so its memory "
           "limit is not what ran out: the heap setting (-Xmx, --max-old-space-size, memory_limit) or the "
           "workload is",
           pattern=r"OutOfMemoryError|JavaScript heap out of memory|Reached heap limit|"
                   r"Allowed memory size of \d+ bytes exhausted|\bMemoryError\b|std::bad_alloc|"
                   r"runtime: out of memory",
           not_reason="OOMKilled"),
    Signal("crash-go-panic", "app_crash", ("log",), 0.6,
           "the process panicked: {match}", pattern=r"^panic: |\spanic: ", kind="generic"),
    Signal("crash-segfault", "app_crash", ("log",), 0.65,
           "the process crashed with a segmentation fault: {match}",
           pattern=r"(?i)segmentation (fault|violation)|\bSIGSEGV\b|core dumped", kind="generic"),
    Signal("crash-exit-139", "app_crash", ("terminated",), 0.6,
           "exit {exit_code}: the process died of a segmentation fault (SIGSEGV)", exit_codes=(139,),
           kind="generic"),
    Signal("crash-exit-134", "app_crash", ("terminated",), 0.45,
           "exit {exit_code}: the process aborted (SIGABRT)", exit_codes=(134,), kind="generic"),
    Signal("crash-runtime-fatal", "app_crash", ("log",), 0.5,
           "the runtime stopped the process: {match}",
           pattern=r"^thread '[^']*' panicked at|PHP Fatal error: |^FATAL ERROR: |Kernel pid terminated|"
                   r"Runtime terminating during boot|double free|free\(\): invalid|malloc\(\): |"
                   r"corrupted (size|double-linked)|stack smashing detected|\bAborted\b.*core dumped",
           kind="generic"),
    Signal("crash-exception", "app_crash", ("log",), 0.45,
           "the process died on an exception: {match}",
           pattern=r"^(Exception in thread \"[^\"]+\" |Unhandled exception\. |Caused by: )?"
                   r"([A-Za-z_][\w$]*\.)*"
                   r"([A-Z][\w$]*)?(Error|Exception)\b(\$\w+)?( \(0x[0-9A-Fa-f]+\))?: |^\*\* \([\w.]+\) |"
                   r"\(([A-Z]\w*::)*[A-Z]\w*\)\s*$",
           kind="generic"),
    Signal("crash-uncaught", "app_crash", ("log",), 0.55,
           "an exception was not handled: {match}",
           pattern=r"(?i)uncaught exception|unhandled exception|UnhandledPromiseRejection|"
                   r"Exception in thread \"main\"|terminate called after throwing|Unhandled rejection",
           exclude=r"(?i)OutOfMemoryError|out of memory", kind="generic"),
    Signal("crash-traceback", "app_crash", ("log",), 0.3,
           "the process died with a stack trace: {match}", pattern=r"Traceback \(most recent call last\)",
           kind="generic"),
    Signal("crash-error-type", "app_crash", ("log",), 0.4,
           "a programming error: {match}",
           pattern=r"\b(TypeError|ReferenceError|NullPointerException|AttributeError|ZeroDivisionError|"
                   r"IndexError|NoMethodError|NameError|UninitializedPropertyAccessException|ClassCastException|"
                   r"IndexOutOfBoundsException|NullReferenceException|InvalidOperationException)\b|"
                   r"nil pointer dereference|undefined method|called `(Result|Option)::unwrap\(\)`|"
                   r"index out of range|std::out_of_range|concurrent map (writes|read and map write)"),
    Signal("crash-go-fatal", "app_crash", ("log",), 0.4,
           "the runtime stopped the process: {match}", pattern=r"^fatal error: ", exclude=r"out of memory",
           kind="generic"),
    # --- init_container_failure -------------------------------------------------------------------
    Signal("init-backoff", "init_container_failure", ("waiting",), 0.8,
           "init container {container} keeps failing ({reason}), so the pod never starts its containers",
           reason="CrashLoopBackOff", role="init"),
    Signal("init-terminated", "init_container_failure", ("terminated",), 0.6,
           "init container {container} exited with {exit_code} ({reason})",
           reason="Error|OOMKilled|StartError|ContainerCannotRun", role="init"),
    # --- node_problem -----------------------------------------------------------------------------
    Signal("node-not-ready", "node_problem", ("node",), 0.6,
           "node {node} is unhealthy: {match}", reason="Ready"),
    Signal("node-pressure", "node_problem", ("node",), 0.5,
           "node {node} reports {match}",
           reason="NetworkUnavailable|DiskPressure|MemoryPressure|PIDPressure"),
    Signal("node-sandbox", "node_problem", ("event",), 0.6,
           "the node cannot create the pod sandbox (network/runtime on the node): {match}",
           reason="FailedCreatePodSandBox|FailedKillPod"),
    Signal("node-not-ready-event", "node_problem", ("event",), 0.5,
           "the node controller reports the pod's node not ready: {match}", reason="NodeNotReady"),
)
# fmt: on

# Log lines that state how long startup took; the first group is the number, the second the unit.
START_TIME_PATTERNS: tuple[str, ...] = (
    r"(?i)\bstarted \S+ in (\d+(?:\.\d+)?) ?(s|sec|seconds|ms)\b",
    r"(?i)(?:startup|start-up|warm-?up|initiali[sz]ation) (?:complete|completed|finished|done)"
    r" (?:in|after) (\d+(?:\.\d+)?) ?(s|sec|seconds|ms)\b",
    r"(?i)\bready (?:in|after) (\d+(?:\.\d+)?) ?(s|sec|seconds|ms)\b",
)


def title(category: str) -> str:
    """The human title of a category."""
    return CATEGORY_TITLES.get(category, category.replace("_", " "))


@functools.cache
def compiled(pattern: str) -> re.Pattern[str]:
    """A compiled regex, cached: the table holds patterns as text so entries stay readable."""
    return re.compile(pattern)


def warm_patterns() -> int:
    """Compile the table's regexes now (a worker does it once, before forking); returns how many."""
    patterns = {p for signal in SIGNALS for p in (signal.pattern, signal.exclude) if p} | set(
        START_TIME_PATTERNS
    )
    for pattern in patterns:
        compiled(pattern)
    return len(patterns)


def signals_for(category: str) -> list[Signal]:
    """The entries of one category (for docs and tests)."""
    return [signal for signal in SIGNALS if signal.category == category]
