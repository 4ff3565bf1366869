"""A generated namespace: its workloads, and Secrets, ConfigMaps, Services, HPAs, PDBs, KEDA, policies."""

from __future__ import annotations

from sandbox.generate import base, workloads
from sandbox.generate.base import Builder, Obj
from sandbox.units import rfc3339

_APPS = ("api", "web", "worker", "cache", "consumer", "scheduler", "sync", "render", "indexer", "proxy")


def _secrets(g: Builder, ns: str) -> list[str]:
    names = []
    for i in range(g.rng.randint(2, 5)):
        name = f"{ns}-db-{i}"
        age = g.rng.choice((86400 * 10, 86400 * 90, 86400 * 400, 86400 * 800))
        g.add(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "Opaque",
                "metadata": base.meta(name, ns, g, rfc3339(g.now - age)),
                "data": {"password": "c2FuZGJveC1mYWtlLXBhc3N3b3Jk", "username": "YXBw"},
            }
        )
        names.append(name)
    g.add(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/tls",
            "metadata": base.meta(f"{ns}-tls", ns, g, g.ago(86400 * 30, 86400 * 500)),
            "data": {"tls.crt": "LS0tLS1CRUdJTi1GQUtFLS0tLS0=", "tls.key": "LS0tLS1CRUdJTi1GQUtFLS0tLS0="},
        }
    )
    config = {"log_format": "json", "feature_flags": "search-v2,checkout-v3"}
    if g.rng.random() < 0.3:
        config.update(db_password=base.FAKE_PASSWORD, aws_access_key_id=base.FAKE_AWS_KEY)
    g.add(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": base.meta(f"{ns}-config", ns, g, g.ago(3600, 86400 * 60)),
            "data": config,
        }
    )
    return names


def _network_policies(g: Builder, ns: str, apps: list[str]) -> None:
    roll = 0.5 if g.first("netpol-deny") else 0.0 if g.first("netpol-none") else g.rng.random()
    created = g.ago(86400, 86400 * 100)
    if roll < 0.3:
        return
    if roll < 0.8:
        g.add(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": base.meta("default-deny-ingress", ns, g, created),
                "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
            }
        )
    for app in apps[: max(g.rng.randint(0, 3), 0 if "netpol-any-ip" in g.made else 3)]:
        kind = g.roll((("netpol-from-gateway", 0.6), ("netpol-allow-all", 0.8), ("netpol-any-ip", 1.0)))
        if kind < 0.6:
            ingress = [
                {
                    "from": [{"podSelector": {"matchLabels": {"app": "gateway"}}}],
                    "ports": [{"protocol": "TCP", "port": 8080}],
                }
            ]
        elif kind < 0.8:
            ingress = [{}]
        else:
            ingress = [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]
        g.add(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": base.meta(f"allow-{app}", ns, g, created),
                "spec": {
                    "podSelector": {"matchLabels": {"app": app}},
                    "policyTypes": ["Ingress"],
                    "ingress": ingress,
                },
            }
        )


def _steady_usage(dep: Obj, pods: list[Obj], percent: float) -> None:
    """Per-container CPU usage at ``percent`` of each request, so that an HPA finds that utilization."""
    usage = {}
    for c in dep["spec"]["template"]["spec"]["containers"]:
        cpu = ((c.get("resources") or {}).get("requests") or {}).get("cpu", "0")
        milli = int(cpu[:-1]) if cpu.endswith("m") else int(cpu) * 1000
        usage[f"sandbox.aiops.dev/usage-cpu.{c['name']}"] = f"{int(milli * percent / 100)}m"
    for obj in (dep["spec"]["template"], *pods):
        obj["metadata"].setdefault("annotations", {}).update(usage)


def _cpu_hpa(g: Builder, dep: Obj, name: str, bounds: tuple[int, int], target: int, metadata: Obj) -> Obj:
    cpu = {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}
    ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": dep["metadata"]["name"]}
    return g.add({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": metadata,
        "spec": {"scaleTargetRef": ref, "minReplicas": bounds[0], "maxReplicas": bounds[1],
                 "metrics": [{"type": "Resource", "resource": cpu}]},
    })  # fmt: skip


