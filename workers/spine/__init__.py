"""The spine: the typed domain, the stores, the lifecycle of proposals, and the investigation driver
that every workflow runs on."""
