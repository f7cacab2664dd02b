// The processes of a scenario and how they are wired: two clusters, two proxies, for the mux
// modes certificates and (faults) a relay between the proxies; and the steps of each mode.
package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const host = "127.0.0.1"

// clusterPorts must match the cluster program's port layout (base .. base+7).
const clusterPorts = 8

// The namespace the scenarios replicate, and its name on cluster B where the proxy renames it.
const (
	namespaceA = "orders"
	namespaceB = "orders-b"
)

type topology struct {
	o   options
	sup *supervisor

	a, b         *side
	c, d         *side // soak: the pair connected directly
	aBase, bBase int
	specs        map[string]*proxySpec
	procs        map[string]*process
	relay        *relay
	balancers    []*relay // replicas: in front of each side's instances
	certs        certFiles
	renames      renames
}

func (t *topology) mux() bool {
	return t.o.mode == "mux" || t.o.mode == "faults" || t.o.mode == "demo" || t.o.mode == "soak" || t.o.mode == "lcm" ||
		t.o.mode == "routing" || t.o.mode == "crossversion"
}

// shardsOf is the history shard count of cluster A (0) or B (1); --shards except in the lcm and routing scenarios.
func (t *topology) shardsOf(cluster int) int {
	if l := t.shardLayout(); l != nil {
		return l.counts[cluster]
	}
	return t.o.shards
}

// renamed: the modes where proxy A renames the namespace (ACL runs without, so that the
// namespace allowlist reads the same on both proxies; the cross-version scenario, so that only
// the repaired strings differ).
func (t *topology) renamed() bool { return t.o.mode != "acl" && t.o.mode != "crossversion" }

// mapsSearchAttributes: the modes where proxy A maps a search attribute.
func (t *topology) mapsSearchAttributes() bool { return t.o.mode == "mux" || t.o.mode == "demo" }

// portPicker hands out ports on 127.0.0.1 that are free now, never the same one twice.
type portPicker struct {
	used  map[int]bool
	fixed map[string]int // the demo's fixed ports, by name; the others are picked at random
}

// demoPorts are the ports the demo prints, fixed so that they can be typed.
var demoPorts = map[string]int{
	"aOutbound": 6233, "bOutbound": 6333, "bMux": 6334,
	"aMetrics": 9090, "bMetrics": 9091,
	"aLocalHealth": 8081, "aRemoteHealth": 8082, "bLocalHealth": 8181, "bRemoteHealth": 8182,
}

