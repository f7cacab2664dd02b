// Command scenario runs two real Temporal clusters, each behind its own s2s-proxy, and checks
// that they replicate through the proxies:
//
//	Temporal A ⇄ proxy A ⇄ proxy B ⇄ Temporal B   (all on 127.0.0.1)
//
// --mode picks the scenario:
//
//	tcp     both proxies in TCP mode; namespace "orders" on A is "orders-b" on B
//	mux     proxy A mux-client, proxy B mux-server, mutual TLS, the rename, one search
//	        attribute mapped; then a failover to B
//	acl     TCP mode with the replication allowlist on both proxies; calls outside it are refused
//	faults  as mux, with the mux connection cut twice and proxy B restarted while workflows run
//	fidelity as tcp, with proxy A's ACL and a mapping cluster A lacks: errors, lists and names as each
//	        side must see them, then the tcp replication check (fidelity.go)
//	sdk     as tcp; the Go SDK (worker and client) on B's side of A through both proxies, rounds of
//	        workflows under CPU load, no local name seen by the SDK (sdk.go)
//	demo    the mux topology with one sample workflow; runs until interrupted
//	lcm     as mux (no search attribute mapped), cluster A with 2 history shards and B with 3, both proxies in
//	        shardCount lcm mode; the mux connection cut and proxy B restarted while workflows run, then a
//	        failover to B (shards.go)
//	lcm-tcp as lcm with both proxies in TCP mode: no mux connection to cut, proxy B restarted
//	routing as lcm with cluster A of 4 history shards and B of 3, both proxies in shardCount routing mode:
//	        each cluster lists the other with its own count; the proxies' routing metrics show every target
//	        and source stream, tasks routed and acks forwarded (shards.go, routing.go)
//	routing-tcp as routing with both proxies in TCP mode: no mux connection to cut, proxy B restarted
//	crossversion  as mux, with cluster A on Temporal v1.22 (gogo protobuf) and strings that are not
//	        UTF-8 written there: they reach B repaired; with repairUTF8 off they do not (crossversion.go)
//	replicas two proxy instances per side (A1, A2 mux-clients; B1, B2 mux-servers behind a balancer), each
//	        side's instances a group (memberlist, mutual TLS), each cluster reaching its instances through
//	        a balancer; three batches of workflows: all up, B1 stopped during one, every instance
//	        restarted in turn during the last (replicas.go)
//	replicas-routing as replicas with cluster A of 4 history shards and B of 3 and every instance in shardCount
//	        routing mode, cluster B reaching its instances round robin: the source shards of each side spread
//	        over both of its instances (their routing views), the same three batches (replicas.go)
//	soak    the mux topology and, beside it, two clusters connected directly, for
//	        --soak-duration with Temporal's default keepalives and connection ageing; the
//	        proxied pair must re-establish its streams no more often than the direct one
//
// It finds free ports, starts the clusters (the cluster program) and the proxies, drives the
// clusters with the Go SDK, and stops everything it started, by pid, whatever happens. Logs go
// to --work; on failure their tails are printed.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type options struct {
	mode          string
	proxy         string
	bin           string
	work          string
	descriptors   string
	workflows     int
	failover      bool
	shards        int
	proxyLevel    string
	timeout       time.Duration
	readyTimeout  time.Duration
	stepTimeout   time.Duration
	convergeBound time.Duration
	fixedPorts    bool
	clusterLevel  string
	soakDuration  time.Duration
	soakInterval  time.Duration
	sdkRounds     int
	sdkWorkflows  int
	clusterB      string
}

