{{- define "stackpilot.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "stackpilot.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "stackpilot.labels" -}}
{{ include "stackpilot.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "stackpilot.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "stackpilot.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "stackpilot.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "stackpilot.scheme" -}}
{{- if .Values.tls.secretName }}HTTPS{{ else }}HTTP{{ end -}}
{{- end -}}

{{/*
Secret settings mounted as files: [variable, value with secret name and key, file name].
Only those whose Secret is named are mounted.
*/}}
{{- define "stackpilot.secretFiles" -}}
{{- $files := list -}}
{{- if eq .Values.database.type "postgres" -}}
{{- $files = append $files (list "DATABASE_URL_FILE" .Values.database.urlSecret "database-url") -}}
{{- end -}}
{{- $files = append $files (list "STACKPILOT_STATE_BACKEND_FILE" .Values.stateBackend.urlSecret "state-backend-url") -}}
{{- $files = append $files (list "STACKPILOT_SECRETS_PASSPHRASE_FILE" .Values.secretsPassphrase.secret "secrets-passphrase") -}}
{{- $files = append $files (list "STACKPILOT_BOOTSTRAP_ADMIN_KEY_FILE" .Values.bootstrapAdminKey.secret "bootstrap-admin-key") -}}
{{- $named := list -}}
{{- range $files -}}
{{- if (index . 1).name -}}
{{- $named = append $named . -}}
{{- end -}}
{{- end -}}
{{- toJson $named -}}
{{- end -}}
