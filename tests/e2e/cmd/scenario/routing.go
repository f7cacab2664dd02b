// The routing scenario's own checks: with Temporal's hash, that the workflows live on every shard of both
// clusters; on the proxies' /metrics, that the proxy that routes a direction ended every target stream, opened
// every source stream, routed tasks from every source to every target and forwarded acks to every source.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"go.temporal.io/server/common"
)

// clusterLetter names cluster 0 or 1 in messages.
var clusterLetter = [2]string{"A", "B"}

// proxyOf is the proxy in front of cluster 0 or 1.
var proxyOf = [2]string{"proxy-a", "proxy-b"}

// checkShardCoverage checks, with Temporal's own workflow-to-shard function, that the workflows live on every
// shard of the sending cluster and of the receiving one: then every source stream had tasks to send and every
// target stream had tasks to receive.
func checkShardCoverage(l shardLayout, namespaceID string, ids []string, sender int) error {
	receiver := 1 - sender
	var covered [2]map[int32]int
	for cluster := range covered {
		covered[cluster] = map[int32]int{}
		for _, id := range ids {
			covered[cluster][common.WorkflowIDToHistoryShard(namespaceID, id, int32(l.counts[cluster]))]++
		}
	}
	for _, c := range []struct {
		cluster int
		role    string
	}{{sender, "source"}, {receiver, "target"}} {
		var empty []int
		for shard := 1; shard <= l.counts[c.cluster]; shard++ {
			if covered[c.cluster][int32(shard)] == 0 {
				empty = append(empty, shard)
			}
		}
		if len(empty) > 0 {
			return fmt.Errorf("the %d workflows live on none of %s's shards %v (workflows per shard: %v): those %s streams carried nothing",
				len(ids), clusterLetter[c.cluster], empty, covered[c.cluster], c.role)
		}
	}
	logf("the %d workflows live on every shard: source shards of %s %v, target shards of %s %v (workflows per shard)",
		len(ids), clusterLetter[sender], covered[sender], clusterLetter[receiver], covered[receiver])
	return nil
}

// routedWant is how much of a direction's routing checkRouted requires.
type routedWant int

const (
	// streamsOpen: every target stream ended by the proxy and every source stream it opened is open.
	streamsOpen routedWant = iota
	// tasksRouted: and tasks were routed from every source shard and to every target shard.
	tasksRouted
	// acksForwarded: and acks were forwarded to every source shard.
	acksForwarded
)

// beyondStreams says what w requires beyond the open streams, for messages.
func (w routedWant) beyondStreams() string {
	switch w {
	case tasksRouted:
		return ", tasks routed from every source and to every target"
	case acksForwarded:
		return ", tasks routed from every source and to every target, acks forwarded to every source"
	}
	return ""
}

// routingGaps lists what of `want` the /metrics body of one proxy side lacks, for a direction from a cluster of
// `sources` shards to one of `targets`.
func routingGaps(body, connection, side string, sources, targets int, want routedWant) []string {
	on := []string{label("connection", connection), label("side", side)}
	var gaps []string
	for _, c := range []struct {
		role  string
		count int
	}{{"target", targets}, {"source", sources}} {
		for shard := 1; shard <= c.count; shard++ {
			if counter(body, "s2s_proxy_routing_streams_open", append(on, label("role", c.role), label("shard", fmt.Sprint(shard)))...) < 1 {
				gaps = append(gaps, fmt.Sprintf("%s stream %d not open", c.role, shard))
			}
		}
	}
	if want >= tasksRouted {
		for shard := 1; shard <= targets; shard++ {
			if counter(body, "s2s_proxy_routing_tasks_routed_total", append(on, label("target_shard", fmt.Sprint(shard)))...) < 1 {
				gaps = append(gaps, fmt.Sprintf("no task routed to target %d", shard))
			}
		}
		for shard := 1; shard <= sources; shard++ {
			if counter(body, "s2s_proxy_routing_tasks_routed_total", append(on, label("source_shard", fmt.Sprint(shard)))...) < 1 {
				gaps = append(gaps, fmt.Sprintf("no task routed from source %d", shard))
			}
		}
	}
	if want >= acksForwarded {
		for shard := 1; shard <= sources; shard++ {
			if counter(body, "s2s_proxy_routing_acks_forwarded_total", append(on, label("source_shard", fmt.Sprint(shard)))...) < 1 {
				gaps = append(gaps, fmt.Sprintf("no ack forwarded to source %d", shard))
			}
		}
	}
	return gaps
}

