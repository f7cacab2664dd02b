// The replicas scenario: two proxy instances per side. A1 and A2 are mux-clients, B1 and B2 mux-servers
// behind a balancer that A's instances dial; each cluster reaches its side's instances through a
// balancer too. The instances of each side form a group (memberlist with mutual TLS), and an instance
// whose calls find no session of its own forwards them to a peer that has one. Three batches of
// workflows on A must reach B whole: one with every instance up, one while B1 is stopped, and one while
// every instance is restarted in turn. In replicas-routing the clusters have unequal history shard counts
// and every instance runs shardCount routing: the instances of a side share the shards (routing.go's
// checkOwnership reads how), and cluster B reaches its instances round robin.
package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

var replicaNames = []string{"proxy-a1", "proxy-a2", "proxy-b1", "proxy-b2"}

// startReplicas brings up both clusters, the balancers and the four proxies.
func (t *topology) startReplicas(ctx context.Context) error {
	pp := &portPicker{used: map[int]bool{}}
	var err error
	if t.aBase, err = pp.block(clusterPorts, 0); err != nil {
		return err
	}
	if t.bBase, err = pp.block(clusterPorts, 0); err != nil {
		return err
	}
	ports := map[string]string{}
	names := []string{"aOutbound", "bOutbound", "bMux"}
	for _, n := range []string{"a1", "a2", "b1", "b2"} {
		names = append(names, n+"Outbound", n+"Member", n+"Metrics", n+"Debug", n+"Mux")
	}
	for _, name := range names {
		if ports[name], err = pp.one(name); err != nil {
			return err
		}
	}
	t.a = &side{name: "cluster-a", frontend: addr(t.aBase), outbound: ports["aOutbound"], namespace: namespaceA}
	t.b = &side{name: "cluster-b", frontend: addr(t.bBase), outbound: ports["bOutbound"], namespace: namespaceB}
	t.renames = renames{namespaces: map[string]string{namespaceA: namespaceB}, attributes: map[string]string{}}
	if err := t.startCluster("cluster", t.a.name, t.aBase, 1); err != nil {
		return err
	}
	if err := t.startCluster(t.o.clusterB, t.b.name, t.bBase, 2); err != nil {
		return err
	}
	if t.certs, err = makeCerts(t.o.work + "/certs"); err != nil {
		return err
	}
	routed := t.routedReplicas()
	for _, lb := range []struct {
		listen, first, second string
		failover              bool
	}{
		// Without routing, B's calls all reach B2, which has no session: it forwards every one. With routing,
		// B's replication streams reach both instances, so that each of them holds target streams.
		{"aOutbound", "a1Outbound", "a2Outbound", false}, {"bOutbound", "b2Outbound", "b1Outbound", !routed},
		{"bMux", "b1Mux", "b2Mux", true},
	} {
		start := newBalancer
		if lb.failover {
			start = newFailover
		}
		balancer, err := start(ports[lb.listen], []string{ports[lb.first], ports[lb.second]})
		if err != nil {
			return err
		}
		t.balancers = append(t.balancers, balancer)
		logf("balancer %s -> %s, %s (fail-over: %t)", ports[lb.listen], ports[lb.first], ports[lb.second], lb.failover)
	}

	member := tlsFiles{cert: t.certs.memberCert, key: t.certs.memberKey, ca: t.certs.ca}
	t.specs = map[string]*proxySpec{}
	for _, sideName := range []string{"a", "b"} {
		proxies := map[string]string{}
		for _, i := range []string{"1", "2"} {
			proxies[sideName+i] = ports[sideName+i+"Outbound"]
		}
		for _, i := range []string{"1", "2"} {
			node := sideName + i
			peer := sideName + map[string]string{"1": "2", "2": "1"}[i]
			s := &proxySpec{outbound: ports[node+"Outbound"], metrics: ports[node+"Metrics"], debug: ports[node+"Debug"],
				descriptorSet: t.o.descriptors,
				group: &groupSpec{node: node, bind: ports[node+"Member"], join: []string{ports[peer+"Member"]},
					proxies: proxies, tls: member}}
			if l := t.shardLayout(); l != nil {
				local := map[string]int{"a": 0, "b": 1}[sideName]
				s.shardCount = &shardCount{mode: l.mode, local: l.counts[local], remote: l.counts[1-local]}
			}
			if sideName == "a" {
				s.name, s.frontend = "a-to-b", t.a.frontend
				s.remoteType, s.muxAddress, s.muxCount = "mux-client", ports["bMux"], 2
				s.muxTLS = &tlsFiles{cert: t.certs.proxyACert, key: t.certs.proxyAKey, ca: t.certs.ca, serverName: proxyBServerName}
				s.namespaces = []fieldPair{{namespaceA, namespaceB}}
			} else {
				s.name, s.frontend = "b-to-a", t.b.frontend
				s.remoteType, s.muxAddress, s.muxCount = "mux-server", ports[node+"Mux"], 8
				s.muxTLS = &tlsFiles{cert: t.certs.proxyBCert, key: t.certs.proxyBKey, ca: t.certs.ca}
			}
			t.specs["proxy-"+node] = s
		}
	}
	t.procs = map[string]*process{}
	for _, name := range replicaNames {
		if err := t.startProxy(name); err != nil {
			return err
		}
	}
	if err := t.waitAllReady(); err != nil {
		return err
	}
	logf("cluster A frontend %s, cluster B frontend %s; four proxies ready", t.a.frontend, t.b.frontend)
	return ctx.Err()
}