func parseFlags() options {
	var o options
	flag.StringVar(&o.mode, "mode", "tcp", "scenario: tcp, mux, acl, faults, fidelity, sdk, demo, soak, lcm, lcm-tcp, routing, routing-tcp, replicas, replicas-routing or crossversion")
	flag.StringVar(&o.proxy, "proxy", "", "the s2s-proxy binary (required)")
	flag.StringVar(&o.bin, "bin", "", "directory holding the cluster program (required)")
	flag.StringVar(&o.work, "work", "", "directory for certificates, configs and logs (required; created)")
	flag.StringVar(&o.descriptors, "descriptors", "", "Temporal descriptor set for the proxies; empty = gRPC reflection on each frontend (crossversion: proxy A reads the v1.22 set it writes, proxy B asks by reflection)")
	flag.IntVar(&o.workflows, "workflows", 20, "parent workflows to run (each with two children)")
	flag.BoolVar(&o.failover, "failover", true, "fail over to B, finish the workflows there, check A gets the new events (not in faults mode)")
	flag.IntVar(&o.shards, "shards", 1, "history shards per cluster")
	flag.StringVar(&o.proxyLevel, "proxy-level", "info", "proxy log level")
	flag.DurationVar(&o.timeout, "timeout", 20*time.Minute, "bound on the whole scenario")
	flag.DurationVar(&o.readyTimeout, "ready-timeout", 3*time.Minute, "bound on each process becoming ready")
	flag.DurationVar(&o.stepTimeout, "step-timeout", 3*time.Minute, "bound on each wait for the clusters")
	flag.DurationVar(&o.convergeBound, "converge-bound", 4*time.Minute, "faults: bound on B converging to A after the last fault")
	flag.BoolVar(&o.fixedPorts, "fixed-ports", false, "use the demo's fixed ports (frontends 7233 and 8233) instead of free random ones")
	flag.StringVar(&o.clusterLevel, "cluster-level", "", "the clusters' log level; empty = warn, and info in soak mode (it reads their stream receivers' starts)")
	flag.DurationVar(&o.soakDuration, "soak-duration", 11*time.Minute, "soak: how long each pair is measured, from its first replication streams")
	flag.DurationVar(&o.soakInterval, "soak-interval", 15*time.Second, "soak: how often a parent workflow starts on each pair")
	flag.IntVar(&o.sdkRounds, "sdk-rounds", 10, "sdk: rounds of workflows")
	flag.IntVar(&o.sdkWorkflows, "sdk-workflows", 100, "sdk: workflows started at once in each round")
	flag.StringVar(&o.clusterB, "cluster-b", "cluster", "the program in --bin that runs cluster B: cluster (the current version) or, with crossversion, cluster-v1.23")
	flag.Parse()
	explicit := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	if o.clusterLevel == "" {
		o.clusterLevel = "warn"
		if o.mode == "soak" {
			o.clusterLevel = "info"
		}
	}
	if o.mode == "soak" && !explicit["timeout"] {
		// Four clusters to start and join, the soak itself, then the comparison.
		o.timeout = o.soakDuration + 15*time.Minute
	}
	if o.proxy == "" || o.bin == "" || o.work == "" {
		fmt.Fprintln(os.Stderr, "scenario: --proxy, --bin and --work are required")
		flag.Usage()
		os.Exit(2)
	}
	switch o.mode {
	case "tcp", "mux", "acl", "faults", "demo", "fidelity", "sdk", "soak", "lcm", "lcm-tcp", "routing", "routing-tcp", "replicas", "replicas-routing", "crossversion":
	default:
		fmt.Fprintf(os.Stderr, "scenario: unknown --mode %q\n", o.mode)
		os.Exit(2)
	}
	if o.workflows < 1 {
		fmt.Fprintln(os.Stderr, "scenario: --workflows must be at least 1")
		os.Exit(2)
	}
	return o
}

var began = time.Now()

func logf(format string, args ...any) {
	fmt.Printf("scenario [%6.1fs] %s\n", time.Since(began).Seconds(), fmt.Sprintf(format, args...))
}

func main() {
	o := parseFlags()
	os.Exit(run(o))
}

func run(o options) int {
	if err := os.MkdirAll(o.work, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "scenario: %v\n", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	if o.mode == "demo" {
		ctx, cancel = context.WithCancel(context.Background())
	}
	defer cancel()
	interrupted := make(chan os.Signal, 1)
	signal.Notify(interrupted, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		select {
		case sig := <-interrupted:
			logf("%s: stopping", sig)
			cancel()
		case <-ctx.Done():
		}
	}()

	t := &topology{o: o, sup: &supervisor{}}
	err := t.run(ctx)
	if err != nil {
		t.dumpProxyState()
	}
	logf("stopping every process started")
	if t.relay != nil {
		t.relay.close()
	}
	for _, balancer := range t.balancers {
		balancer.close()
	}
	t.closeClients()
	unclean := t.sup.stopAll(45 * time.Second)
	for _, u := range unclean {
		logf("did not stop cleanly: %s", u)
	}
	if o.mode == "crossversion" {
		// With repairUTF8 off, cluster B keeps retrying the history task it cannot parse (that is
		// the failure the scenario shows), and Temporal's Stop sometimes waits on that retry longer
		// than the cluster program allows. B's stop is Temporal's business, not the proxy's: it is
		// reported, not failed on. Every other process must still stop cleanly.
		var kept []string
		for _, u := range unclean {
			if strings.HasPrefix(u, "cluster-b ") {
				logf("tolerated: cluster-b, left retrying an unreadable history task, did not stop in time")
				continue
			}
			kept = append(kept, u)
		}
		unclean = kept
	}
	if err != nil && !(o.mode == "demo" && ctx.Err() == context.Canceled) {
		fmt.Fprintf(os.Stderr, "scenario %s: FAIL: %v\n", o.mode, err)
		names := []string{"cluster-a", "cluster-b", "proxy-a", "proxy-b"}
		if o.mode == "replicas" || o.mode == "replicas-routing" {
			names = append([]string{"cluster-a", "cluster-b"}, replicaNames...)
		}
		if o.mode == "soak" {
			names = append(names, "cluster-c", "cluster-d")
		}
		for _, name := range names {
			fmt.Fprintf(os.Stderr, "--- last lines of %s.log\n%s\n", name, tail(filepath.Join(o.work, name+".log"), 25))
		}
		return 1
	}
	if len(unclean) > 0 {
		fmt.Fprintf(os.Stderr, "scenario %s: FAIL: processes did not stop cleanly\n", o.mode)
		return 1
	}
	if o.mode == "demo" {
		logf("demo stopped")
		return 0
	}
	logf("%s: PASS in %s", o.mode, time.Since(began).Round(time.Second))
	return 0
}