// checkRouted waits until the proxies' /metrics show the routing of replication from cluster `sender` to
// cluster `receiver` (0 or 1) to the extent of `want`. The receiver's shards open the streams, so the first proxy
// with routing that sees them, and routes, is the receiver's, on its outbound side; the sender's proxy, on its
// inbound side, passes them through. Either of the two is accepted as the one that routes, but one of them must
// show every target and every source shard of the direction.
func (t *topology) checkRouted(ctx context.Context, sender, receiver int, want routedWant) error {
	l := t.shardLayout()
	sources, targets := l.counts[sender], l.counts[receiver]
	candidates := []struct{ proxy, side string }{{proxyOf[receiver], "outbound"}, {proxyOf[sender], "inbound"}}
	what := fmt.Sprintf("a proxy to route %s -> %s: %d target streams and %d source streams open%s",
		clusterLetter[sender], clusterLetter[receiver], targets, sources, want.beyondStreams())
	var routedBy string
	err := eventually(ctx, t.o.stepTimeout, what, func(context.Context) error {
		var lacks []string
		for _, c := range candidates {
			s := t.specs[c.proxy]
			code, body, err := httpGet("http://" + s.metrics + "/metrics")
			if err != nil || code != 200 {
				return fmt.Errorf("/metrics of %s on %s: status %d, %v", c.proxy, s.metrics, code, err)
			}
			gaps := routingGaps(body, s.name, c.side, sources, targets, want)
			if len(gaps) == 0 {
				routedBy = c.proxy + " side=" + c.side
				return nil
			}
			lacks = append(lacks, fmt.Sprintf("%s side=%s: %s", c.proxy, c.side, strings.Join(gaps, ", ")))
		}
		return fmt.Errorf("%s", strings.Join(lacks, "; "))
	})
	if err != nil {
		return err
	}
	logf("%s routes %s -> %s: all %d target and %d source streams open%s", routedBy, clusterLetter[sender], clusterLetter[receiver],
		targets, sources, want.beyondStreams())
	return t.checkRoutingView(ctx, routedBy, sources, targets)
}

// checkRoutingView reads /debug/connections of the proxy that routes (routedBy: "<proxy> side=<side>"): its listener
// on that side must show the hub with every target and source shard open.
func (t *topology) checkRoutingView(ctx context.Context, routedBy string, sources, targets int) error {
	var proxy, side string
	if _, err := fmt.Sscanf(strings.Replace(routedBy, " side=", " ", 1), "%s %s", &proxy, &side); err != nil {
		return fmt.Errorf("reading %q: %w", routedBy, err)
	}
	s := t.specs[proxy]
	listener := s.name + " " + side
	return eventually(ctx, t.o.stepTimeout, proxy+"'s /debug/connections to show "+listener+"'s routing hub", func(context.Context) error {
		code, body, err := httpGet("http://" + s.debug + "/debug/connections")
		if err != nil || code != 200 {
			return fmt.Errorf("/debug/connections of %s on %s: status %d, %v", proxy, s.debug, code, err)
		}
		var page struct {
			Listeners []struct {
				Name    string
				Routing *struct {
					TargetsOpen []int
					SourcesOpen []int
				}
			}
		}
		if err := json.Unmarshal([]byte(body), &page); err != nil {
			return fmt.Errorf("/debug/connections of %s is not JSON: %w", proxy, err)
		}
		for _, l := range page.Listeners {
			if l.Name != listener {
				continue
			}
			if l.Routing == nil {
				return fmt.Errorf("listener %q shows no routing", listener)
			}
			if !allShards(l.Routing.TargetsOpen, targets) || !allShards(l.Routing.SourcesOpen, sources) {
				return fmt.Errorf("listener %q shows targets open %v and sources open %v", listener, l.Routing.TargetsOpen, l.Routing.SourcesOpen)
			}
			logf("%s's /debug/connections shows %s routing with targets %v and sources %v open", proxy, listener,
				l.Routing.TargetsOpen, l.Routing.SourcesOpen)
			return nil
		}
		return fmt.Errorf("no listener %q", listener)
	})
}

// allShards says whether shards are exactly 1..count.
func allShards(shards []int, count int) bool {
	got := append([]int(nil), shards...)
	sort.Ints(got)
	if len(got) != count {
		return false
	}
	for i, shard := range got {
		if shard != i+1 {
			return false
		}
	}
	return true
}
