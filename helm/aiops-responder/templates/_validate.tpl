{{/*
Checks across values that the schema cannot express; each failure says what to change.
Included once, from configmap-settings.yaml.
*/}}
{{- define "aiops.validate" -}}
{{- if and (not .Values.serviceAccount.create) (not .Values.serviceAccount.name) }}
{{- fail "serviceAccount.name: name the existing ServiceAccount to use with serviceAccount.create=false (the chart will not bind roles to the namespace's default account)" }}
{{- end }}
{{- if and .Values.redis.url .Values.redis.existingSecret }}
{{- fail "redis: set either redis.url or redis.existingSecret, not both" }}
{{- end }}
{{- if and .Values.rules.existingConfigMap .Values.rules.files }}
{{- fail "rules: set either rules.files or rules.existingConfigMap, not both" }}
{{- end }}
{{- if and .Values.worker.autoscaling.enabled .Values.worker.keda.enabled }}
{{- fail "worker: worker.autoscaling.enabled and worker.keda.enabled both make an HPA; turn one off" }}
{{- end }}
{{- if and .Values.worker.keda.enabled (include "aiops.redis.external" .) (not .Values.worker.keda.redis.address) (not (dig "sentinel" "addresses" "" .Values.worker.keda.redis)) }}
{{- fail "worker.keda.redis.address (host:port), or sentinel.addresses for a Sentinel-monitored Redis, is required with an external Redis" }}
{{- end }}
{{- if and (not .Values.auth.existingSecret) (not .Values.auth.tokens) (not .Values.auth.generate) }}
{{- fail "auth: no tokens: set auth.tokens, auth.existingSecret or auth.generate=true (aiops serve refuses to start without an approver token)" }}
{{- end }}
{{- if .Values.auth.tokens }}
{{- $approvers := 0 }}
{{- range .Values.auth.tokens }}
{{- if eq .role "approver" }}{{ $approvers = add1 $approvers }}{{ end }}
{{- end }}
{{- if eq $approvers 0 }}
{{- fail "auth.tokens: no token has role approver (aiops serve refuses to start without one)" }}
{{- end }}
{{- end }}
{{- $denied := include "aiops.deniedNamespaces" . | fromJsonArray }}
{{- range $denied }}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" .) }}
{{- fail (printf "settings.namespaces.deny: %q is not a namespace name" .) }}
{{- end }}
{{- end }}
{{- range include "aiops.writeNamespaces" . | fromJsonArray }}
{{- if has . $denied }}
{{- fail (printf "remediation.namespaces / watchNamespaces: %s is a denied namespace (settings.namespaces.deny, or the release namespace %s): the responder never writes there; leave it out, or install the chart in a namespace of its own" . $.Release.Namespace) }}
{{- end }}
{{- if and $.Values.watchNamespaces (not (has . $.Values.watchNamespaces)) }}
{{- fail (printf "remediation.namespaces: %s is not in watchNamespaces, so the responder could not read what it would change there; add it to watchNamespaces" .) }}
{{- end }}
{{- end }}
{{- if and (not (include "aiops.redis.external" .)) .Values.redis.bundled.auth.enabled .Values.redis.bundled.acl.enabled .Values.redis.bundled.auth.existingSecret }}
{{- fail "redis.bundled.auth.existingSecret holds one password shared by every component; with redis.bundled.acl.enabled (one user and generated password per component) leave it empty, or set redis.bundled.acl.enabled=false to share it" }}
{{- end }}
{{- if .Values.prometheusOperator.alertmanagerConfig.enabled }}
{{- $cred := .Values.prometheusOperator.alertmanagerConfig.credentials }}
{{- if not $cred.name }}
{{- if .Values.auth.existingSecret }}
{{- fail "prometheusOperator.alertmanagerConfig.credentials.name/key: name the Secret holding the plain webhook token (auth.existingSecret is yours, the chart cannot tell which key holds it)" }}
{{- end }}
{{- if and .Values.auth.tokens (not (include "aiops.webhookToken" .)) }}
{{- fail "prometheusOperator.alertmanagerConfig: auth.tokens has no plain {role: webhook, token} entry; add one or set prometheusOperator.alertmanagerConfig.credentials" }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* The first plain webhook token of auth.tokens, if any. */}}
{{- define "aiops.webhookToken" -}}
{{- $found := "" }}
{{- range .Values.auth.tokens }}
{{- if and (not $found) (eq .role "webhook") .token }}{{ $found = .token }}{{ end }}
{{- end }}
{{- $found }}
{{- end }}
