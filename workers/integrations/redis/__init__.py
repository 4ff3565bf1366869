"""Redis: the connection (or the shared embedded server) every store and queue uses."""
