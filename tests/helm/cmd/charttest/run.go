// Running the configs of a StatefulSet's pods: each proxy on a loopback address of its own, which
// stands in for its pod's IP and for the DNS name the headless Service gives the pod. The group
// their memberlist blocks describe must form, and form again after the first pod, which joins
// no one, restarts.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/yaml"
)

// A pod of the run: its proxy process, its address and where it serves /debug/connections.
type runningPod struct {
	name, ip, debug, config string
	// proxyAddress is the pod's own proxyAddresses entry, as rewritten.
	proxyAddress string
	cmd          *exec.Cmd
	exited       chan error
}

var hostPort = regexp.MustCompile(`^(.*):([0-9]+)$`)

// runGroup starts every pod's config and checks, within bounds, that each pod's group lists every
// other pod alive and connected, with the proxy address that pod's config announces.
func runGroup(proxy, work, service string, configs []podConfig) error {
	pods := make([]*runningPod, len(configs))
	hosts := map[string]string{} // a pod's DNS name -> its loopback address
	for n, c := range configs {
		name := strings.TrimSuffix(c.file, ".yaml")
		pods[n] = &runningPod{name: name, ip: fmt.Sprintf("127.0.0.%d", 20+n)}
		hosts[fmt.Sprintf("%s.%s.%s.svc", name, service, namespace)] = pods[n].ip
	}
	ports := map[string]string{} // a port of the rendered configs -> a free port here, the same for every pod
	for n, c := range configs {
		pod := pods[n]
		rewritten, err := rewrite(c.parsed, pod.ip, hosts, ports)
		if err != nil {
			return err
		}
		config := rewritten.(map[string]any)
		debugPort, err := freePort()
		if err != nil {
			return err
		}
		pod.debug = net.JoinHostPort(pod.ip, debugPort)
		config["profiling"] = map[string]any{"pprofAddress": pod.debug}
		for _, connection := range connectionsOf(config) {
			if own, ok := lookup(connection, "memberlist", "proxyAddresses", pod.name).(string); ok {
				pod.proxyAddress = own
			}
		}
		text, err := yaml.Marshal(config)
		if err != nil {
			return err
		}
		pod.config = filepath.Join(work, "run-"+c.file)
		if err := os.WriteFile(pod.config, text, 0o644); err != nil {
			return err
		}
	}
	defer func() {
		for _, pod := range pods {
			pod.stop()
		}
	}()
	for _, pod := range pods {
		if err := pod.start(proxy, work); err != nil {
			return err
		}
	}
	if err := awaitGroup(pods); err != nil {
		return err
	}
	fmt.Printf("the %d pods' configs form a group: each lists the others alive\n", len(pods))

	// The first pod joins no one: its peers must dial it again when it comes back.
	first := pods[0]
	first.stop()
	if err := first.start(proxy, work); err != nil {
		return err
	}
	if err := awaitGroup(pods); err != nil {
		return fmt.Errorf("after %s restarted: %v", first.name, err)
	}
	fmt.Printf("after %s restarted, the group formed again\n", first.name)
	return nil
}

