"""Alert sources besides Alertmanager: the Kubernetes pod watch."""
