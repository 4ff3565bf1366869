{{/*
RBAC rules, verb by verb. Each rule says what it is for; docs/deploy.md has the same table.
Namespaced resources go into Roles (namespaced mode) or ClusterRoles (cluster mode); cluster-scoped
ones only ever into ClusterRoles.
*/}}

{{/* Read: evidence for diagnoses, and the weekly health report. */}}
{{- define "aiops.rbac.read" -}}
# Pods: evidence (status, restarts, resources); watch for `aiops watch` and validation.
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch"]
# Previous container logs as evidence.
- apiGroups: [""]
  resources: ["pods/log"]
  verbs: ["get"]
# Events, Services and ConfigMaps referenced by a failing pod (a missing ConfigMap is a diagnosis).
- apiGroups: [""]
  resources: ["events", "services", "configmaps"]
  verbs: ["get", "list"]
# Deployments: owner, revision history; watch for the rollout safety gate.
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch"]
# ReplicaSets (revisions for rollback), StatefulSets and DaemonSets (owners, health report).
- apiGroups: ["apps"]
  resources: ["replicasets", "statefulsets", "daemonsets"]
  verbs: ["get", "list"]
# Existing HorizontalPodAutoscalers, before proposing one.
- apiGroups: ["autoscaling"]
  resources: ["horizontalpodautoscalers"]
  verbs: ["get", "list"]
# NetworkPolicies: evidence and the weekly security audit.
- apiGroups: ["networking.k8s.io"]
  resources: ["networkpolicies"]
  verbs: ["get", "list"]
# PodDisruptionBudgets: scaling recommendations (a floor for minReplicas) and the weekly health report.
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["get", "list"]
# KEDA ScaledObjects: a workload KEDA already scales gets no HPA proposal.
- apiGroups: ["keda.sh"]
  resources: ["scaledobjects"]
  verbs: ["get", "list"]
# Jobs and CronJobs: owners of failing pods, and workloads in the security audit.
- apiGroups: ["batch"]
  resources: ["jobs", "cronjobs"]
  verbs: ["get", "list"]
{{- end }}

{{/* Cluster-scoped reads (ClusterRole only). */}}
{{- define "aiops.rbac.readCluster" -}}
# Nodes: node health evidence and the weekly health report.
- apiGroups: [""]
  resources: ["nodes"]
  verbs: ["get", "list"]
# Namespaces: which namespaces exist, for the reports.
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["get", "list"]
# APIServices: whether the metrics API (metrics-server) is registered, before proposing an HPA.
- apiGroups: ["apiregistration.k8s.io"]
  resources: ["apiservices"]
  verbs: ["get", "list"]
{{- end }}

{{/* The weekly security audit. */}}
{{- define "aiops.rbac.audit" -}}
# Roles and RoleBindings: the RBAC section of the security audit.
- apiGroups: ["rbac.authorization.k8s.io"]
  resources: ["roles", "rolebindings"]
  verbs: ["get", "list"]
{{- if .Values.securityAudit.readSecrets }}
# Secrets (opt-in): RBAC has no metadata-only read, so this returns contents too.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["list"]
{{- end }}
{{- end }}

{{- define "aiops.rbac.auditCluster" -}}
# ClusterRoles and ClusterRoleBindings: the RBAC section of the security audit.
- apiGroups: ["rbac.authorization.k8s.io"]
  resources: ["clusterroles", "clusterrolebindings"]
  verbs: ["get", "list"]
{{- end }}

{{/*
Writes, only with remediation.enabled, and each only after a recorded approval: exactly what the actions
of workers/workflows/pod_failure/actions.py call (workers/integrations/kubernetes/client.py), server-side dry runs and reverts included.
*/}}
{{- define "aiops.rbac.remediate" -}}
# restart-pod: delete the pod so that its controller replaces it.
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["delete"]
# rollback-deployment, raise-memory-limit, adjust-probe, rollout-pause, rollout-undo, rollout-resume (and
# their reverts): patch the Deployment.
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["patch"]
{{- if .Values.remediation.scaling.enabled }}
# Proactive scaling (remediation.scaling.enabled): create an autoscaling/v2 HPA, or patch one.
- apiGroups: ["autoscaling"]
  resources: ["horizontalpodautoscalers"]
  verbs: ["create", "patch"]
{{- end }}
{{- end }}

{{/* The watcher (`aiops watch`, workers/sources/watch.py and rollout_watch.py): it lists and watches pods
and Deployments (a new pod template starts a rollout gate), reads the ReplicaSets of a gated rollout, and
writes nothing. */}}
{{- define "aiops.rbac.watch" -}}
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch"]
# Rollout gates (US4): new pod templates of opted-in Deployments, and their new and old ReplicaSets.
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["apps"]
  resources: ["replicasets"]
  verbs: ["get", "list"]
{{- end }}

{{/* The read role sets of the workers: suffix -> rules template, for namespaced resources. */}}
{{- define "aiops.rbac.sets" -}}
read: aiops.rbac.read
{{- if .Values.securityAudit.enabled }}
audit: aiops.rbac.audit
{{- end }}
{{- end }}

{{/* A Role (or ClusterRole) and its binding. Takes (dict "root" $ "name" "kind" "namespace" "rules" "account"). */}}
{{- define "aiops.rbac.bound" -}}
{{- $binding := ternary "ClusterRoleBinding" "RoleBinding" (eq .kind "ClusterRole") }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: {{ .kind }}
metadata:
  name: {{ .name }}
  {{- with .namespace }}
  namespace: {{ . }}
  {{- end }}
  labels:
    {{- include "aiops.labels" .root | nindent 4 }}
rules:
  {{- .rules | trim | nindent 2 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: {{ $binding }}
metadata:
  name: {{ .name }}
  {{- with .namespace }}
  namespace: {{ . }}
  {{- end }}
  labels:
    {{- include "aiops.labels" .root | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: {{ .kind }}
  name: {{ .name }}
subjects:
  - kind: ServiceAccount
    name: {{ .account }}
    namespace: {{ .root.Release.Namespace }}
{{- end }}
