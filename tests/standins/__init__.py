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
