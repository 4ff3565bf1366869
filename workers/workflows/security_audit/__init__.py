"""US6, the weekly security audit: RBAC, network policies, secrets, Pod Security Standards and images.

Pure checks over the cluster's own objects (``audit.build_audit``), ranked on one severity scale,
with exceptions that expire, week-over-week drift (permissions included) and SARIF output.
"""

from workers.workflows.security_audit.audit import build_audit, read_objects, run
from workers.workflows.security_audit.workflow import SecurityAudit

WORKFLOW = SecurityAudit()

__all__ = ["WORKFLOW", "SecurityAudit", "build_audit", "read_objects", "run"]
