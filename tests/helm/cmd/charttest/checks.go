// The checks on what the chart renders: Kubernetes objects that decode strictly, and a pod that
// exposes, probes, mounts and secures what the proxy config inside it says.
package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

type manifests struct {
	configMaps   []corev1.ConfigMap
	deployments  []appsv1.Deployment
	statefulSets []appsv1.StatefulSet
	services     []corev1.Service
	budgets      []policyv1.PodDisruptionBudget
}

var documentSeparator = regexp.MustCompile(`(?m)^---\s*$`)

// decode splits helm's output into objects, refusing a kind the chart should not render and a
// field the Kubernetes API does not know.
func decode(rendered string) (manifests, error) {
	var m manifests
	for _, document := range documentSeparator.Split(rendered, -1) {
		var kind struct {
			Kind string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(document), &kind); err != nil {
			return m, fmt.Errorf("a rendered document is not YAML: %v\n%s", err, document)
		}
		var err error
		switch kind.Kind {
		case "":
			continue
		case "ConfigMap":
			err = decodeInto(document, &m.configMaps)
		case "Deployment":
			err = decodeInto(document, &m.deployments)
		case "StatefulSet":
			err = decodeInto(document, &m.statefulSets)
		case "PodDisruptionBudget":
			err = decodeInto(document, &m.budgets)
		case "Service":
			err = decodeInto(document, &m.services)
		default:
			return m, fmt.Errorf("the chart rendered a %s, which this test does not expect", kind.Kind)
		}
		if err != nil {
			return m, fmt.Errorf("a rendered %s does not decode as one: %v", kind.Kind, err)
		}
	}
	return m, nil
}

// decodeInto decodes one document strictly and appends it to the objects of its kind.
func decodeInto[T any](document string, objects *[]T) error {
	var object T
	err := yaml.UnmarshalStrict([]byte(document), &object)
	*objects = append(*objects, object)
	return err
}

// A listener of the proxy config, and what dials it: "local" (the local Temporal, through the
// chart's main Service), "remote" (the other side, through the -remote Service), "group" (the
// pod's peers, through the headless -group Service), "health" (the kubelet) or "metrics"
// (Prometheus).
type listener struct {
	key, dialer string
	port        int32
}

// A proxy config the chart renders: the file it is in the ConfigMap, its text and its contents.
type podConfig struct {
	file, text string
	parsed     map[string]any
}