func free(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// block returns the first of n consecutive free ports (at base, when base is not 0).
func (pp *portPicker) block(n, base int) (int, error) {
	for attempt := 0; attempt < 200; attempt++ {
		start := base
		if start == 0 {
			start = 20000 + rand.IntN(30000)
		}
		ok := true
		for p := start; p < start+n && ok; p++ {
			ok = !pp.used[p] && free(p)
		}
		if ok {
			for p := start; p < start+n; p++ {
				pp.used[p] = true
			}
			return start, nil
		}
		if base != 0 {
			return 0, fmt.Errorf("ports %d to %d on %s are not all free", base, base+n-1, host)
		}
	}
	return 0, fmt.Errorf("no %d consecutive free ports found on %s", n, host)
}

func (pp *portPicker) one(name string) (string, error) {
	p, err := pp.block(1, pp.fixed[name])
	return addr(p), err
}

func addr(port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }

func (t *topology) run(ctx context.Context) error {
	if t.o.mode == "replicas" || t.o.mode == "replicas-routing" {
		if err := t.startReplicas(ctx); err != nil {
			return err
		}
		if err := t.join(ctx); err != nil {
			return err
		}
		return t.replicas(ctx)
	}
	if err := t.start(ctx); err != nil {
		return err
	}
	if t.o.mode == "crossversion" {
		return t.crossVersion(ctx) // joins the clusters itself, once it has checked the schemas
	}
	if err := t.join(ctx); err != nil {
		return err
	}
	switch t.o.mode {
	case "tcp", "mux", "acl":
		return t.replicate(ctx)
	case "faults":
		return t.faults(ctx)
	case "lcm", "lcm-tcp", "routing", "routing-tcp":
		return t.shardScenario(ctx)
	case "fidelity":
		return t.fidelity(ctx)
	case "sdk":
		return t.sdk(ctx)
	case "demo":
		return t.demo(ctx)
	case "soak":
		return t.soak(ctx)
	}
	return nil
}

// start brings up both clusters and both proxies.
func (t *topology) start(ctx context.Context) error {
	pp := &portPicker{used: map[int]bool{}}
	aWant, bWant := 0, 0
	if t.o.fixedPorts {
		aWant, bWant, pp.fixed = 7233, 8233, demoPorts
	}
	var err error
	if t.aBase, err = pp.block(clusterPorts, aWant); err != nil {
		return err
	}
	if t.bBase, err = pp.block(clusterPorts, bWant); err != nil {
		return err
	}
	ports := map[string]string{}
	for _, name := range []string{"aOutbound", "bOutbound", "aInbound", "bInbound", "bMux", "relay",
		"aMetrics", "bMetrics", "aDebug", "bDebug", "aLocalHealth", "aRemoteHealth", "bLocalHealth", "bRemoteHealth"} {
		if ports[name], err = pp.one(name); err != nil {
			return err
		}
	}
	nsB := namespaceA
	if t.renamed() {
		nsB = namespaceB
	}
	t.a = &side{name: "cluster-a", frontend: addr(t.aBase), outbound: ports["aOutbound"], namespace: namespaceA}
	t.b = &side{name: "cluster-b", frontend: addr(t.bBase), outbound: ports["bOutbound"], namespace: nsB}
	t.renames = renames{namespaces: map[string]string{}, attributes: map[string]string{}}
	if t.renamed() {
		t.renames.namespaces[namespaceA] = namespaceB
	}

	clusterA, descriptorsA, descriptorsB := "cluster", t.o.descriptors, t.o.descriptors
	if t.o.mode == "crossversion" {
		// A on v1.22, described by the v1.22 descriptor set; B asked by reflection.
		clusterA, descriptorsB = oldCluster, ""
		if descriptorsA, err = writeOldSchema(t.o.bin, t.o.work); err != nil {
			return err
		}
	}
	if err := t.startCluster(clusterA, t.a.name, t.aBase, 1); err != nil {
		return err
	}
	if err := t.startCluster(t.o.clusterB, t.b.name, t.bBase, 2); err != nil {
		return err
	}
	if t.o.mode == "soak" {
		if err := t.startDirectClusters(pp); err != nil {
			return err
		}
	}

	a := &proxySpec{name: "a-to-b", frontend: t.a.frontend, outbound: t.a.outbound,
		metrics: ports["aMetrics"], localHealth: ports["aLocalHealth"], remoteHealth: ports["aRemoteHealth"], debug: ports["aDebug"],
		descriptorSet: descriptorsA}
	b := &proxySpec{name: "b-to-a", frontend: t.b.frontend, outbound: t.b.outbound,
		metrics: ports["bMetrics"], localHealth: ports["bLocalHealth"], remoteHealth: ports["bRemoteHealth"], debug: ports["bDebug"],
		descriptorSet: descriptorsB}
	if t.mux() {
		if t.certs, err = makeCerts(filepath.Join(t.o.work, "certs")); err != nil {
			return err
		}
		dial := ports["bMux"]
		if t.o.mode == "faults" || t.o.mode == "lcm" || t.o.mode == "routing" {
			if t.relay, err = newRelay(ports["relay"], ports["bMux"]); err != nil {
				return err
			}
			dial = t.relay.address()
			logf("relay %s -> %s carries the mux connection", dial, ports["bMux"])
		}
		a.remoteType, a.muxAddress, a.muxCount = "mux-client", dial, 2
		a.muxTLS = &tlsFiles{cert: t.certs.proxyACert, key: t.certs.proxyAKey, ca: t.certs.ca, serverName: proxyBServerName}
		// More sessions than proxy A keeps: free slots, so that a stranger's refusal is the
		// certificate check's doing, not the session count's (see checkMutualTLS).
		b.remoteType, b.muxAddress, b.muxCount = "mux-server", ports["bMux"], 8
		b.muxTLS = &tlsFiles{cert: t.certs.proxyBCert, key: t.certs.proxyBKey, ca: t.certs.ca}
	} else {
		a.remoteType, a.inbound, a.peerInbound = "tcp", ports["aInbound"], ports["bInbound"]
		b.remoteType, b.inbound, b.peerInbound = "tcp", ports["bInbound"], ports["aInbound"]
	}
	if t.renamed() {
		// Only proxy A renames: between the proxies the namespace has B's name.
		a.namespaces = []fieldPair{{namespaceA, namespaceB}}
	}
	if t.o.mode == "acl" {
		for _, s := range []*proxySpec{a, b} {
			s.acl = true
			s.allowedNamespaces = []string{namespaceA}
		}
	}
	if t.o.mode == "fidelity" {
		fidelitySpecs(a)
	}
	if l := t.shardLayout(); l != nil {
		a.shardCount = &shardCount{mode: l.mode, local: l.counts[0], remote: l.counts[1]}
		b.shardCount = &shardCount{mode: l.mode, local: l.counts[1], remote: l.counts[0]}
	}
	t.specs = map[string]*proxySpec{"proxy-a": a, "proxy-b": b}
	t.procs = map[string]*process{}
	for _, name := range []string{"proxy-a", "proxy-b"} {
		if err := t.startProxy(name); err != nil {
			return err
		}
	}
	for _, name := range []string{"proxy-a", "proxy-b"} {
		if err := t.procs[name].waitReady(t.o.readyTimeout); err != nil {
			return err
		}
		logf("%s ready", name)
	}
	if err := t.waitAllReady(); err != nil {
		return err
	}
	logf("cluster A frontend %s, cluster B frontend %s", t.a.frontend, t.b.frontend)
	return ctx.Err()
}

// waitAllReady waits until every process started so far (clusters and proxies) says it is ready.
func (t *topology) waitAllReady() error {
	t.sup.mu.Lock()
	procs := append([]*process(nil), t.sup.procs...)
	t.sup.mu.Unlock()
	for _, p := range procs {
		if err := p.waitReady(t.o.readyTimeout); err != nil {
			return err
		}
	}
	return nil
}

// startCluster starts one cluster program (program: its name in --bin); it is awaited with the
// other processes.
func (t *topology) startCluster(program, name string, base, initialFailoverVersion int) error {
	shards := t.o.shards
	if name == t.a.name {
		shards = t.shardsOf(0)
	} else if name == t.b.name {
		shards = t.shardsOf(1)
	}
	ready := "cluster " + name + " ready"
	_, err := t.sup.start(name, filepath.Join(t.o.work, name+".log"), func(l string) bool { return strings.Contains(l, ready) },
		filepath.Join(t.o.bin, program), "--name", name, "--base-port", strconv.Itoa(base),
		"--db", filepath.Join(t.o.work, name+".db"),
		"--initial-failover-version", strconv.Itoa(initialFailoverVersion), "--failover-version-increment", "10",
		"--shards", strconv.Itoa(shards), "--global-namespaces=true", "--log-level", t.o.clusterLevel)
	return err
}

func (t *topology) configPath(name string) string { return filepath.Join(t.o.work, name+".yaml") }

// startProxy writes the proxy's config, checks it with `s2s-proxy validate`, and starts it.
func (t *topology) startProxy(name string) error {
	path := t.configPath(name)
	if err := os.WriteFile(path, []byte(t.specs[name].yaml()), 0o644); err != nil {
		return err
	}
	out, err := exec.Command(t.o.proxy, "validate", "--config", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: s2s-proxy validate --config %s: %v\n%s", name, path, err, out)
	}
	isReady := func(line string) bool { return strings.HasSuffix(strings.TrimSpace(line), " ready") }
	p, err := t.sup.start(name, filepath.Join(t.o.work, name+".log"), isReady, t.o.proxy,
		"start", "--config", path, "--level", t.o.proxyLevel)
	if err != nil {
		return err
	}
	t.procs[name] = p
	return nil
}

// stopProxy stops a proxy with SIGTERM, to be started again.
func (t *topology) stopProxy(name string) error {
	if err := t.procs[name].stop(30 * time.Second); err != nil {
		return fmt.Errorf("stopping %s: %w", name, err)
	}
	t.sup.forget(t.procs[name])
	logf("%s stopped", name)
	return nil
}

// restartProxy stops a proxy (SIGTERM), starts it again from its spec and waits until it is ready.
func (t *topology) restartProxy(name string) error {
	if err := t.stopProxy(name); err != nil {
		return err
	}
	if err := t.startProxy(name); err != nil {
		return err
	}
	if err := t.procs[name].waitReady(t.o.readyTimeout); err != nil {
		return err
	}
	logf("%s restarted and ready", name)
	return nil
}

func (t *topology) closeClients() {
	for _, s := range []*side{t.a, t.b, t.c, t.d} {
		if s != nil && s.client != nil {
			s.client.Close()
		}
	}
}

// checkAlive fails when a cluster or proxy has exited on its own.
func (t *topology) checkAlive() error {
	t.sup.mu.Lock()
	defer t.sup.mu.Unlock()
	for _, p := range t.sup.procs {
		if !p.running() {
			return fmt.Errorf("%s exited during the run (%v); log %s:\n%s", p.name, p.waitErr, p.logPath, tail(p.logPath, 30))
		}
	}
	return nil
}

// join connects the clusters through the proxies, creates the global namespace on A, adds the
// search attributes, and (when mapped) gives proxy A the search attribute mapping.
func (t *topology) join(ctx context.Context) error {
	for _, s := range []*side{t.a, t.b} {
		if err := s.dial(ctx, t.o.stepTimeout); err != nil {
			return err
		}
	}
	if err := connectClusters(ctx, t.o.stepTimeout, t.a, t.b); err != nil {
		return err
	}
	if err := createNamespace(ctx, t.o.stepTimeout, t.a, t.b); err != nil {
		return err
	}
	if err := addSearchAttributes(ctx, t.o.stepTimeout, t.a, t.b, stageAttribute, stageAttributeOnB); err != nil {
		return err
	}
	if !t.mapsSearchAttributes() {
		return nil
	}
	// The mapping names the namespace's id, known only now: give it to proxy A and restart it.
	id, fieldOf, err := namespaceFacts(ctx, t.a)
	if err != nil {
		return err
	}
	stage, onB := fieldOf[stageAttribute], fieldOf[stageAttributeOnB]
	if stage == "" || onB == "" {
		return fmt.Errorf("namespace %s on %s has no fields for %s and %s: %v", namespaceA, t.a.name, stageAttribute, stageAttributeOnB, fieldOf)
	}
	a := t.specs["proxy-a"]
	a.saNamespace, a.saNamespaceID = namespaceA, id
	// A swap, so that the mapping is one-to-one both ways: a value stored in A's field for
	// E2EStage travels in B's field for E2EStageOnB, and the other way round.
	a.searchAttributes = []fieldPair{{stage, onB}, {onB, stage}}
	t.renames.attributes[stageAttribute] = stageAttributeOnB
	t.renames.attributes[stageAttributeOnB] = stageAttribute
	logf("namespace %s has id %s; %s is stored in %s, %s in %s; proxy A maps %s <-> %s",
		namespaceA, id, stageAttribute, stage, stageAttributeOnB, onB, stage, onB)
	if err := t.restartProxy("proxy-a"); err != nil {
		return err
	}
	return waitStreamsAcked(ctx, t, "proxy-a")
}

// replicate is the replication check of the tcp, mux and acl modes.
func (t *topology) replicate(ctx context.Context) error {
	a, b := t.a, t.b
	if t.o.mode == "mux" {
		if err := checkMutualTLS(t.specs["proxy-b"].muxAddress, t.certs); err != nil {
			return err
		}
	}
	ids := parentIDs("order", 0, t.o.workflows)
	workerA, err := startWorker(a)
	if err != nil {
		return err
	}
	if err := startParents(ctx, a, ids, 0, stageAttribute); err != nil {
		workerA.Stop()
		return err
	}
	logf("started %d parent workflows on %s", len(ids), a.name)
	err = waitParked(ctx, t.o.stepTimeout, a, ids)
	workerA.Stop()
	if err != nil {
		return err
	}
	logf("all %d parents parked on %s, first child done", len(ids), a.name)
	got, err := compareAll(ctx, t.o.stepTimeout, a, b, withChildren(ids, false), t.renames)
	if err != nil {
		return err
	}
	logf("replicated A -> B: %d workflows, %d events on %s equal to %s's, %d names translated",
		got.workflows, got.events, b.name, a.name, got.translated)
	if t.renamed() && got.translated == 0 {
		return fmt.Errorf("no namespace name was translated in %d events: the histories carry no namespace names?", got.events)
	}
	finishAttribute := stageAttribute
	if t.mapsSearchAttributes() {
		// On B the value set on A under E2EStage shows under E2EStageOnB.
		if err := countVisible(ctx, t.o.stepTimeout, b, stageAttributeOnB+` = "waiting"`, int64(len(ids))); err != nil {
			return err
		}
		logf("visibility on %s finds the %d parents under %s", b.name, len(ids), stageAttributeOnB)
		finishAttribute = stageAttributeOnB
	}
	if t.o.mode == "acl" {
		if err := checkRefused(ctx, t); err != nil {
			return err
		}
	}
	if err := checkEndpoints(ctx, t); err != nil {
		return err
	}
	if err := t.checkAlive(); err != nil {
		return err
	}
	if !t.o.failover {
		return nil
	}

	if err := failover(ctx, t.o.stepTimeout, a, b); err != nil {
		return err
	}
	workerB, err := startWorker(b)
	if err != nil {
		return err
	}
	defer workerB.Stop()
	if err := finishOn(ctx, t.o.stepTimeout, b, ids, finishAttribute); err != nil {
		return err
	}
	logf("all %d parents finished and completed on %s", len(ids), b.name)
	logTimeline(ctx, b, ids[0])
	got, err = compareAll(ctx, t.o.stepTimeout, b, a, withChildren(ids, true), t.renames.inverse())
	if err != nil {
		return err
	}
	logf("replicated B -> A after failover: %d workflows, %d events on %s equal to %s's, %d names translated",
		got.workflows, got.events, a.name, b.name, got.translated)
	if t.mapsSearchAttributes() {
		if err := countVisible(ctx, t.o.stepTimeout, a, stageAttribute+` = "done"`, int64(len(ids))); err != nil {
			return err
		}
		logf("visibility on %s finds the %d parents done under %s", a.name, len(ids), stageAttribute)
	}
	return t.checkAlive()
}
