// The replicas-routing scenario's ownership check: on each side, the routing hubs of the running instances
// agree on who opens each source stream and who holds each target stream, each opens only its own sources,
// and with both instances of a side running the source shards are spread over the two.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// hubGroup is the part of a routing hub's /debug/connections view the check reads.
type hubGroup struct {
	TargetsOpen []int
	SourcesOpen []int
	Group       *struct {
		NodeName     string
		Members      []string
		SourceOwners map[string]string
		TargetOwners map[string]string
	}
}

// outboundHub reads the routing view of the outbound listener of proxy `name`.
func (t *topology) outboundHub(name string) (*hubGroup, error) {
	s := t.specs[name]
	code, body, err := httpGet("http://" + s.debug + "/debug/connections")
	if err != nil || code != 200 {
		return nil, fmt.Errorf("/debug/connections of %s on %s: status %d, %v", name, s.debug, code, err)
	}
	var page struct {
		Listeners []struct {
			Name    string
			Routing *hubGroup
		}
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		return nil, fmt.Errorf("/debug/connections of %s is not JSON: %w", name, err)
	}
	for _, l := range page.Listeners {
		if l.Name != s.name+" outbound" {
			continue
		}
		if l.Routing == nil || l.Routing.Group == nil {
			return nil, fmt.Errorf("%s: listener %q shows no routing group", name, l.Name)
		}
		return l.Routing, nil
	}
	return nil, fmt.Errorf("%s: no listener %q", name, s.name+" outbound")
}

// ownedBy lists, ascending, the shards of owners (shard -> node) that node owns.
func ownedBy(owners map[string]string, node string) []int {
	var shards []int
	for shard, owner := range owners {
		if owner == node {
			n, _ := strconv.Atoi(shard)
			shards = append(shards, n)
		}
	}
	sort.Ints(shards)
	return shards
}

func sortedInts(list []int) []int {
	out := append([]int(nil), list...)
	sort.Ints(out)
	return out
}

func sameInts(a, b []int) bool {
	return fmt.Sprint(sortedInts(a)) == fmt.Sprint(sortedInts(b))
}

// sideOwnership checks one side's running instances (nodes, e.g. a1 and a2) once; sources and targets are the
// shard counts its outbound hubs see (the other cluster's and its own).
func (t *topology) sideOwnership(nodes []string, sources, targets int) (string, error) {
	hubs := map[string]*hubGroup{}
	for _, node := range nodes {
		hub, err := t.outboundHub("proxy-" + node)
		if err != nil {
			return "", err
		}
		if got := append([]string(nil), hub.Group.Members...); fmt.Sprint(sortStrings(got)) != fmt.Sprint(nodes) {
			return "", fmt.Errorf("%s's hub counts members %v, not %v", node, hub.Group.Members, nodes)
		}
		hubs[node] = hub
	}
	first := hubs[nodes[0]].Group
	for _, node := range nodes[1:] {
		g := hubs[node].Group
		if fmt.Sprint(g.SourceOwners) != fmt.Sprint(first.SourceOwners) || fmt.Sprint(g.TargetOwners) != fmt.Sprint(first.TargetOwners) {
			return "", fmt.Errorf("%s and %s disagree: sources %v and %v, targets %v and %v", nodes[0], node,
				first.SourceOwners, g.SourceOwners, first.TargetOwners, g.TargetOwners)
		}
	}
	for _, c := range []struct {
		role   string
		owners map[string]string
		count  int
	}{{"source", first.SourceOwners, sources}, {"target", first.TargetOwners, targets}} {
		for shard := 1; shard <= c.count; shard++ {
			owner, ok := c.owners[strconv.Itoa(shard)]
			if !ok {
				return "", fmt.Errorf("%s shard %d has no owner (%ss: %v)", c.role, shard, c.role, c.owners)
			}
			if !contains(nodes, owner) {
				return "", fmt.Errorf("%s shard %d is owned by %s, not a running instance of %v", c.role, shard, owner, nodes)
			}
		}
	}
	for _, node := range nodes {
		hub := hubs[node]
		if want := ownedBy(first.SourceOwners, node); !sameInts(hub.SourcesOpen, want) {
			return "", fmt.Errorf("%s has source streams %v open, but owns sources %v", node, sortedInts(hub.SourcesOpen), want)
		}
		if want := ownedBy(first.TargetOwners, node); !sameInts(hub.TargetsOpen, want) {
			return "", fmt.Errorf("%s holds target streams %v, but owns targets %v", node, sortedInts(hub.TargetsOpen), want)
		}
	}
	if len(nodes) > 1 {
		for _, node := range nodes {
			if len(ownedBy(first.SourceOwners, node)) == 0 {
				return "", fmt.Errorf("%s owns no source shard: %v", node, first.SourceOwners)
			}
		}
	}
	var parts []string
	for _, node := range nodes {
		parts = append(parts, fmt.Sprintf("%s opens sources %v and holds targets %v", node,
			ownedBy(first.SourceOwners, node), ownedBy(first.TargetOwners, node)))
	}
	return strings.Join(parts, "; "), nil
}

func sortStrings(list []string) []string {
	sort.Strings(list)
	return list
}

func contains(list []string, item string) bool {
	for _, x := range list {
		if x == item {
			return true
		}
	}
	return false
}

// checkOwnership, in replicas-routing, waits until each side's running instances (of `running`) show the
// ownership sideOwnership checks.
func (t *topology) checkOwnership(ctx context.Context, running []string) error {
	if !t.routedReplicas() {
		return nil
	}
	l := t.shardLayout()
	for i, letter := range []string{"a", "b"} {
		var nodes []string
		for _, name := range running {
			if node := strings.TrimPrefix(name, "proxy-"); strings.HasPrefix(node, letter) {
				nodes = append(nodes, node)
			}
		}
		sort.Strings(nodes)
		sources, targets := l.counts[1-i], l.counts[i]
		var shown string
		err := eventually(ctx, t.o.stepTimeout, fmt.Sprintf("the routing hubs of %v to share %s's %d source and %d target shards",
			nodes, clusterLetter[i], sources, targets), func(context.Context) error {
			var err error
			shown, err = t.sideOwnership(nodes, sources, targets)
			return err
		})
		if err != nil {
			return err
		}
		logf("side %s, routing hubs in agreement: %s", strings.ToUpper(letter), shown)
	}
	return nil
}
