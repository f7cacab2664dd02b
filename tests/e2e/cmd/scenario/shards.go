// The scenarios with unequal history shard counts, through proxies in a shardCount mode (shards.go: the layouts and
// the run they share; the lcm checks; routing.go: the routing checks). lcm: cluster A with 2 history shards, B with
// 3; routing: A with 4, B with 3. Each runs in mux mode with mutual TLS (lcm, routing) and in TCP mode (lcm-tcp,
// routing-tcp), the namespace renamed. While workflows run on A the mux connection is cut once (mux) and proxy B
// restarted once; B must converge, every workflow and event; then after a failover to B the new events must
// replicate back to A.
package main

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/server/common"
)

// shardLayout is the history shard counts of clusters A (0) and B (1) in a scenario and the shardCount mode of
// both proxies (each with its own cluster's count as localShardCount).
type shardLayout struct {
	mode   string
	counts [2]int
}

var (
	lcmLayout     = shardLayout{mode: "lcm", counts: [2]int{2, 3}}
	routingLayout = shardLayout{mode: "routing", counts: [2]int{4, 3}}
)

// shardLayout is the layout of the lcm and routing scenarios, nil in the others (--shards on both clusters).
func (t *topology) shardLayout() *shardLayout {
	switch t.o.mode {
	case "lcm", "lcm-tcp":
		return &lcmLayout
	case "routing", "routing-tcp", "replicas-routing":
		return &routingLayout
	}
	return nil
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func (l shardLayout) lcm() int { return l.counts[0] * l.counts[1] / gcd(l.counts[0], l.counts[1]) }

// listed is the history shard count cluster `asker` (0 or 1) must list the other with: in lcm mode the proxies
// present the LCM to both; in routing mode each cluster is told the other has as many shards as itself.
func (l shardLayout) listed(asker int) int32 {
	if l.mode == "routing" {
		return int32(l.counts[asker])
	}
	return int32(l.lcm())
}

// checkListedShardCount checks that s lists `remote` with the shard count the proxies present.
func checkListedShardCount(ctx context.Context, timeout time.Duration, s *side, remote string, want int32) error {
	return eventually(ctx, timeout, fmt.Sprintf("%s to list %s with %d history shards", s.name, remote, want),
		func(ctx context.Context) error {
			resp, err := s.client.OperatorService().ListClusters(ctx, &operatorservice.ListClustersRequest{})
			if err != nil {
				return err
			}
			for _, c := range resp.GetClusters() {
				if c.GetClusterName() == remote {
					if got := c.GetHistoryShardCount(); got != want {
						return fmt.Errorf("%s is listed with %d history shards", remote, got)
					}
					return nil
				}
			}
			return fmt.Errorf("%s is not listed", remote)
		})
}

// checkShardPairs checks, with Temporal's own workflow-to-shard function, that the workflows live on every pair
// of A and B shards that can share a workflow: then each of the proxies' mapped streams carried some of them.
func checkShardPairs(l shardLayout, namespaceID string, ids []string) error {
	countA, countB := int32(l.counts[0]), int32(l.counts[1])
	pairs := map[[2]int32]int{}
	for _, id := range ids {
		pairs[[2]int32{common.WorkflowIDToHistoryShard(namespaceID, id, countA), common.WorkflowIDToHistoryShard(namespaceID, id, countB)}]++
	}
	if want := l.lcm(); len(pairs) != want {
		return fmt.Errorf("the %d workflows cover %d of the %d pairs of shards (A, B): %v; some mapped streams carried nothing",
			len(ids), len(pairs), want, pairs)
	}
	logf("the %d workflows live on all %d pairs of shards (A shard, B shard): %v", len(ids), len(pairs), pairs)
	return nil
}

// checkMappedStreams reads each proxy's /metrics: on both of its sides it must have mapped a replication stream
// for every pair of real shards (client, server) that can share a workflow.
func (t *topology) checkMappedStreams(ctx context.Context) error {
	for _, name := range []string{"proxy-a", "proxy-b"} {
		s := t.specs[name]
		counts := map[string][2]int{"outbound": {s.shardCount.local, s.shardCount.remote}, "inbound": {s.shardCount.remote, s.shardCount.local}}
		err := eventually(ctx, t.o.stepTimeout, name+"'s /metrics to count mapped streams for every shard pair", func(context.Context) error {
			code, body, err := httpGet("http://" + s.metrics + "/metrics")
			if err != nil || code != 200 {
				return fmt.Errorf("/metrics on %s: status %d, %v", s.metrics, code, err)
			}
			for direction, c := range counts {
				g := gcd(c[0], c[1])
				for client := 1; client <= c[0]; client++ {
					for server := 1; server <= c[1]; server++ {
						if (client-1)%g != (server-1)%g {
							continue
						}
						if n := counter(body, "s2s_proxy_replication_streams_mapped_total", `direction="`+direction+`"`,
							fmt.Sprintf(`client_shard="%d"`, client), fmt.Sprintf(`server_shard="%d"`, server)); n < 1 {
							return fmt.Errorf("no %s stream mapped from client shard %d to server shard %d", direction, client, server)
						}
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	logf("both proxies mapped replication streams for every pair of shards, both ways")
	return nil
}

// checkCovered checks with Temporal's hash that the workflows reach every stream the mode has, from cluster
// `sender` to the other one.
func (t *topology) checkCovered(namespaceID string, ids []string, sender int) error {
	l := t.shardLayout()
	if l.mode == "routing" {
		return checkShardCoverage(*l, namespaceID, ids, sender)
	}
	return checkShardPairs(*l, namespaceID, ids)
}

// checkShardStreams checks on the proxies' /metrics that the mode's streams exist (and, for routing, carried tasks
// and acks where the run has had them for certain): before the failover (failedOver false) and after it.
func (t *topology) checkShardStreams(ctx context.Context, failedOver bool) error {
	if t.shardLayout().mode == "lcm" {
		if failedOver {
			return nil // the mapped streams are counted when they open: the check before the failover saw them all
		}
		return t.checkMappedStreams(ctx)
	}
	if failedOver {
		// Proxy A has run since the start, and B's workflows finished after the failover: tasks from every
		// source, to every target, and acks back to every source.
		return t.checkRouted(ctx, 1, 0, acksForwarded)
	}
	// Only the streams here: proxy B's counters started again with its restart (what it routed before was read
	// then, in shardScenario), and B has had no workflows of its own to send yet.
	for _, d := range [][2]int{{0, 1}, {1, 0}} {
		if err := t.checkRouted(ctx, d[0], d[1], streamsOpen); err != nil {
			return err
		}
	}
	return nil
}

// shardScenario is the run of the lcm and routing scenarios.
func (t *topology) shardScenario(ctx context.Context) error {
	a, b := t.a, t.b
	l := t.shardLayout()
	for i, pair := range [][2]*side{{a, b}, {b, a}} {
		if err := checkListedShardCount(ctx, t.o.stepTimeout, pair[0], pair[1].name, l.listed(i)); err != nil {
			return err
		}
	}
	logf("%s has %d shards and %s %d; in %s mode %s lists %s with %d, %s lists %s with %d", a.name, l.counts[0], b.name, l.counts[1],
		l.mode, a.name, b.name, l.listed(0), b.name, a.name, l.listed(1))
	namespaceID, _, err := namespaceFacts(ctx, a)
	if err != nil {
		return err
	}

	workerA, err := startWorker(a)
	if err != nil {
		return err
	}
	n := t.o.workflows
	first, second := parentIDs("order", 0, n/2), parentIDs("order", n/2, n)
	if err := startParents(ctx, a, first, 0, stageAttribute); err != nil {
		workerA.Stop()
		return err
	}
	logf("started %d parent workflows on %s", len(first), a.name)
	time.Sleep(2 * time.Second) // let them get going (children, signals) before the cut
	cutBefore := 0
	if t.relay != nil {
		_, cutBefore = t.relay.counts()
		logf("fault 1: cut %d mux connection(s)", t.relay.sever())
	}
	// The second half starts while the mux connection is down.
	if err := startParents(ctx, a, second, n/2, stageAttribute); err != nil {
		workerA.Stop()
		return err
	}
	logf("started %d parent workflows on %s", len(second), a.name)
	if t.relay != nil {
		if err := t.waitReconnected(ctx, cutBefore); err != nil {
			workerA.Stop()
			return fmt.Errorf("after the cut: %w", err)
		}
	}
	if l.mode == "routing" {
		// Proxy B routes A's tasks to B's shards; its counters start again when it restarts, so what it routed
		// is read now, while the workflows run.
		if err := t.checkRouted(ctx, 0, 1, tasksRouted); err != nil {
			workerA.Stop()
			return err
		}
	}
	logf("fault 2: restarting proxy B while the workflows run")
	before := 0
	if t.relay != nil {
		_, before = t.relay.counts()
	}
	if err := t.restartProxy("proxy-b"); err != nil {
		workerA.Stop()
		return err
	}
	if t.relay != nil {
		if err := t.waitReconnected(ctx, before); err != nil {
			workerA.Stop()
			return fmt.Errorf("after restarting proxy B: %w", err)
		}
	}
	lastFault := time.Now()
	all := parentIDs("order", 0, n)
	err = waitParked(ctx, t.o.stepTimeout, a, all)
	workerA.Stop()
	if err != nil {
		return err
	}
	logf("all %d parents parked on %s", n, a.name)

	bounded, cancel := context.WithDeadline(ctx, lastFault.Add(t.o.convergeBound))
	defer cancel()
	got, err := compareAll(bounded, t.o.convergeBound, a, b, withChildren(all, false), t.renames)
	if err != nil {
		return fmt.Errorf("B did not converge within %s of the last fault: %w", t.o.convergeBound, err)
	}
	if got.translated == 0 {
		return fmt.Errorf("no namespace name was translated in %d events", got.events)
	}
	if err := countVisible(bounded, t.o.convergeBound, b, "", int64(2*n)); err != nil {
		return fmt.Errorf("B's visibility within %s of the last fault: %w", t.o.convergeBound, err)
	}
	logf("replicated A -> B through the faults: %d workflows, %d events on %s equal to %s's, %d names translated, converged %s after the last fault",
		got.workflows, got.events, b.name, a.name, got.translated, time.Since(lastFault).Round(100*time.Millisecond))
	if err := t.checkCovered(namespaceID, withChildren(all, false), 0); err != nil {
		return err
	}
	if err := checkEndpoints(ctx, t); err != nil {
		return err
	}
	if err := t.checkShardStreams(ctx, false); err != nil {
		return err
	}

	if err := failover(ctx, t.o.stepTimeout, a, b); err != nil {
		return err
	}
	workerB, err := startWorker(b)
	if err != nil {
		return err
	}
	defer workerB.Stop()
	if err := finishOn(ctx, t.o.stepTimeout, b, all, stageAttribute); err != nil {
		return err
	}
	logf("all %d parents finished and completed on %s", n, b.name)
	got, err = compareAll(ctx, t.o.stepTimeout, b, a, withChildren(all, true), t.renames.inverse())
	if err != nil {
		return err
	}
	logf("replicated B -> A after failover: %d workflows, %d events on %s equal to %s's, %d names translated",
		got.workflows, got.events, a.name, b.name, got.translated)
	// The workflows with events after the failover: the parents and their second children.
	var afterFailover []string
	for _, id := range all {
		afterFailover = append(afterFailover, id, id+secondChildIDSuffix)
	}
	if err := t.checkCovered(namespaceID, afterFailover, 1); err != nil {
		return err
	}
	if err := t.checkShardStreams(ctx, true); err != nil {
		return err
	}
	return t.checkAlive()
}
