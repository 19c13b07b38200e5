{{/* Names and labels shared by every object of the chart. */}}

{{- define "integration-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "integration-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "integration-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "integration-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "integration-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "integration-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: integration-operator
{{- end -}}

{{- define "integration-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "integration-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* A value given as a list or a comma-separated string, as one comma-separated string. */}}
{{- define "integration-operator.csv" -}}
{{- $items := list -}}
{{- $raw := ternary . (splitList "," (toString .)) (kindIs "slice" .) -}}
{{- range $raw -}}
{{- $item := trim (toString .) -}}
{{- if $item -}}{{- $items = append $items $item -}}{{- end -}}
{{- end -}}
{{- join "," $items -}}
{{- end -}}

{{/* The watched namespaces as a list (empty: all). */}}
{{- define "integration-operator.watchNamespaces" -}}
{{- $csv := include "integration-operator.csv" (default "" .Values.watchNamespace) -}}
{{- if $csv -}}{{- toJson (splitList "," $csv | uniq) -}}{{- else -}}[]{{- end -}}
{{- end -}}

{{/* "true" when leader election is on: several replicas, or forced. */}}
{{- define "integration-operator.leaderElect" -}}
{{- if or .Values.leaderElection.always (gt (int .Values.replicas) 1) -}}true{{- else -}}false{{- end -}}
{{- end -}}

{{- define "integration-operator.leaseName" -}}
{{- default (include "integration-operator.fullname" .) .Values.leaderElection.id -}}
{{- end -}}

{{- define "integration-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion (toString .Values.image.tag)) -}}
{{- end -}}

{{/*
The container's environment: the chart's settings, then extraEnv. An extraEnv entry named like a
setting replaces it (Kubernetes would otherwise keep two entries of one name).
*/}}
{{- define "integration-operator.env" -}}
{{- $v := .Values -}}
{{- $settings := list
  (dict "name" "METRICS_BIND_ADDRESS" "value" (printf ":%d" (int64 $v.metrics.port)))
  (dict "name" "HEALTH_PROBE_BIND_ADDRESS" "value" (printf ":%d" (int64 $v.health.port)))
  (dict "name" "LEADER_ELECT" "value" (include "integration-operator.leaderElect" .))
  (dict "name" "LEADER_ELECTION_ID" "value" (include "integration-operator.leaseName" .))
  (dict "name" "WATCH_NAMESPACE" "value" (join "," (fromJsonArray (include "integration-operator.watchNamespaces" .))))
  (dict "name" "LOG_LEVEL" "value" (toString $v.logLevel))
  (dict "name" "LOG_FORMAT" "value" (toString $v.logFormat))
  (dict "name" "MAX_CONCURRENT_RECONCILES" "value" (toString (int64 $v.maxConcurrentReconciles)))
  (dict "name" "TEMPLATE_TIMEOUT_MS" "value" (toString (int64 $v.templates.timeoutMs)))
  (dict "name" "TEMPLATE_MEMORY_MB" "value" (toString (int64 $v.templates.memoryMb)))
  (dict "name" "TEMPLATE_WORKERS" "value" (toString (int64 $v.templates.workers)))
  (dict "name" "APPARATUS_ALLOWED_HOSTS" "value" (include "integration-operator.csv" $v.apparatus.allowedHosts))
  (dict "name" "APPARATUS_TIMEOUT_MS" "value" (toString (int64 $v.apparatus.timeoutMs)))
  (dict "name" "APPARATUS_ATTEMPTS" "value" (toString (int64 $v.apparatus.attempts)))
  (dict "name" "APPARATUS_REAP_INTERVAL_SECONDS" "value" (toString (int64 $v.apparatus.reapIntervalSeconds)))
  (dict "name" "APPARATUS_MANAGED_URL_TEMPLATE" "value" (toString $v.apparatus.managedUrlTemplate))
  (dict "name" "ALLOW_CLUSTER_SCOPED_RESOURCES" "value" (toString (eq (toString $v.allowClusterScopedResources) "true")))
  (dict "name" "KUBE_API_QPS" "value" (ternary (toString (int64 $v.kubeApi.qps)) (toString $v.kubeApi.qps) (eq (float64 $v.kubeApi.qps) (float64 (int64 $v.kubeApi.qps)))))
  (dict "name" "KUBE_API_BURST" "value" (toString (int64 $v.kubeApi.burst)))
  (dict "name" "REFERENCE_WATCH" "value" (toString (eq (toString $v.referenceWatch.enabled) "true")))
  (dict "name" "REFERENCE_RESYNC_SECONDS" "value" (toString (int64 $v.referenceResyncSeconds)))
  (dict "name" "CLEANUP_TIMEOUT_SECONDS" "value" (toString (int64 $v.cleanupTimeoutSeconds)))
-}}
{{- $extra := dict -}}
{{- range $v.extraEnv -}}{{- $_ := set $extra .name true -}}{{- end -}}
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
{{- range $settings }}
{{- if not (hasKey $extra .name) }}
- name: {{ .name }}
  value: {{ .value | quote }}
{{- end }}
{{- end }}
{{- with $v.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}
