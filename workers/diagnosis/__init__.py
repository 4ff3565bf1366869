"""Deterministic pod-failure diagnosis: a table of signals, a classifier, and the proposals it leads to.

The classifier needs no AI tool and no network: it reads the evidence dict built by
``workers.evidence`` and returns a ``Diagnosis`` whose every conclusion cites evidence lines.
"""

from workers.diagnosis.classifier import classify
from workers.diagnosis.model import Citation, Diagnosis, ProposedAction
from workers.diagnosis.proposals import propose

__all__ = ["Citation", "Diagnosis", "ProposedAction", "classify", "propose"]
