"""AI tools (kubectl-ai, kagent, HolmesGPT, k8sgpt) and the built-in playbook as advisers.

Advisers read and suggest; nothing they say is ever executed. ``consult`` asks a rule's advisers in
order within one time budget, and ``record_entries`` turns the answers into audit-record entries.
"""

from workers.integrations.advisers.base import (
    AdviceRequest,
    AdviceResult,
    AdviceStatus,
    Adviser,
    Recommendation,
)
from workers.integrations.advisers.consult import consult, read_full_text, record_entries, suggested_actions
from workers.integrations.advisers.prompt import build_request
from workers.integrations.advisers.registry import build_advisers

__all__ = [
    "AdviceRequest",
    "AdviceResult",
    "AdviceStatus",
    "Adviser",
    "Recommendation",
    "build_advisers",
    "build_request",
    "consult",
    "read_full_text",
    "record_entries",
    "suggested_actions",
]
