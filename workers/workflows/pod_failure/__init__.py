"""US1 pod failure: evidence of a failing pod, a deterministic diagnosis, and the fix it leads to."""
