{{/*
Names, labels, the rendered proxy config and what is derived from it: the listeners that become
container ports and Service ports, the port the probes use, and the refusals.
*/}}

{{- define "s2s-proxy.name" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release name alone when it already holds the chart's name, else release-chart. */}}
{{- define "s2s-proxy.fullname" -}}
{{- $name := include "s2s-proxy.name" . }}
{{- $full := .Values.fullnameOverride }}
{{- if not $full }}
{{- $full = ternary .Release.Name (printf "%s-%s" .Release.Name $name) (contains $name .Release.Name) }}
{{- end }}
{{- $full | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The Service the other side dials; its suffix fits in the 63 characters of a name. */}}
{{- define "s2s-proxy.remoteServiceName" -}}
{{- printf "%s-remote" (include "s2s-proxy.fullname" . | trunc 56 | trimSuffix "-") }}
{{- end }}

{{/* The headless Service of a group: it gives each pod of the StatefulSet the name its peers dial. */}}
{{- define "s2s-proxy.groupServiceName" -}}
{{- printf "%s-group" (include "s2s-proxy.fullname" . | trunc 57 | trimSuffix "-") }}
{{- end }}

{{/* "true" when the side runs several pods: a StatefulSet, a config per pod and, for mux, a group. */}}
{{- define "s2s-proxy.grouped" -}}
{{- if gt (int .Values.replicas) 1 }}true{{ end }}
{{- end }}

{{/* "true" for a connection (a mapping of the config) whose instances form a group: a mux remote side. */}}
{{- define "s2s-proxy.groupsConnection" -}}
{{- if has (include "s2s-proxy.lookup" (list . "remote" "connectionType")) (list "mux-client" "mux-server") }}true{{ end }}
{{- end }}

{{/* The name of pod n of the StatefulSet, for a list: the root context, then n. */}}
{{- define "s2s-proxy.podName" -}}
{{- printf "%s-%d" (include "s2s-proxy.fullname" (first .)) (int (last .)) }}
{{- end }}

{{/* The DNS name of pod n of the StatefulSet, for a list: the root context, then n. */}}
{{- define "s2s-proxy.podHost" -}}
{{- $root := first . }}
{{- printf "%s.%s.%s.svc" (include "s2s-proxy.podName" .) (include "s2s-proxy.groupServiceName" $root) $root.Release.Namespace }}
{{- end }}

{{/* Where the group's Secret (group.tlsSecretName) is mounted. */}}
{{- define "s2s-proxy.groupTLSDirectory" -}}
{{- printf "%s/group" (trimSuffix "/" .Values.tls.mountDirectory) }}
{{- end }}

{{- define "s2s-proxy.selectorLabels" -}}
app.kubernetes.io/name: {{ include "s2s-proxy.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "s2s-proxy.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "s2s-proxy.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The proxy's config file: .Values.config, evaluated as a template. */}}
{{- define "s2s-proxy.config" -}}
{{- if not (kindIs "map" .Values.config) }}
{{- fail "config must be a mapping: the proxy's config file (docs/configuration.md)" }}
{{- end }}
{{- tpl (toYaml .Values.config) . }}
{{- end }}

{{/*
The config file of pod n of a StatefulSet, for a list: the root context, then n. It is the
rendered config with a memberlist block written into each mux connection i: the pod's name as
nodeName, group.bindPort + i as bindPort, the lower-numbered pods as joinAddrs (each pair of pods is
dialled once, by the higher one; a pod that restarts is dialled again by those above it and
redials those below), every pod's local.tcpServer as proxyAddresses, and the group's TLS Secret.
*/}}
{{- define "s2s-proxy.podConfig" -}}
{{- $root := first . }}
{{- $n := int (last .) }}
{{- $config := include "s2s-proxy.config" $root | fromYaml }}
{{- $group := $root.Values.group }}
{{- $tls := include "s2s-proxy.groupTLSDirectory" $root }}
{{- range $i, $c := $config.clusterConnections }}
{{- if include "s2s-proxy.groupsConnection" $c }}
{{- $port := add (int $group.bindPort) $i }}
{{- $localPort := include "s2s-proxy.lookup" (list $c "local" "tcpServer" "address") | regexFind ":[0-9]+$" }}
{{- $joins := list }}
{{- $proxies := dict }}
{{- range $j := until (int $root.Values.replicas) }}
{{- $host := include "s2s-proxy.podHost" (list $root $j) }}
{{- if lt $j $n }}
{{- $joins = append $joins (printf "%s:%d" $host $port) }}
{{- end }}
{{- $_ := set $proxies (include "s2s-proxy.podName" (list $root $j)) (printf "%s%s" $host $localPort) }}
{{- end }}
{{- $memberlist := dict "enabled" true "nodeName" (include "s2s-proxy.podName" (list $root $n)) "bindAddr" "0.0.0.0" "bindPort" $port "joinAddrs" $joins "proxyAddresses" $proxies "tls" (dict "certificatePath" (printf "%s/tls.crt" $tls) "keyPath" (printf "%s/tls.key" $tls) "remoteCAPath" (printf "%s/ca.crt" $tls)) }}
{{- with $group.probeIntervalMs }}
{{- $_ := set $memberlist "probeIntervalMs" (int .) }}
{{- end }}
{{- with $group.probeTimeoutMs }}
{{- $_ := set $memberlist "probeTimeoutMs" (int .) }}
{{- end }}
{{- $_ := set $c "memberlist" $memberlist }}
{{- end }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{/*
A scalar of the rendered config as text, for a list: a mapping, then the keys on the path to the
scalar. Empty when a key on the way is missing or holds no mapping, as a Go config's "tls:" with
nothing after it does.
*/}}
{{- define "s2s-proxy.lookup" -}}
{{- $value := first . }}
{{- range rest . }}
{{- $value = ternary (index (ternary $value dict (kindIs "map" $value)) .) nil (kindIs "map" $value) }}
{{- end }}
{{- if not (kindIs "invalid" $value) }}
{{- toString $value }}
{{- end }}
{{- end }}

{{/*
The port of a listen address, for a dict with "address" and "key" (the key path, for messages).
A listener on a loopback address is refused: the kubelet and the Services reach the pod on its
own address, so nothing outside the pod could use it.
*/}}
{{- define "s2s-proxy.port" -}}
{{- $address := toString .address }}
{{- $port := regexFind ":[0-9]+$" $address | trimPrefix ":" }}
{{- if not $port }}
{{- fail (printf "%s is %q: the chart exposes it, so it must be host:port (docs/configuration.md)" .key $address) }}
{{- end }}
{{- $host := regexReplaceAll ":[0-9]+$" $address "" | trimPrefix "[" | trimSuffix "]" }}
{{- if or (eq $host "localhost") (hasPrefix "127." $host) (eq $host "::1") }}
{{- fail (printf "%s is %q: only the pod itself can reach a loopback address; listen on 0.0.0.0:%s" .key $address $port) }}
{{- end }}
{{- if or (eq (atoi $port) 0) (gt (atoi $port) 65535) }}
{{- fail (printf "%s is %q: a Service needs a fixed port from 1 to 65535" .key $address) }}
{{- end }}
{{- $port }}
{{- end }}

{{/*
Every listener of the config the chart exposes, as YAML: {listeners: [{name, port, service}]}.
service is "local" (the local Temporal dials it, and so do the pod's peers in a group),
"remote" (the other side dials it), "group" (the pod's peers dial it: memberlist.bindPort, which
the chart sets with several replicas) or "" (health checks and metrics: the kubelet and
Prometheus reach the pod directly). Port names are
what the probes and Services refer to. profiling.pprofAddress is left out: reach it with
kubectl port-forward.
*/}}
{{- define "s2s-proxy.listeners" -}}
{{- $config := include "s2s-proxy.config" . | fromYaml }}
{{- $listeners := list }}
{{- range $i, $c := $config.clusterConnections }}
{{- $key := printf "config.clusterConnections[%d]" $i }}
{{- with include "s2s-proxy.lookup" (list $c "local" "tcpServer" "address") }}
{{- $port := include "s2s-proxy.port" (dict "address" . "key" (printf "%s.local.tcpServer.address" $key)) }}
{{- $listeners = append $listeners (dict "name" (printf "grpc-local-%d" $i) "port" $port "service" "local") }}
{{- end }}
{{- $remoteType := include "s2s-proxy.lookup" (list $c "remote" "connectionType") }}
{{- if eq $remoteType "tcp" }}
{{- with include "s2s-proxy.lookup" (list $c "remote" "tcpServer" "address") }}
{{- $port := include "s2s-proxy.port" (dict "address" . "key" (printf "%s.remote.tcpServer.address" $key)) }}
{{- $listeners = append $listeners (dict "name" (printf "grpc-remote-%d" $i) "port" $port "service" "remote") }}
{{- end }}
{{- else if eq $remoteType "mux-server" }}
{{- with include "s2s-proxy.lookup" (list $c "remote" "muxAddressInfo" "address") }}
{{- $port := include "s2s-proxy.port" (dict "address" . "key" (printf "%s.remote.muxAddressInfo.address" $key)) }}
{{- $listeners = append $listeners (dict "name" (printf "mux-%d" $i) "port" $port "service" "remote") }}
{{- end }}
{{- end }}
{{- if and (include "s2s-proxy.grouped" $) (include "s2s-proxy.groupsConnection" $c) }}
{{- $listeners = append $listeners (dict "name" (printf "group-%d" $i) "port" (toString (add (int $.Values.group.bindPort) $i)) "service" "group") }}
{{- end }}
{{- range $side := list "local" "remote" }}
{{- with include "s2s-proxy.lookup" (list $c (printf "%sClusterHealthCheck" $side) "listenAddress") }}
{{- $port := include "s2s-proxy.port" (dict "address" . "key" (printf "%s.%sClusterHealthCheck.listenAddress" $key $side)) }}
{{- $listeners = append $listeners (dict "name" (printf "hc-%d-%s" $i $side) "port" $port "service" "") }}
{{- end }}
{{- end }}
{{- end }}
{{- with include "s2s-proxy.lookup" (list $config "metrics" "prometheus" "listenAddress") }}
{{- $port := include "s2s-proxy.port" (dict "address" . "key" "config.metrics.prometheus.listenAddress") }}
{{- $listeners = append $listeners (dict "name" "metrics" "port" $port "service" "") }}
{{- end }}
{{- toYaml (dict "listeners" $listeners) }}
{{- end }}

{{/* The name of the container port whose /health the probes use (see probes in values.yaml). */}}
{{- define "s2s-proxy.probePort" -}}
{{- $config := include "s2s-proxy.config" . | fromYaml }}
{{- $i := int .Values.probes.connection }}
{{- $connections := $config.clusterConnections | default list }}
{{- if or (lt $i 0) (ge $i (len $connections)) }}
{{- fail (printf "probes.connection is %d, but config.clusterConnections has %d entries" $i (len $connections)) }}
{{- end }}
{{- $c := index $connections $i }}
{{- $local := include "s2s-proxy.lookup" (list $c "localClusterHealthCheck" "listenAddress") }}
{{- $remote := include "s2s-proxy.lookup" (list $c "remoteClusterHealthCheck" "listenAddress") }}
{{- $choice := .Values.probes.healthCheck }}
{{- if eq $choice "auto" }}
{{- if and $remote (eq (include "s2s-proxy.lookup" (list $c "remote" "connectionType")) "mux-client") }}
{{- $choice = "remote" }}
{{- else if $local }}
{{- $choice = "local" }}
{{- else if $remote }}
{{- $choice = "remote" }}
{{- else }}
{{- fail (printf "the probes need a /health endpoint: set localClusterHealthCheck.listenAddress or remoteClusterHealthCheck.listenAddress in config.clusterConnections[%d] (docs/configuration.md, Health check), or set probes.enabled: false" $i) }}
{{- end }}
{{- end }}
{{- if not (has $choice (list "local" "remote")) }}
{{- fail (printf "probes.healthCheck is %q: it must be auto, local or remote" $choice) }}
{{- end }}
{{- if not (ternary $local $remote (eq $choice "local")) }}
{{- fail (printf "probes.healthCheck is %s, but config.clusterConnections[%d].%sClusterHealthCheck.listenAddress is not set" $choice $i $choice) }}
{{- end }}
{{- printf "hc-%d-%s" $i $choice }}
{{- end }}

{{/* What the chart refuses to render, each with what to do instead. */}}
{{- define "s2s-proxy.refusals" -}}
{{- $replicas := int .Values.replicas }}
{{- $config := include "s2s-proxy.config" . | fromYaml }}
{{- if not $config.clusterConnections }}
{{- fail "config.clusterConnections is empty: the proxy needs at least one cluster connection (docs/configuration.md)" }}
{{- end }}
{{- $grouped := false }}
{{- range $i, $c := $config.clusterConnections }}
{{- $key := printf "config.clusterConnections[%d]" $i }}
{{- if eq (include "s2s-proxy.lookup" (list $c "memberlist" "enabled")) "true" }}
{{- fail (printf "%s.memberlist.enabled is true: the chart writes each pod's memberlist block itself when replicas is above 1 (a nodeName per pod, joinAddrs, proxyAddresses, the group's TLS Secret); remove the block, and set replicas and group instead" $key) }}
{{- end }}
{{- if gt $replicas 1 }}
{{- if include "s2s-proxy.groupsConnection" $c }}
{{- $grouped = true }}
{{- if not (include "s2s-proxy.lookup" (list $c "local" "tcpServer" "address")) }}
{{- fail (printf "replicas is %d, but %s.local.tcpServer.address is not set: the instances of a group forward calls to each other's local.tcpServer" $replicas $key) }}
{{- end }}
{{- if include "s2s-proxy.lookup" (list $c "local" "tcpServer" "tls" "certificatePath") }}
{{- fail (printf "replicas is %d, but %s.local.tcpServer has TLS: the instances of a group forward calls to each other's local.tcpServer in plain HTTP/2, which a TLS listener refuses; serve it without TLS, or set replicas: 1" $replicas $key) }}
{{- end }}
{{- else if eq (include "s2s-proxy.lookup" (list $c "shardCount" "mode")) "routing" }}
{{- fail (printf "replicas is %d, but %s has a tcp remote side in shardCount.mode routing: the routing hubs of a side share its shards only in a group, which runs on mux connections; set replicas: 1" $replicas $key) }}
{{- end }}
{{- end }}
{{- end }}
{{- if gt $replicas 1 }}
{{- if gt (len (include "s2s-proxy.fullname" .)) 52 }}
{{- fail (printf "replicas is %d, so the pods are a StatefulSet named %q, which must be at most 52 characters (its pods' names carry a revision hash); set fullnameOverride" $replicas (include "s2s-proxy.fullname" .)) }}
{{- end }}
{{- if and $grouped (not .Values.group.tlsSecretName) }}
{{- fail (printf "replicas is %d: the instances of a side form a group over mutual TLS; set group.tlsSecretName to a Secret with tls.crt, tls.key and ca.crt (the CA that signed every pod's tls.crt), or set replicas: 1" $replicas) }}
{{- end }}
{{- $last := add (int .Values.group.bindPort) (sub (len $config.clusterConnections) 1) }}
{{- if and $grouped (or (lt (int .Values.group.bindPort) 1) (gt $last 65535)) }}
{{- fail (printf "group.bindPort is %d: the group of connection i listens on group.bindPort + i, which must be a port from 1 to 65535" (int .Values.group.bindPort)) }}
{{- end }}
{{- end }}
{{- range .Values.tls.secrets }}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]{0,48}[a-z0-9])?$" (toString .name)) }}
{{- fail (printf "tls.secrets name %q must be lowercase letters, digits and '-', at most 50 characters: it names a directory and a volume" (toString .name)) }}
{{- end }}
{{- if eq (toString .name) "group" }}
{{- fail "tls.secrets name \"group\" is the chart's own: the group's Secret (group.tlsSecretName) is mounted there; choose another name" }}
{{- end }}
{{- if not .secretName }}
{{- fail (printf "tls.secrets %q has no secretName" .name) }}
{{- end }}
{{- end }}
{{- end }}
