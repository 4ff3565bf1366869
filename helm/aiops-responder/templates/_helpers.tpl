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

{{/* Each component its own Redis ACL user: the bundled Redis with auth and acl on. */}}
{{- define "aiops.redis.aclUsers" -}}
{{- if and (not (include "aiops.redis.external" .)) .Values.redis.bundled.auth.enabled .Values.redis.bundled.acl.enabled }}true{{ end }}
{{- end }}

{{/* The Secret with one component's Redis user name and password. Takes (dict "root" $ "component" "worker"). */}}
{{- define "aiops.redis.userSecret" -}}
{{- printf "%s-%s" (include "aiops.redis.name" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Environment that points one component's container at Redis: REDIS_URL, with REDIS_PASSWORD before it
for the bundled Redis. Takes (dict "root" $ "component" "worker").
*/}}
{{- define "aiops.redis.env" -}}
{{- $root := .root }}
{{- $redis := $root.Values.redis }}
{{- if $redis.existingSecret }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ $redis.existingSecret }}
      key: {{ default $redis.existingSecretKey (get (default (dict) $redis.componentKeys) .component) }}
{{- else if $redis.url }}
- name: REDIS_URL
  value: {{ $redis.url | quote }}
{{- else if include "aiops.redis.aclUsers" $root }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "aiops.redis.userSecret" . }}
      key: password
- name: REDIS_URL
  value: {{ printf "redis://%s:$(REDIS_PASSWORD)@%s:6379/0" .component (include "aiops.redis.host" $root) | quote }}
{{- else if $redis.bundled.auth.enabled }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "aiops.redis.passwordSecret" $root }}
      key: {{ include "aiops.redis.passwordKey" $root }}
- name: REDIS_URL
  value: {{ printf "redis://:$(REDIS_PASSWORD)@%s:6379/0" (include "aiops.redis.host" $root) | quote }}
{{- else }}
- name: REDIS_URL
  value: {{ printf "redis://%s:6379/0" (include "aiops.redis.host" $root) | quote }}
{{- end }}
{{- with $redis.minReplicasAck }}
- name: AIOPS_REDIS_MIN_REPLICAS_ACK
  value: {{ . | quote }}
{{- end }}
{{- end }}

{{/*
Redis ACL rules per component, without the user name and password: what each may run, on which keys
and channels. docs/security-chart.md explains each line; tests/helm/test_redis_acl.py runs each
component's work as its user on a real redis-server. Every list ends with -@dangerous; INFO comes back
after it because RQ reads the server version with INFO before it enqueues or works.
*/}}
{{- define "aiops.redis.acl.receiver" -}}
resetkeys ~aiops:dedup:* ~aiops:incident:* ~aiops:intake:* ~aiops:counters ~aiops:usage:* ~aiops:alerts:* ~aiops:proposal:* ~aiops:proposals:* ~aiops:record:* ~aiops:records:* ~rq:job:* ~rq:queue:* ~rq:queues resetchannels -@all +@connection +get +set +mget +del +exists +expire +watch +unwatch +multi +exec +discard +hget +hmget +hset +hsetnx +hgetall +hincrby +incr +rpush +lpush +lrange +lindex +llen +sadd +smembers +zadd +zrem +zcard +zscore +zrange +zrevrange +zrangebyscore +zrevrangebyscore +zremrangebyscore +evalsha +script|load +script|exists +scan +memory|usage -@dangerous +info
{{- end }}

{{- define "aiops.redis.acl.worker" -}}
resetkeys ~rq:* ~aiops:* resetchannels &rq:pubsub:* -@all +@connection +@read +@write +@transaction +@pubsub -@scripting +evalsha +script|load +script|exists -@dangerous -scan -randomkey +info
{{- end }}

{{- define "aiops.redis.acl.cron" -}}
resetkeys ~rq:cron_* ~rq:job:* ~rq:queue:* ~rq:queues resetchannels -@all +@connection +del +exists +expire +multi +exec +discard +hset +hget +hgetall +rpush +sadd +zadd +zrem +zrange +zscore +zremrangebyrank +zremrangebyscore -@dangerous +info
{{- end }}