// check returns the proxy configs of the ConfigMap, one per pod that runs a config of its own,
// after checking the objects against them: a Deployment of at most one pod with config.yaml, or a
// StatefulSet whose pods each have <pod name>.yaml and form a group.
func check(m manifests) ([]podConfig, error) {
	if len(m.configMaps) != 1 || len(m.deployments)+len(m.statefulSets) != 1 {
		return nil, fmt.Errorf("rendered %d ConfigMaps, %d Deployments and %d StatefulSets; want 1 ConfigMap and 1 Deployment or StatefulSet",
			len(m.configMaps), len(m.deployments), len(m.statefulSets))
	}
	configMap := m.configMaps[0]
	var problems []string
	problem := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	var template corev1.PodTemplateSpec
	var configs []podConfig
	var err error
	if len(m.deployments) == 1 {
		deployment := m.deployments[0]
		template = deployment.Spec.Template
		if len(m.services) < 1 || len(m.services) > 2 || len(m.budgets) != 0 {
			return nil, fmt.Errorf("rendered %d Services and %d PodDisruptionBudgets with a Deployment; want 1 or 2 and none",
				len(m.services), len(m.budgets))
		}
		if deployment.Spec.Replicas == nil || *deployment.Spec.Replicas > 1 {
			problem("the Deployment runs more than 1 replica, which needs a StatefulSet and a group")
		}
		if deployment.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			problem("the Deployment's strategy is %q, not Recreate: an update would run two instances of one side", deployment.Spec.Strategy.Type)
		}
		if len(configMap.Data) != 1 {
			return nil, fmt.Errorf("ConfigMap %s holds %d keys; want config.yaml only", configMap.Name, len(configMap.Data))
		}
		configs, err = parseConfigs(configMap, []string{"config.yaml"})
	} else {
		statefulSet := m.statefulSets[0]
		template = statefulSet.Spec.Template
		replicas := int32(0)
		if statefulSet.Spec.Replicas != nil {
			replicas = *statefulSet.Spec.Replicas
		}
		if replicas < 2 {
			return nil, fmt.Errorf("the StatefulSet runs %d replicas; the chart renders one only for 2 or more", replicas)
		}
		files := []string{}
		for n := range replicas {
			files = append(files, fmt.Sprintf("%s-%d.yaml", statefulSet.Name, n))
		}
		if len(configMap.Data) != len(files) {
			problem("ConfigMap %s holds %d keys for %d pods", configMap.Name, len(configMap.Data), len(files))
		}
		configs, err = parseConfigs(configMap, files)
		if err == nil {
			checkStatefulSet(statefulSet, m.services, m.budgets, configs, problem)
		}
	}
	if err != nil {
		return nil, err
	}
	pod := template.Spec
	if len(pod.Containers) != 1 {
		return nil, fmt.Errorf("the pod has %d containers; want 1", len(pod.Containers))
	}
	container := pod.Containers[0]
	checkSecurity(pod, container, problem)
	checkConfigMount(pod, container, configMap.Name, len(m.statefulSets) == 1, problem)

	ports := map[string]int32{}
	byNumber := map[int32]bool{}
	for _, p := range container.Ports {
		ports[p.Name] = p.ContainerPort
		byNumber[p.ContainerPort] = true
	}
	// The pods' configs differ in nothing but memberlist.nodeName and joinAddrs (checkStatefulSet
	// says so otherwise), so the first stands for all in what the pod exposes and mounts.
	first := configs[0]
	listeners, err := listenersOf(first.parsed)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", first.file, err)
	}
	healthPorts := map[int32]bool{}
	for _, l := range listeners {
		if !byNumber[l.port] {
			problem("%s: %s listens on port %d, but the container declares no such port", first.file, l.key, l.port)
		}
		if l.dialer == "health" {
			healthPorts[l.port] = true
		}
	}
	checkServices(m.services, template.Labels, ports, listeners, problem)
	checkProbes(container, ports, healthPorts, problem)
	checkMetricsAnnotations(template.Annotations, listeners, problem)
	checkTLSMounts(pod, container, first.parsed, problem)

	if len(problems) > 0 {
		texts := []string{}
		for _, c := range configs {
			texts = append(texts, c.file+":\n"+c.text)
		}
		return nil, fmt.Errorf("the rendered objects disagree with the config they carry:\n  %s\nconfigs:\n%s",
			strings.Join(problems, "\n  "), strings.Join(texts, "\n"))
	}
	return configs, nil
}

func parseConfigs(configMap corev1.ConfigMap, files []string) ([]podConfig, error) {
	var configs []podConfig
	for _, file := range files {
		text := configMap.Data[file]
		if text == "" {
			return nil, fmt.Errorf("ConfigMap %s has no %s", configMap.Name, file)
		}
		var parsed map[string]any
		if err := yaml.Unmarshal([]byte(text), &parsed); err != nil {
			return nil, fmt.Errorf("%s in ConfigMap %s is not YAML: %v", file, configMap.Name, err)
		}
		configs = append(configs, podConfig{file: file, text: text, parsed: parsed})
	}
	return configs, nil
}

func checkSecurity(pod corev1.PodSpec, container corev1.Container, problem func(string, ...any)) {
	c := container.SecurityContext
	if c == nil {
		problem("the container has no securityContext")
		return
	}
	nonRoot := (c.RunAsNonRoot != nil && *c.RunAsNonRoot) ||
		(pod.SecurityContext != nil && pod.SecurityContext.RunAsNonRoot != nil && *pod.SecurityContext.RunAsNonRoot)
	if !nonRoot {
		problem("runAsNonRoot is not set")
	}
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsUser == nil || *pod.SecurityContext.RunAsUser == 0 {
		problem("the pod sets no user other than root, and the image's user is root")
	}
	if c.ReadOnlyRootFilesystem == nil || !*c.ReadOnlyRootFilesystem {
		problem("the root filesystem is not read-only")
	}
	if c.AllowPrivilegeEscalation == nil || *c.AllowPrivilegeEscalation {
		problem("privilege escalation is not turned off")
	}
}