def _hpa(g: Builder, dep: Obj, pods: list[Obj], at_max: bool) -> None:
    """An HPA whose per-pod usage keeps it where it is: at its target, or above it while at max."""
    meta, replicas = dep["metadata"], dep["spec"]["replicas"]
    target = g.rng.choice((60, 70, 80))
    _steady_usage(dep, pods, target * (1.5 if at_max else 1.0))
    maximum = replicas if at_max else replicas + g.rng.randint(2, 10)
    metadata = base.meta(meta["name"], meta["namespace"], g, g.ago(3600, 86400 * 30))
    _cpu_hpa(g, dep, meta["name"], (max(1, replicas // 2), maximum), target, metadata)


def _pdb(g: Builder, ns: str, app: str, replicas: int) -> None:
    roll = 0.0 if g.first("pdb-blocking") else g.rng.random()
    if roll < 0.3:
        rule: Obj = {"minAvailable": replicas}  # blocks every voluntary disruption
    elif roll < 0.4:
        rule = {"maxUnavailable": 0}
    elif roll < 0.7:
        rule = {"maxUnavailable": 1}
    else:
        rule = {"minAvailable": "50%"}
    g.add(
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": base.meta(app, ns, g, g.ago(3600, 86400 * 60)),
            "spec": {**rule, "selector": {"matchLabels": {"app": app}}},
        }
    )


def _service(g: Builder, ns: str, app: str) -> None:
    labels = {"app": app}
    ports = [{"name": "http", "port": 80, "targetPort": "http"}]
    g.add(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": base.meta(app, ns, g, g.ago(86400, 86400 * 200), labels=labels),
            "spec": {"selector": labels, "ports": ports},
        }
    )


def _keda(g: Builder, dep: Obj, pods: list[Obj]) -> None:
    """A KEDA-managed Deployment: its ScaledObject, and the HPA keda-operator makes for it."""
    meta = dep["metadata"]
    _steady_usage(dep, pods, 70)
    trigger = {"type": "cpu", "metricType": "Utilization", "metadata": {"value": "70"}}
    scaled = g.add({
        "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
        "metadata": base.meta(meta["name"], meta["namespace"], g, g.ago(3600, 86400 * 30)),
        "spec": {"scaleTargetRef": {"name": meta["name"]}, "minReplicaCount": 1, "maxReplicaCount": 20,
                 "triggers": [trigger]},
    })  # fmt: skip
    labels = {"app.kubernetes.io/managed-by": "keda-operator", "scaledobject.keda.sh/name": meta["name"]}
    name = f"keda-hpa-{meta['name']}"
    created = scaled["metadata"]["creationTimestamp"]
    metadata = base.meta(
        name, meta["namespace"], g, created, labels=labels, ownerReferences=[base.owner(scaled)]
    )
    _cpu_hpa(g, dep, name, (1, 20), 70, metadata)


def fill(g: Builder, ns: str, budget: int) -> None:
    """Fill ``ns`` with workloads holding exactly ``budget`` pods."""
    secrets = _secrets(g, ns)
    apps: list[str] = []
    made = 0
    if budget > 20 and (g.rng.random() < 0.5 or g.first("cronjob")):
        made += workloads.cronjob(g, ns, f"report-{g.suffix(3)}", secrets)
    while made < budget:
        app = f"{g.rng.choice(_APPS)}-{g.suffix(4)}"
        if app in apps:
            continue
        apps.append(app)
        if budget - made >= 2 and (g.rng.random() < 0.15 or g.first("statefulset")):
            replicas = min(g.rng.choice((2, 3, 3, 5)), budget - made)
            workload = workloads.statefulset(g, ns, app, replicas, secrets)
            made += replicas
            _service(g, ns, app)
            if g.rng.random() < 0.3:
                _pdb(g, ns, app, replicas)
        else:
            replicas = min(g.rng.choice((1, 2, 2, 3, 3, 4, 6, 8, 12)), budget - made)
            state = "crashloop" if g.rng.random() < 0.02 or g.first("crashloop") else "running"
            workload, pods = workloads.deployment(g, ns, app, replicas, state, secrets)
            made += replicas
            _service(g, ns, app)
            _autoscaling(g, workload, pods, state)
            if replicas > 1 and g.rng.random() < 0.2:
                _pdb(g, ns, app, replicas)
        if workload["spec"]["template"]["spec"]["serviceAccountName"] == app:
            g.add(workloads.service_account(g, ns, app))
    _network_policies(g, ns, apps)


def _autoscaling(g: Builder, dep: Obj, pods: list[Obj], state: str) -> None:
    """An HPA on a quarter of the running Deployments with CPU requests; KEDA scales a few of them."""
    requests = dep["spec"]["template"]["spec"]["containers"][0]["resources"]
    roll = g.rng.random()
    if state != "running" or not requests:
        return
    if roll < 0.03 or g.first("keda"):
        _keda(g, dep, pods)
    elif roll < 0.28:
        _hpa(g, dep, pods, at_max=g.rng.random() < 0.2 or g.first("hpa-at-max"))
