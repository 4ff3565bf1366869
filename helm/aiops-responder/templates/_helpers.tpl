{{/*
Names, labels and the pieces shared by the responder's pods.
Helpers that concern one component take a dict: (dict "root" $ "component" "receiver").
*/}}

{{- define "aiops.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "aiops.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* <fullname>-<suffix>, kept within 63 characters. Takes (dict "root" $ "component" "suffix"). */}}
{{- define "aiops.componentName" -}}
{{- printf "%s-%s" (include "aiops.fullname" .root | trunc 50 | trimSuffix "-") .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "aiops.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "aiops.selectorLabels" -}}
app.kubernetes.io/name: {{ include "aiops.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "aiops.labels" -}}
helm.sh/chart: {{ include "aiops.chart" . }}
{{ include "aiops.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: aiops-responder
{{- end }}

{{- define "aiops.componentSelectorLabels" -}}
{{ include "aiops.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "aiops.componentLabels" -}}
{{ include "aiops.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "aiops.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "aiops.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "aiops.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* ---- Redis ---- */}}

{{- define "aiops.redis.external" -}}
{{- if or .Values.redis.url .Values.redis.existingSecret }}true{{ end }}
{{- end }}

{{- define "aiops.redis.name" -}}
{{- include "aiops.componentName" (dict "root" . "component" "redis") }}
{{- end }}

{{- define "aiops.redis.host" -}}
{{- printf "%s.%s.svc" (include "aiops.redis.name" .) .Release.Namespace }}
{{- end }}

{{- define "aiops.redis.passwordSecret" -}}
{{- default (include "aiops.redis.name" .) .Values.redis.bundled.auth.existingSecret }}
{{- end }}

{{- define "aiops.redis.passwordKey" -}}
{{- if .Values.redis.bundled.auth.existingSecret }}
{{- .Values.redis.bundled.auth.existingSecretKey }}
{{- else }}redis-password{{ end }}
{{- end }}

{{/* Environment that points a container at Redis (REDIS_URL, and REDIS_PASSWORD for the bundled one). */}}
{{- define "aiops.redis.env" -}}
{{- if .Values.redis.existingSecret }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.existingSecret }}
      key: {{ .Values.redis.existingSecretKey }}
{{- else if .Values.redis.url }}
- name: REDIS_URL
  value: {{ .Values.redis.url | quote }}
{{- else if .Values.redis.bundled.auth.enabled }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "aiops.redis.passwordSecret" . }}
      key: {{ include "aiops.redis.passwordKey" . }}
- name: REDIS_URL
  value: {{ printf "redis://:$(REDIS_PASSWORD)@%s:6379/0" (include "aiops.redis.host" .) | quote }}
{{- else }}
- name: REDIS_URL
  value: {{ printf "redis://%s:6379/0" (include "aiops.redis.host" .) | quote }}
{{- end }}
{{- end }}

{{/* ---- Tokens ---- */}}

{{- define "aiops.tokensSecret" -}}
{{- default (include "aiops.componentName" (dict "root" . "component" "tokens")) .Values.auth.existingSecret }}
{{- end }}

{{/* ---- Rules ---- */}}

{{- define "aiops.rules.configMap" -}}
{{- if .Values.rules.existingConfigMap }}
{{- .Values.rules.existingConfigMap }}
{{- else if .Values.rules.files }}
{{- include "aiops.componentName" (dict "root" . "component" "rules") }}
{{- end }}
{{- end }}

{{/* ---- URLs ---- */}}

{{- define "aiops.serviceUrl" -}}
{{- printf "http://%s.%s.svc:%v" (include "aiops.fullname" .) .Release.Namespace .Values.service.port }}
{{- end }}

{{- define "aiops.publicUrl" -}}
{{- if .Values.ingress.enabled }}
{{- printf "%s://%s" (ternary "https" "http" .Values.ingress.tls.enabled) .Values.ingress.host }}
{{- else }}
{{- include "aiops.serviceUrl" . }}
{{- end }}
{{- end }}

{{/*
The settings document (AIOPS_CONFIG): values.settings plus the defaults that follow from other
values (namespaces.allow from watchNamespaces, notify.public_url from the Ingress or Service).
*/}}
{{- define "aiops.settings" -}}
{{- $settings := deepCopy (default (dict) .Values.settings) }}
{{- if .Values.watchNamespaces }}
{{- $namespaces := default (dict) (get $settings "namespaces") }}
{{- if not (hasKey $namespaces "allow") }}
{{- $_ := set $namespaces "allow" .Values.watchNamespaces }}
{{- end }}
{{- $_ := set $settings "namespaces" $namespaces }}
{{- end }}
{{- $notify := default (dict) (get $settings "notify") }}
{{- if not (hasKey $notify "public_url") }}
{{- $_ := set $notify "public_url" (include "aiops.publicUrl" .) }}
{{- end }}
{{- $_ := set $settings "notify" $notify }}
{{- toYaml $settings }}
{{- end }}

{{/*
One Deployment of the responder image. Takes a dict:
  root, component, values (the component's values), args (container args), replicas (omitted when
  nil), recreate (bool), serviceAccount (name), automountToken (bool), tokens (mount the tokens
  file), http (a container port with probes).
*/}}
{{- define "aiops.deployment" -}}
{{- $root := .root }}
{{- $v := .values }}
{{- $rulesConfigMap := include "aiops.rules.configMap" $root }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "aiops.componentName" . }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "aiops.componentLabels" . | nindent 4 }}
spec:
  {{- if not (kindIs "invalid" .replicas) }}
  replicas: {{ .replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  {{- if .recreate }}
  strategy:
    type: Recreate
  {{- else }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  {{- end }}
  selector:
    matchLabels:
      {{- include "aiops.componentSelectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "aiops.componentLabels" . | nindent 8 }}
        {{- with $v.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        checksum/settings: {{ include "aiops.settings" $root | sha256sum }}
        {{- if .tokens }}
        checksum/auth: {{ toJson $root.Values.auth | sha256sum }}
        {{- end }}
        {{- with $v.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ .serviceAccount }}
      automountServiceAccountToken: {{ .automountToken }}
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      {{- with .terminationGracePeriodSeconds }}
      terminationGracePeriodSeconds: {{ . }}
      {{- end }}
      {{- with $v.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      {{- if and $rulesConfigMap $root.Values.rules.lintOnStart }}
      initContainers:
        - name: rules-lint
          image: {{ include "aiops.image" $root }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args: ["rules", "lint", "/etc/aiops/rules"]
          securityContext:
            {{- toYaml $root.Values.securityContext | nindent 12 }}
          resources:
            requests:
              cpu: 50m
              memory: 64Mi
            limits:
              cpu: 500m
              memory: 256Mi
          volumeMounts:
            - name: rules
              mountPath: /etc/aiops/rules
              readOnly: true
            - name: tmp
              mountPath: /tmp
      {{- end }}
      containers:
        - name: {{ .component }}
          image: {{ include "aiops.image" $root }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args:
            {{- toYaml .args | nindent 12 }}
          env:
            - name: AIOPS_CONFIG
              value: /etc/aiops/settings/settings.yaml
            {{- if $rulesConfigMap }}
            - name: AIOPS_RULES_DIR
              value: /etc/aiops/rules
            {{- end }}
            {{- if .tokens }}
            - name: AIOPS_TOKENS_FILE
              value: /etc/aiops/tokens/tokens.yaml
            {{- end }}
            {{- include "aiops.redis.env" $root | trim | nindent 12 }}
            {{- with $root.Values.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          {{- with $root.Values.extraEnvFrom }}
          envFrom:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- if .http }}
          ports:
            - name: http
              containerPort: 8080
              protocol: TCP
          startupProbe:
            httpGet:
              path: /healthz
              port: http
            periodSeconds: 2
            failureThreshold: 30
          readinessProbe:
            httpGet:
              path: /readyz
              port: http
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 3
          livenessProbe:
            httpGet:
              path: /healthz
              port: http
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          {{- else }}
          {{- with $v.livenessProbe }}
          livenessProbe:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- end }}
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.securityContext | nindent 12 }}
          volumeMounts:
            - name: settings
              mountPath: /etc/aiops/settings
              readOnly: true
            {{- if $rulesConfigMap }}
            - name: rules
              mountPath: /etc/aiops/rules
              readOnly: true
            {{- end }}
            {{- if .tokens }}
            - name: tokens
              mountPath: /etc/aiops/tokens
              readOnly: true
            {{- end }}
            - name: tmp
              mountPath: /tmp
            {{- with $root.Values.extraVolumeMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
      volumes:
        - name: settings
          configMap:
            name: {{ include "aiops.componentName" (dict "root" $root "component" "settings") }}
        {{- if $rulesConfigMap }}
        - name: rules
          configMap:
            name: {{ $rulesConfigMap }}
        {{- end }}
        {{- if .tokens }}
        - name: tokens
          secret:
            secretName: {{ include "aiops.tokensSecret" $root }}
            defaultMode: 0440
            items:
              - key: tokens.yaml
                path: tokens.yaml
        {{- end }}
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
        {{- with $root.Values.extraVolumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with $v.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.topologySpreadConstraints }}
      topologySpreadConstraints:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}

{{/* Name of a cluster-scoped object: carries the release namespace, so that releases of the same name
in two namespaces do not collide. Takes (dict "root" $ "component" "suffix"). */}}
{{- define "aiops.clusterObjectName" -}}
{{- printf "%s-%s" .root.Release.Namespace (include "aiops.componentName" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
