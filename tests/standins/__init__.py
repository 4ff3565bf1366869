"""Stand-ins for the AI tools the advisers talk to, used by tests only.

``kubectl-ai`` and ``k8sgpt`` are executable scripts that reproduce the documented flags, outputs
and exit codes of the real CLIs; ``holmesgpt_server`` is a small HTTP server with HolmesGPT's
``/api/investigate`` contract; ``kagent_a2a`` runs a real A2A server built with ``a2a-sdk`` with
deterministic agents. Each says at its top which documented behaviour it reproduces.
"""

from pathlib import Path

STANDINS_DIR = Path(__file__).resolve().parent
KUBECTL_AI = STANDINS_DIR / "kubectl-ai"
K8SGPT = STANDINS_DIR / "k8sgpt"
# The variables the CLI stand-ins are steered by: adviser settings in tests pass them through
# (``env_passthrough``), since advisers get an allowlisted environment, never the worker's whole one.
KUBECTL_AI_STANDIN_ENV = [
    "KUBECTL_AI_STANDIN_RECORD",
    "KUBECTL_AI_STANDIN_MODE",
    "KUBECTL_AI_STANDIN_PIDFILE",
    "KUBECTL_AI_STANDIN_ANSWER",
]
K8SGPT_STANDIN_ENV = ["K8SGPT_STANDIN_RECORD", "K8SGPT_STANDIN_MODE", "K8SGPT_STANDIN_PIDFILE"]
