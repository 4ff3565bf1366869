"""The RQ boundary: the job catalog, the worker that runs only those jobs, and the cron scheduler."""
