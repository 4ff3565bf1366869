"""Unit tests of the deterministic pod-failure diagnosis, proposals, scenarios and alert rules."""