// checkConfigMount: the --config the container starts with is the ConfigMap's config.yaml, or for
// a pod of a StatefulSet its own <pod name>.yaml, the name coming from the pod's metadata.
func checkConfigMount(pod corev1.PodSpec, container corev1.Container, configMap string, perPod bool, problem func(string, ...any)) {
	path := ""
	for i, a := range container.Args {
		if a == "--config" && i+1 < len(container.Args) {
			path = container.Args[i+1]
		}
	}
	if len(container.Args) == 0 || container.Args[0] != "start" || path == "" {
		problem("the container's args %q are not `start --config FILE`", container.Args)
		return
	}
	if perPod {
		if filepath.Base(path) != "$(POD_NAME).yaml" {
			problem("--config %s is not the pod's own key of the ConfigMap, $(POD_NAME).yaml", path)
		}
		named := false
		for _, e := range container.Env {
			if e.Name == "POD_NAME" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name" {
				named = true
			}
		}
		if !named {
			problem("the container's POD_NAME is not the pod's metadata.name")
		}
	} else if filepath.Base(path) != "config.yaml" {
		problem("--config %s is not the ConfigMap's key config.yaml", path)
	}
	for _, mount := range container.VolumeMounts {
		if mount.MountPath != filepath.Dir(path) {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name == mount.Name && v.ConfigMap != nil && v.ConfigMap.Name == configMap {
				return
			}
		}
	}
	problem("--config %s is not in a mount of ConfigMap %s", path, configMap)
}

// checkServices: each local and remote listener is a port of the Service for its dialer, whose
// target is that container port, and each Service selects the pod.
func checkServices(services []corev1.Service, podLabels map[string]string, ports map[string]int32,
	listeners []listener, problem func(string, ...any)) {
	targets := map[string]map[int32]bool{}
	for _, s := range services {
		for k, v := range s.Spec.Selector {
			if podLabels[k] != v {
				problem("Service %s selects %s=%s, which the pod does not carry", s.Name, k, v)
			}
		}
		if len(s.Spec.Selector) == 0 {
			problem("Service %s selects nothing", s.Name)
		}
		dialer := s.Labels["app.kubernetes.io/component"]
		if targets[dialer] == nil {
			targets[dialer] = map[int32]bool{}
		}
		for _, p := range s.Spec.Ports {
			target, known := ports[p.TargetPort.String()]
			if !known {
				problem("Service %s port %s targets %s, which the container does not declare", s.Name, p.Name, p.TargetPort.String())
			} else if target != p.Port {
				problem("Service %s port %d targets container port %d", s.Name, p.Port, target)
			}
			targets[dialer][target] = true
		}
	}
	for _, l := range listeners {
		if (l.dialer == "local" || l.dialer == "remote" || l.dialer == "group") && !targets[l.dialer][l.port] {
			problem("%s (port %d) is in no Service for the %s side", l.key, l.port, l.dialer)
		}
	}
}

// checkProbes: readiness asks /health of a health check; liveness connects to one.
func checkProbes(container corev1.Container, ports map[string]int32, healthPorts map[int32]bool, problem func(string, ...any)) {
	readiness, liveness := container.ReadinessProbe, container.LivenessProbe
	if readiness == nil || readiness.HTTPGet == nil || readiness.HTTPGet.Path != "/health" {
		problem("the readiness probe is not an HTTP GET of /health")
	} else if !healthPorts[ports[readiness.HTTPGet.Port.String()]] {
		problem("the readiness probe asks port %s, which is no health check's listenAddress", readiness.HTTPGet.Port.String())
	}
	if liveness == nil || liveness.TCPSocket == nil {
		problem("the liveness probe is not a TCP connection")
	} else if !healthPorts[ports[liveness.TCPSocket.Port.String()]] {
		problem("the liveness probe connects to port %s, which is no health check's listenAddress", liveness.TCPSocket.Port.String())
	}
}

func checkMetricsAnnotations(annotations map[string]string, listeners []listener, problem func(string, ...any)) {
	for _, l := range listeners {
		if l.dialer != "metrics" {
			continue
		}
		want := map[string]string{
			"prometheus.io/scrape": "true",
			"prometheus.io/port":   strconv.Itoa(int(l.port)),
			"prometheus.io/path":   "/metrics",
		}
		for k, v := range want {
			if annotations[k] != v {
				problem("the pod's annotation %s is %q; want %q", k, annotations[k], v)
			}
		}
		return
	}
	if annotations["prometheus.io/scrape"] != "" {
		problem("the pod asks to be scraped, but the config serves no metrics")
	}
}