// awaitGroup waits (30 s at most) until each pod's /debug/connections shows every other pod alive.
func awaitGroup(pods []*runningPod) error {
	deadline := time.Now().Add(30 * time.Second)
	for _, pod := range pods {
		for {
			err := pod.seesGroup(pods)
			if err == nil {
				break
			}
			select {
			case exit := <-pod.exited:
				return fmt.Errorf("%s exited (%v) before its group formed; its log is %s.log", pod.name, exit, pod.config)
			default:
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("after 30 s, %s: %v", pod.name, err)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	return nil
}

// seesGroup: the pod's group, under its mux entry in /debug/connections, lists every other pod
// alive, connected, and with the proxy address that pod announces.
func (pod *runningPod) seesGroup(pods []*runningPod) error {
	client := http.Client{Timeout: 3 * time.Second}
	response, err := client.Get("http://" + pod.debug + "/debug/connections")
	if err != nil {
		return err
	}
	defer response.Body.Close()
	body, err := io.ReadAll(io.LimitReader(response.Body, 4<<20))
	if err != nil {
		return err
	}
	var view struct {
		Mux []struct {
			Group *struct {
				NodeName string `json:"nodeName"`
				Peers    []struct {
					NodeName     string `json:"nodeName"`
					State        string `json:"state"`
					ProxyAddress string `json:"proxyAddress"`
					Connected    bool   `json:"connected"`
				} `json:"peers"`
			} `json:"group"`
		} `json:"mux"`
	}
	if err := json.Unmarshal(body, &view); err != nil {
		return fmt.Errorf("/debug/connections is not the JSON expected: %v", err)
	}
	if len(view.Mux) == 0 || view.Mux[0].Group == nil {
		return fmt.Errorf("/debug/connections shows no group: %s", body)
	}
	group := view.Mux[0].Group
	if group.NodeName != pod.name {
		return fmt.Errorf("the group calls this pod %q", group.NodeName)
	}
	for _, other := range pods {
		if other == pod {
			continue
		}
		found := false
		for _, peer := range group.Peers {
			if peer.NodeName == other.name && peer.State == "alive" && peer.Connected && peer.ProxyAddress == other.proxyAddress {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("its group does not list %s alive and connected at %s: %s", other.name, other.proxyAddress, body)
		}
	}
	return nil
}

func (pod *runningPod) start(proxy, work string) error {
	log, err := os.OpenFile(pod.config+".log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	pod.cmd = exec.Command(proxy, "start", "--config", pod.config, "--drain", "1")
	pod.cmd.Dir = work
	pod.cmd.Stdout = log
	pod.cmd.Stderr = log
	if err := pod.cmd.Start(); err != nil {
		log.Close()
		return err
	}
	exited := make(chan error, 1)
	pod.exited = exited
	go func(cmd *exec.Cmd) {
		exited <- cmd.Wait()
		log.Close()
	}(pod.cmd)
	return nil
}

// stop ends the pod's proxy with SIGTERM, as the kubelet does, and kills it after 15 s.
func (pod *runningPod) stop() {
	if pod.cmd == nil {
		return
	}
	_ = pod.cmd.Process.Signal(syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	select {
	case <-pod.exited:
	case <-ctx.Done():
		_ = pod.cmd.Process.Kill()
		<-pod.exited
	}
	pod.cmd = nil
}

// rewrite moves a config onto this machine: a listen address on 0.0.0.0 to the pod's own address,
// a pod's DNS name to that pod's address, and their ports (and memberlist.bindPort) to free ports.
// Other addresses (the local frontend) stay as they are.
func rewrite(value any, ip string, hosts map[string]string, ports map[string]string) (any, error) {
	port := func(p string) (string, error) {
		if mapped, ok := ports[p]; ok {
			return mapped, nil
		}
		free, err := freePort()
		ports[p] = free
		return free, err
	}
	switch v := value.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, item := range v {
			if number, ok := item.(float64); ok && k == "bindPort" {
				mapped, err := port(strconv.Itoa(int(number)))
				if err != nil {
					return nil, err
				}
				out[k], _ = strconv.Atoi(mapped)
				continue
			}
			rewritten, err := rewrite(item, ip, hosts, ports)
			if err != nil {
				return nil, err
			}
			out[k] = rewritten
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			rewritten, err := rewrite(item, ip, hosts, ports)
			if err != nil {
				return nil, err
			}
			out[i] = rewritten
		}
		return out, nil
	case string:
		if v == "0.0.0.0" {
			return ip, nil
		}
		match := hostPort.FindStringSubmatch(v)
		if match == nil {
			return v, nil
		}
		host := match[1]
		if host == "0.0.0.0" {
			host = ip
		} else if hosts[host] != "" {
			host = hosts[host]
		} else {
			return v, nil
		}
		mapped, err := port(match[2])
		return net.JoinHostPort(host, mapped), err
	}
	return value, nil
}

// freePort is a port the kernel hands out for a listener now, free until someone takes it.
func freePort() (string, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer listener.Close()
	_, port, _ := net.SplitHostPort(listener.Addr().String())
	return port, nil
}