// routedReplicas: the replicas-routing scenario.
func (t *topology) routedReplicas() bool { return t.o.mode == "replicas-routing" }

// checkGroups reads each running instance's /debug/connections: its group must list its peer alive.
func (t *topology) checkGroups(ctx context.Context, running []string) error {
	for _, name := range running {
		s := t.specs[name]
		peer := strings.TrimPrefix(name, "proxy-")
		peer = peer[:1] + map[byte]string{'1': "2", '2': "1"}[peer[1]]
		err := eventually(ctx, t.o.stepTimeout, name+"'s group to show "+peer+" alive", func(context.Context) error {
			code, body, err := httpGet("http://" + s.debug + "/debug/connections")
			if err != nil {
				return err
			}
			if code != 200 {
				return fmt.Errorf("HTTP %d", code)
			}
			want := `{"nodeName": "` + peer + `", "state": "alive"`
			if !strings.Contains(body, want) {
				return fmt.Errorf("no %s in %s", want, body)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	logf("each running instance's /debug/connections shows its peer alive: %v", running)
	return nil
}

// metric is the value of one series (family and labels as written in the text format) of a proxy's /metrics.
func (t *topology) metric(name, series string) (float64, error) {
	code, body, err := httpGet("http://" + t.specs[name].metrics + "/metrics")
	if err != nil {
		return 0, err
	}
	if code != 200 {
		return 0, fmt.Errorf("%s: /metrics answered %d", name, code)
	}
	for _, line := range strings.Split(body, "\n") {
		if value, found := strings.CutPrefix(line, series+" "); found {
			var v float64
			_, err := fmt.Sscan(value, &v)
			return v, err
		}
	}
	return 0, fmt.Errorf("%s: no series %s in /metrics", name, series)
}

// checkForwarding: B2, which has no session while every session lands on B1, must have forwarded B's calls.
func (t *topology) checkForwarding(ctx context.Context) error {
	sessions, err := t.metric("proxy-b2", `s2s_proxy_mux_sessions_active{connection="b-to-a"}`)
	if err != nil {
		return err
	}
	if sessions != 0 {
		return fmt.Errorf("proxy-b2 has %v mux sessions, but the fail-over balancer should send every session to proxy-b1", sessions)
	}
	return eventually(ctx, t.o.stepTimeout, "proxy-b2 to count calls forwarded to proxy-b1", func(context.Context) error {
		forwarded, err := t.metric("proxy-b2", `s2s_proxy_group_forwarded_calls_total{connection="b-to-a"}`)
		if err != nil {
			return err
		}
		if forwarded == 0 {
			return fmt.Errorf("proxy-b2 forwarded no call")
		}
		logf("proxy-b2, without a session of its own, forwarded %v of cluster B's calls to proxy-b1", forwarded)
		return nil
	})
}

// replicas runs the three batches.
func (t *topology) replicas(ctx context.Context) error {
	a, b := t.a, t.b
	if err := t.checkGroups(ctx, replicaNames); err != nil {
		return err
	}
	workerA, err := startWorker(a)
	if err != nil {
		return err
	}
	defer workerA.Stop()
	per := t.o.workflows
	converge := func(what string, upTo int, since time.Time) error {
		ids := parentIDs("order", 0, upTo)
		if err := waitParked(ctx, t.o.stepTimeout, a, ids); err != nil {
			return err
		}
		bounded, cancel := context.WithDeadline(ctx, since.Add(t.o.convergeBound))
		defer cancel()
		got, err := compareAll(bounded, t.o.convergeBound, a, b, withChildren(ids, false), t.renames)
		if err != nil {
			return fmt.Errorf("%s: B did not converge within %s: %w", what, t.o.convergeBound, err)
		}
		if got.translated == 0 {
			return fmt.Errorf("%s: no namespace name was translated in %d events", what, got.events)
		}
		logf("%s: %d workflows, %d events on %s equal to %s's, %d names translated, converged %s after %s",
			what, got.workflows, got.events, b.name, a.name, got.translated,
			time.Since(since).Round(100*time.Millisecond), "its last change")
		return t.checkAlive()
	}

	// Batch 1: every instance up.
	if err := startParents(ctx, a, parentIDs("order", 0, per), 0, stageAttribute); err != nil {
		return err
	}
	if err := converge("batch 1, all four instances up", per, time.Now()); err != nil {
		return err
	}
	if err := t.checkForwarding(ctx); err != nil {
		return err
	}
	if err := t.checkOwnership(ctx, replicaNames); err != nil {
		return err
	}

	// Batch 2: B1 stops while the workflows run; A's sessions to it move to B2.
	if err := startParents(ctx, a, parentIDs("order", per, 2*per), per, stageAttribute); err != nil {
		return err
	}
	time.Sleep(time.Second)
	if err := t.stopProxy("proxy-b1"); err != nil {
		return err
	}
	stopped := time.Now()
	if err := converge("batch 2, B1 stopped during it", 2*per, stopped); err != nil {
		return err
	}
	if err := t.checkOwnership(ctx, []string{"proxy-a1", "proxy-a2", "proxy-b2"}); err != nil {
		return err
	}

	// Batch 3: B1 back, then every instance restarted in turn while the workflows run.
	if err := t.startProxy("proxy-b1"); err != nil {
		return err
	}
	if err := t.procs["proxy-b1"].waitReady(t.o.readyTimeout); err != nil {
		return err
	}
	if err := startParents(ctx, a, parentIDs("order", 2*per, 3*per), 2*per, stageAttribute); err != nil {
		return err
	}
	var longest time.Duration
	longestName := ""
	for _, name := range replicaNames {
		began := time.Now()
		if err := t.restartProxy(name); err != nil {
			return err
		}
		if took := time.Since(began); took > longest {
			longest, longestName = took, name
		}
	}
	logf("batch 3: every instance restarted in turn; the longest restart (SIGTERM to ready) was %s's, %s",
		longestName, longest.Round(100*time.Millisecond))
	if err := converge("batch 3, every instance restarted in turn", 3*per, time.Now()); err != nil {
		return err
	}
	if err := t.checkGroups(ctx, replicaNames); err != nil {
		return err
	}
	return t.checkOwnership(ctx, replicaNames)
}