{{- define "aiops.redis.acl.watcher" -}}
resetkeys ~aiops:dedup:* ~aiops:incident:* ~aiops:intake:* ~aiops:counters %R~aiops:proposals:by-alert:* ~rq:job:* ~rq:queue:* ~rq:queues resetchannels -@all +@connection +get +set +mget +del +exists +expire +watch +unwatch +multi +exec +discard +hset +hincrby +rpush +lpush +sadd +evalsha +script|load +script|exists -@dangerous +info
{{- end }}

{{/* KEDA's redis scaler: the length of the queues and of the deferred-intake inbox (TYPE, then LLEN,
sometimes inside one EVAL). */}}
{{- define "aiops.redis.acl.keda" -}}
resetkeys ~rq:queue:* %R~aiops:intake:inbox resetchannels -@all +@connection +type +llen +scard +zcard +hlen +eval -@dangerous
{{- end }}

{{/* The readiness probe of the Redis pod: PING and nothing else. */}}
{{- define "aiops.redis.acl.probe" -}}
resetkeys resetchannels -@all +ping
{{- end }}

{{/* The components with a Redis user in this release, as a JSON list. */}}
{{- define "aiops.redis.aclComponents" -}}
{{- $components := list "receiver" "worker" "cron" }}
{{- if .Values.watcher.enabled }}{{ $components = append $components "watcher" }}{{ end }}
{{- if .Values.worker.keda.enabled }}{{ $components = append $components "keda" }}{{ end }}
{{- toJson $components }}
{{- end }}

{{/* One user for everything (a shared password, or none): the union of the components' rules. */}}
{{- define "aiops.redis.acl.shared" -}}
{{- include "aiops.redis.acl.worker" . }}{{ if .Values.worker.keda.enabled }} +eval{{ end }}
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

{{/* ---- Namespaces ---- */}}

{{/*
Namespaces the responder never writes to, as a JSON list: settings.namespaces.deny (by default those
of workers.settings.DEFAULT_DENIED_NAMESPACES) and always the release namespace, the responder's own.
*/}}
{{- define "aiops.deniedNamespaces" -}}
{{- $deny := list "kube-system" "kube-public" "kube-node-lease" }}
{{- $namespaces := get (default (dict) .Values.settings) "namespaces" }}
{{- if and $namespaces (hasKey $namespaces "deny") }}
{{- $deny = default (list) $namespaces.deny }}
{{- end }}
{{- append $deny .Release.Namespace | uniq | toJson }}
{{- end }}

{{/* Namespaces with a write Role (remediation.namespaces, else watchNamespaces), as a JSON list. */}}
{{- define "aiops.writeNamespaces" -}}
{{- if .Values.remediation.enabled }}
{{- default .Values.watchNamespaces .Values.remediation.namespaces | default (list) | toJson }}
{{- else }}[]{{ end }}
{{- end }}

{{/*
The settings document (AIOPS_CONFIG): values.settings plus the defaults that follow from other
values (namespaces.allow from watchNamespaces, namespaces.deny with the release namespace,
notify.public_url from the Ingress or Service).
*/}}
{{- define "aiops.settings" -}}
{{- $settings := deepCopy (default (dict) .Values.settings) }}
{{- $namespaces := default (dict) (get $settings "namespaces") }}
{{- if and .Values.watchNamespaces (not (hasKey $namespaces "allow")) }}
{{- $_ := set $namespaces "allow" .Values.watchNamespaces }}
{{- end }}
{{- $_ := set $namespaces "deny" (include "aiops.deniedNamespaces" . | fromJsonArray) }}
{{- $_ := set $settings "namespaces" $namespaces }}
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
            {{- include "aiops.redis.env" (dict "root" $root "component" .component) | trim | nindent 12 }}
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