// checkTLSMounts: every TLS file the config names is in the mount of a Secret.
func checkTLSMounts(pod corev1.PodSpec, container corev1.Container, config map[string]any, problem func(string, ...any)) {
	secretMounts := map[string]bool{}
	for _, mount := range container.VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name == mount.Name && v.Secret != nil && v.Secret.SecretName != "" {
				secretMounts[mount.MountPath] = true
			}
		}
	}
	for _, file := range tlsFiles("config", config) {
		if !secretMounts[filepath.Dir(file[1])] {
			problem("%s is %s, which is in no Secret's mount", file[0], file[1])
		}
	}
}

// tlsFiles finds the TLS file paths in the config: [key path, file] pairs.
func tlsFiles(key string, value any) [][2]string {
	var found [][2]string
	switch v := value.(type) {
	case map[string]any:
		names := make([]string, 0, len(v))
		for k := range v {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if text, ok := v[k].(string); ok && text != "" && (k == "certificatePath" || k == "keyPath" || k == "remoteCAPath") {
				found = append(found, [2]string{key + "." + k, text})
			} else {
				found = append(found, tlsFiles(key+"."+k, v[k])...)
			}
		}
	case []any:
		for i, item := range v {
			found = append(found, tlsFiles(fmt.Sprintf("%s[%d]", key, i), item)...)
		}
	}
	return found
}

// listenersOf lists the listeners of the config that something outside the pod dials; the
// profiling endpoint is not one of them.
func listenersOf(config map[string]any) ([]listener, error) {
	var out []listener
	add := func(key, dialer string, address any) error {
		text, _ := address.(string)
		if text == "" {
			return nil
		}
		colon := strings.LastIndex(text, ":")
		port, err := strconv.Atoi(text[colon+1:])
		if colon < 0 || err != nil {
			return fmt.Errorf("%s is %q, not host:port", key, text)
		}
		out = append(out, listener{key: key, dialer: dialer, port: int32(port)})
		return nil
	}
	for i, c := range connectionsOf(config) {
		key := fmt.Sprintf("clusterConnections[%d]", i)
		if err := add(key+".local.tcpServer.address", "local", lookup(c, "local", "tcpServer", "address")); err != nil {
			return nil, err
		}
		switch lookup(c, "remote", "connectionType") {
		case "tcp":
			if err := add(key+".remote.tcpServer.address", "remote", lookup(c, "remote", "tcpServer", "address")); err != nil {
				return nil, err
			}
		case "mux-server":
			if err := add(key+".remote.muxAddressInfo.address", "remote", lookup(c, "remote", "muxAddressInfo", "address")); err != nil {
				return nil, err
			}
		}
		if lookup(c, "memberlist", "enabled") == true {
			port, _ := lookup(c, "memberlist", "bindPort").(float64)
			if err := add(key+".memberlist.bindPort", "group", fmt.Sprintf(":%d", int(port))); err != nil {
				return nil, err
			}
		}
		for _, side := range []string{"local", "remote"} {
			check := side + "ClusterHealthCheck"
			if err := add(key+"."+check+".listenAddress", "health", lookup(c, check, "listenAddress")); err != nil {
				return nil, err
			}
		}
	}
	if err := add("metrics.prometheus.listenAddress", "metrics", lookup(config, "metrics", "prometheus", "listenAddress")); err != nil {
		return nil, err
	}
	return out, nil
}

// connectionsOf is the config's clusterConnections, each as a mapping (nil for one that is not).
func connectionsOf(config map[string]any) []map[string]any {
	var out []map[string]any
	list, _ := config["clusterConnections"].([]any)
	for _, item := range list {
		c, _ := item.(map[string]any)
		out = append(out, c)
	}
	return out
}

func lookup(m map[string]any, keys ...string) any {
	var value any = m
	for _, k := range keys {
		mapping, ok := value.(map[string]any)
		if !ok {
			return nil
		}
		value = mapping[k]
	}
	return value
}
