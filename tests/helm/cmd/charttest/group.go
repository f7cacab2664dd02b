// The checks on a StatefulSet of several pods: the headless Service that names them, the budget
// that lets one go at a time, and the group that their configs' memberlist blocks make.
package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
)

// namespace is the one charttest renders the chart into.
const namespace = "temporal"

func checkStatefulSet(statefulSet appsv1.StatefulSet, services []corev1.Service, budgets []policyv1.PodDisruptionBudget,
	configs []podConfig, problem func(string, ...any)) {
	if t := statefulSet.Spec.UpdateStrategy.Type; t != "" && t != appsv1.RollingUpdateStatefulSetStrategyType {
		problem("the StatefulSet's update strategy is %q, not RollingUpdate: its pods would not restart one at a time", t)
	}
	var headless *corev1.Service
	for i := range services {
		if services[i].Name == statefulSet.Spec.ServiceName {
			headless = &services[i]
		}
	}
	groupPorts := map[int32]bool{}
	if headless == nil {
		problem("the StatefulSet's serviceName %q is no rendered Service: its pods would have no DNS names", statefulSet.Spec.ServiceName)
	} else {
		if headless.Spec.ClusterIP != corev1.ClusterIPNone {
			problem("Service %s is not headless (clusterIP: None): it would not give each pod a DNS name", headless.Name)
		}
		if !headless.Spec.PublishNotReadyAddresses {
			problem("Service %s does not publish pods that are not ready: peers could not find a pod before it is ready", headless.Name)
		}
		if headless.Labels["app.kubernetes.io/component"] != "group" {
			problem("Service %s is not labelled as the group's", headless.Name)
		}
		for _, p := range headless.Spec.Ports {
			groupPorts[p.Port] = true
		}
	}
	labels := statefulSet.Spec.Template.Labels
	if len(budgets) > 1 {
		problem("rendered %d PodDisruptionBudgets; want at most 1", len(budgets))
	}
	for _, b := range budgets {
		if b.Spec.MaxUnavailable == nil || b.Spec.MaxUnavailable.String() != "1" || b.Spec.MinAvailable != nil {
			problem("PodDisruptionBudget %s does not allow exactly one pod down (maxUnavailable: 1)", b.Name)
		}
		if b.Spec.Selector == nil || len(b.Spec.Selector.MatchLabels) == 0 {
			problem("PodDisruptionBudget %s selects nothing", b.Name)
		} else {
			for k, v := range b.Spec.Selector.MatchLabels {
				if labels[k] != v {
					problem("PodDisruptionBudget %s selects %s=%s, which the pod does not carry", b.Name, k, v)
				}
			}
		}
	}

	pods := map[string]bool{}
	for _, c := range configs {
		pods[strings.TrimSuffix(c.file, ".yaml")] = true
	}
	host := func(pod string) string {
		return fmt.Sprintf("%s.%s.%s.svc", pod, statefulSet.Spec.ServiceName, namespace)
	}
	first := connectionsOf(configs[0].parsed)
	for i := range first {
		key := fmt.Sprintf("clusterConnections[%d]", i)
		remote := lookup(first[i], "remote", "connectionType")
		grouped := remote == "mux-client" || remote == "mux-server"
		bindPort := lookup(first[i], "memberlist", "bindPort")
		// joined[a][b]: pod a lists pod b in joinAddrs.
		joined := map[string]map[string]bool{}
		for _, c := range configs {
			pod := strings.TrimSuffix(c.file, ".yaml")
			connections := connectionsOf(c.parsed)
			if len(connections) != len(first) {
				problem("%s has %d connections, %s has %d", c.file, len(connections), configs[0].file, len(first))
				return
			}
			connection := connections[i]
			if !grouped {
				if lookup(connection, "memberlist", "enabled") == true {
					problem("%s: %s has a %v remote side, but memberlist is enabled", c.file, key, remote)
				}
				continue
			}
			if lookup(connection, "memberlist", "enabled") != true {
				problem("%s: %s has a %v remote side, but memberlist is not enabled: the pods would not form a group", c.file, key, remote)
				continue
			}
			if name := lookup(connection, "memberlist", "nodeName"); name != pod {
				problem("%s: %s.memberlist.nodeName is %v, not the pod's name %s", c.file, key, name, pod)
			}
			port := lookup(connection, "memberlist", "bindPort")
			if port != bindPort {
				problem("%s: %s.memberlist.bindPort is %v, but %v in %s: the joinAddrs of the others point at one port", c.file, key, port, bindPort, configs[0].file)
			}
			number, _ := port.(float64)
			if !groupPorts[int32(number)] {
				problem("%s: %s.memberlist.bindPort %v is no port of the headless Service", c.file, key, port)
			}
			// Every pod's outbound listener, at its name in the headless Service.
			proxies, _ := lookup(connection, "memberlist", "proxyAddresses").(map[string]any)
			localPort := portOf(lookup(connection, "local", "tcpServer", "address"))
			if len(proxies) != len(pods) {
				problem("%s: %s.memberlist.proxyAddresses has %d entries for %d pods", c.file, key, len(proxies), len(pods))
			}
			for peer := range pods {
				want := host(peer) + ":" + localPort
				if proxies[peer] != want {
					problem("%s: %s.memberlist.proxyAddresses.%s is %v; want %s", c.file, key, peer, proxies[peer], want)
				}
			}
			if number, _ := strconv.Atoi(localPort); !groupPorts[int32(number)] {
				problem("%s: %s.local.tcpServer port %s, which peers forward to, is no port of the headless Service", c.file, key, localPort)
			}
			joined[pod] = map[string]bool{}
			joins, _ := lookup(connection, "memberlist", "joinAddrs").([]any)
			for _, entry := range joins {
				text, _ := entry.(string)
				peer := ""
				for other := range pods {
					if text == fmt.Sprintf("%s:%v", host(other), bindPort) {
						peer = other
					}
				}
				switch {
				case peer == "":
					problem("%s: %s.memberlist.joinAddrs entry %q is no pod's bindAddr:bindPort", c.file, key, text)
				case peer == pod:
					problem("%s: %s.memberlist.joinAddrs lists the pod itself", c.file, key)
				default:
					joined[pod][peer] = true
				}
			}
		}
		if !grouped {
			continue
		}
		// Each pair of pods linked once: by one of them, not by neither (two groups) nor by both
		// (the two would dial each other at the same time).
		names := make([]string, 0, len(pods))
		for pod := range pods {
			names = append(names, pod)
		}
		sort.Strings(names)
		for a := range names {
			for b := a + 1; b < len(names); b++ {
				ab, ba := joined[names[a]][names[b]], joined[names[b]][names[a]]
				if ab == ba {
					problem("%s: %s and %s list each other in joinAddrs %s", key, names[a], names[b],
						map[bool]string{true: "both", false: "neither"}[ab])
				}
			}
		}
	}
	// Apart from who they are and whom they join, the pods run one config.
	for _, c := range configs[1:] {
		if common(c.parsed) != common(configs[0].parsed) {
			problem("%s and %s differ in more than memberlist.nodeName and joinAddrs", configs[0].file, c.file)
		}
	}
}

func portOf(address any) string {
	text, _ := address.(string)
	return text[strings.LastIndex(text, ":")+1:]
}

// common is a config without the keys of memberlist that differ from pod to pod, as JSON.
func common(config map[string]any) string {
	text, _ := json.Marshal(config)
	var copied map[string]any
	_ = json.Unmarshal(text, &copied)
	for _, c := range connectionsOf(copied) {
		if memberlist, ok := c["memberlist"].(map[string]any); ok {
			delete(memberlist, "nodeName")
			delete(memberlist, "joinAddrs")
		}
	}
	text, _ = json.Marshal(copied)
	return string(text)
}
