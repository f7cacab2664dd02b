// The soak scenario: for --soak-duration (at least ten minutes), with Temporal's default
// keepalives and connection ageing (the frontend sends GOAWAY max_age after 5 minutes ±10% and
// closes the connection 70 s later), two pairs of clusters replicate side by side:
//
//	cluster-a ⇄ proxy A (mux-client) ══ mutual TLS, yamux ══ proxy B (mux-server) ⇄ cluster-b
//	cluster-c ⇄ cluster-d                                   (connected directly)
//
// Workflows keep starting on the active side of both pairs through the run. The scenario reads
// every cluster's log for the replication stream receivers that started and the errors that
// ended their streams, and the proxies' logs for mux sessions that came up and went down. It
// prints every re-establishment with its time and cause, and fails unless every workflow and
// every event reached the passive side of both pairs, and the proxied pair re-established its
// streams and sessions no more often than the direct pair its streams (see streamTolerance).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// streamTolerance is how many more re-establishments the proxied pair may have than the direct
// one within the same window: none. A stream lives as long as the frontend connection under it:
// the connection's age (5 minutes ±10%) plus the 70 s grace, 5m40s to 6m40s when the connection
// opens with the stream. In a window of 11 minutes from the streams' settled start, each
// receiver then loses its stream exactly once, in both pairs alike: its second loss comes after
// 11m20s at the earliest (11m10s for a stream that joins a connection opened up to 10 s before
// it, as the proxy's streams may). A stream that rides a connection opened minutes before it
// (what the proxy's shared channel did) loses it a cycle early, within the window, and counts as
// one more; so does any other stream or session the proxied pair loses and the direct one does
// not. The direct pair may count more (its cluster may have opened a connection for other calls
// before the stream), which only makes the check lenient.
const streamTolerance = 0

// The direct pair's namespace has the same name on both clusters (no proxy renames it).
const namespaceDirect = "soak"

// reestablishment is one replication stream or mux session coming up again.
type reestablishment struct {
	pair  string // "proxied" or "direct"
	what  string // "stream <receiver> <- <source>" or "mux session"
	where string // the log it was read from
	at    time.Time
	cause string
}

// startDirectClusters starts the clusters of the direct pair beside those of the proxied pair.
func (t *topology) startDirectClusters(pp *portPicker) error {
	cBase, err := pp.block(clusterPorts, 0)
	if err != nil {
		return err
	}
	dBase, err := pp.block(clusterPorts, 0)
	if err != nil {
		return err
	}
	// Each reaches the other at its frontend: no proxy between them.
	t.c = &side{name: "cluster-c", frontend: addr(cBase), outbound: addr(dBase), namespace: namespaceDirect}
	t.d = &side{name: "cluster-d", frontend: addr(dBase), outbound: addr(cBase), namespace: namespaceDirect}
	if err := t.startCluster("cluster", t.c.name, cBase, 1); err != nil {
		return err
	}
	return t.startCluster("cluster", t.d.name, dBase, 2)
}

// receiverStarts reads a cluster's log for its replication stream receivers: when each
// started, and, for each start after the first of a receiver, why its stream had ended.
type receiverEvent struct {
	at     time.Time
	source string // the cluster the receiver's stream comes from
	shard  string
	start  bool // a receiver started; otherwise its stream ended with `cause`
	cause  string
}

// zapLine is the JSON part of a Temporal console log line.
type zapLine map[string]any

func (z zapLine) text(key string) string {
	switch v := z[key].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// parseTemporalLine splits a console line "<time>\t<level>\t<message>\t{json}".
func parseTemporalLine(line string) (at time.Time, message string, fields zapLine, ok bool) {
	parts := strings.SplitN(line, "\t", 4)
	if len(parts) < 4 {
		return time.Time{}, "", nil, false
	}
	at, err := time.Parse(time.RFC3339Nano, parts[0])
	if err != nil {
		if at, err = time.Parse("2006-01-02T15:04:05.000Z0700", parts[0]); err != nil {
			return time.Time{}, "", nil, false
		}
	}
	fields = zapLine{}
	if err := json.Unmarshal([]byte(parts[3]), &fields); err != nil {
		return time.Time{}, "", nil, false
	}
	return at, parts[2], fields, true
}

func readReceiverEvents(path string) ([]receiverEvent, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var events []receiverEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, "replication-stream-receiver") {
			continue
		}
		at, message, fields, ok := parseTemporalLine(line)
		if !ok {
			continue
		}
		source := fields.text("xdc-source-cluster")
		if source == "" {
			source = fields.text("source-cluster")
		}
		e := receiverEvent{at: at, source: source, shard: fields.text("shard-id")}
		switch {
		case message == "StreamReceiver started.":
			e.start = true
		case message == "ReplicationStreamError" || message == "ReplicationServiceError":
			e.cause = fields.text("error")
		case message == "StreamReceiver shutting down.":
			e.cause = "receiver shut down"
		default:
			continue
		}
		events = append(events, e)
	}
	return events, sc.Err()
}

// streamReestablishments lists every start of a receiver after its first one in the cluster's
// log, with the cause that ended the stream before it (the first error logged since the
// previous start). It also returns when the cluster's latest receiver start was.
func streamReestablishments(pair, cluster, path string) (latest time.Time, out []reestablishment, err error) {
	events, err := readReceiverEvents(path)
	if err != nil {
		return time.Time{}, nil, err
	}
	type receiver struct {
		started bool
		cause   string
	}
	receivers := map[string]*receiver{}
	for _, e := range events {
		key := e.source + " shard " + e.shard
		r := receivers[key]
		if r == nil {
			r = &receiver{}
			receivers[key] = r
		}
		if !e.start {
			if r.cause == "" || r.cause == "receiver shut down" {
				r.cause = e.cause
			}
			continue
		}
		if e.at.After(latest) {
			latest = e.at
		}
		if r.started {
			cause := r.cause
			if cause == "" {
				cause = "(no error logged: the stream ended cleanly)"
			}
			out = append(out, reestablishment{pair: pair, what: fmt.Sprintf("stream %s <- %s", cluster, key),
				where: filepath.Base(path), at: e.at, cause: cause})
		}
		r.started, r.cause = true, ""
	}
	return latest, out, nil
}

// parseProxyLine splits "<time> <LEVEL> <component>: <message>".
func parseProxyLine(line string) (at time.Time, component, message string, ok bool) {
	fields := strings.SplitN(line, " ", 3)
	if len(fields) < 3 {
		return time.Time{}, "", "", false
	}
	at, err := time.Parse(time.RFC3339Nano, fields[0])
	if err != nil {
		return time.Time{}, "", "", false
	}
	component, message, ok = strings.Cut(fields[2], ": ")
	return at, component, message, ok
}

// sessionReestablishments lists the mux sessions that came up in a proxy's log beyond the first
// `initial` ones, each with the reason the last session to end before it gave.
func sessionReestablishments(path string, initial int) ([]reestablishment, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []reestablishment
	ups := 0
	lastEnd := ""
	for _, line := range strings.Split(string(data), "\n") {
		at, component, message, ok := parseProxyLine(line)
		if !ok || !strings.Contains(component, "mux session") {
			continue
		}
		switch {
		case strings.HasPrefix(message, "session with ") && strings.HasSuffix(message, " is up"):
			ups++
			if ups > initial {
				cause := lastEnd
				if cause == "" {
					cause = "(no session had ended)"
				}
				out = append(out, reestablishment{pair: "proxied", what: "mux session (" + component + ")",
					where: filepath.Base(path), at: at, cause: cause})
			}
			lastEnd = ""
		case strings.HasPrefix(message, "session with ") && strings.Contains(message, " ended: "):
			lastEnd = component + ": " + message
		}
	}
	return out, nil
}

// soakPair is one of the two pairs of the soak.
type soakPair struct {
	name           string
	active, backup *side
	renames        renames
	ids            []string
	finished       int // ids[:finished] have been sent "finish"
	first          time.Time
}

// settled is how long a pair's receivers must run without a new start before the soak measures
// it: as the clusters learn of each other, a receiver's first stream may end at once (in both
// pairs alike) and start again a moment later.
const settled = 15 * time.Second

// waitStreams waits until both clusters of the pair run their stream receivers and none has
// started for `settled`; the measured window opens at the latest start (p.first).
func (t *topology) waitStreams(ctx context.Context, p *soakPair) error {
	return eventually(ctx, t.o.stepTimeout, "the replication stream receivers of the "+p.name+" pair to run settled", func(context.Context) error {
		var latest time.Time
		for _, s := range []*side{p.active, p.backup} {
			at, _, err := streamReestablishments(p.name, s.name, filepath.Join(t.o.work, s.name+".log"))
			if err != nil {
				return err
			}
			if at.IsZero() {
				return fmt.Errorf("no StreamReceiver started in %s.log yet", s.name)
			}
			if at.After(latest) {
				latest = at
			}
		}
		if since := time.Since(latest); since < settled {
			return fmt.Errorf("a receiver started %s ago", since.Round(time.Second))
		}
		p.first = latest
		return nil
	})
}

func (t *topology) soak(ctx context.Context) error {
	c, d := t.c, t.d
	for _, s := range []*side{c, d} {
		if err := s.dial(ctx, t.o.stepTimeout); err != nil {
			return err
		}
	}
	if err := connectClusters(ctx, t.o.stepTimeout, c, d); err != nil {
		return err
	}
	if err := createNamespace(ctx, t.o.stepTimeout, c, d); err != nil {
		return err
	}
	if err := addSearchAttributes(ctx, t.o.stepTimeout, c, d, stageAttribute); err != nil {
		return err
	}
	pairs := []*soakPair{
		{name: "proxied", active: t.a, backup: t.b, renames: t.renames},
		{name: "direct", active: c, backup: d, renames: renames{namespaces: map[string]string{}, attributes: map[string]string{}}},
	}
	for _, p := range pairs {
		if err := t.waitStreams(ctx, p); err != nil {
			return err
		}
		logf("%s pair: replication streams settled, the latest started at %s", p.name, p.first.Format(time.TimeOnly))
	}
	for _, p := range pairs {
		w, err := startWorker(p.active)
		if err != nil {
			return err
		}
		defer w.Stop()
	}

	// Both pairs are measured over the same length of time from their own streams' start.
	end := pairs[0].first
	for _, p := range pairs {
		if p.first.After(end) {
			end = p.first
		}
	}
	end = end.Add(t.o.soakDuration)
	logf("soaking until %s (%s from the later pair's settled streams), a parent workflow every %s on %s and %s",
		end.Format(time.TimeOnly), t.o.soakDuration, t.o.soakInterval, t.a.name, c.name)
	for index := 0; time.Now().Before(end); index++ {
		for _, p := range pairs {
			id := fmt.Sprintf("soak-%03d", index)
			if err := startParents(ctx, p.active, []string{id}, index, stageAttribute); err != nil {
				return err
			}
			p.ids = append(p.ids, id)
			// The parent started two rounds ago has had time to park: let it finish.
			for ; p.finished < len(p.ids)-2; p.finished++ {
				if err := sendFinish(ctx, t.o.stepTimeout, p.active, p.ids[p.finished], stageAttribute); err != nil {
					return err
				}
			}
		}
		if index%8 == 0 {
			logf("%d parents started on each pair's active cluster; %s left", index+1, time.Until(end).Round(time.Second))
		}
		if err := t.checkAlive(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(t.o.soakInterval, time.Until(end))):
		}
	}
	logf("soak over: %d parents started on each pair", len(pairs[0].ids))

	for _, p := range pairs {
		for ; p.finished < len(p.ids); p.finished++ {
			if err := sendFinish(ctx, t.o.stepTimeout, p.active, p.ids[p.finished], stageAttribute); err != nil {
				return err
			}
		}
		if err := waitCompleted(ctx, t.o.stepTimeout, p.active, p.ids); err != nil {
			return err
		}
		got, err := compareAll(ctx, t.o.stepTimeout, p.active, p.backup, withChildren(p.ids, true), p.renames)
		if err != nil {
			return fmt.Errorf("%s pair: %w", p.name, err)
		}
		if want := 3 * len(p.ids); got.workflows != want {
			return fmt.Errorf("%s pair: compared %d workflows, want %d", p.name, got.workflows, want)
		}
		logf("%s pair: all %d workflows and %d events of %s are on %s, equal (%d names translated)",
			p.name, got.workflows, got.events, p.active.name, p.backup.name, got.translated)
	}
	return t.judgeReestablishments(pairs)
}

// judgeReestablishments prints every re-establishment of both pairs and compares their counts
// within each pair's window.
func (t *topology) judgeReestablishments(pairs []*soakPair) error {
	var all []reestablishment
	counted := map[string]int{}
	for _, p := range pairs {
		window := p.first.Add(t.o.soakDuration)
		var events []reestablishment
		for _, s := range []*side{p.active, p.backup} {
			_, found, err := streamReestablishments(p.name, s.name, filepath.Join(t.o.work, s.name+".log"))
			if err != nil {
				return err
			}
			events = append(events, found...)
		}
		if p.name == "proxied" {
			found, err := sessionReestablishments(filepath.Join(t.o.work, "proxy-a.log"), t.specs["proxy-a"].muxCount)
			if err != nil {
				return err
			}
			events = append(events, found...)
		}
		for _, e := range events {
			if e.at.After(p.first) && !e.at.After(window) {
				counted[p.name]++
			}
			all = append(all, e)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].at.Before(all[j].at) })
	firstOf := map[string]time.Time{}
	for _, p := range pairs {
		firstOf[p.name] = p.first
	}
	logf("re-establishments (time since the pair's streams settled; window %s each):", t.o.soakDuration)
	logf("  %-8s %-9s %-6s %-44s %s", "pair", "at", "window", "what", "cause")
	for _, e := range all {
		since := e.at.Sub(firstOf[e.pair])
		inside := "in"
		switch {
		case since <= 0:
			inside = "start" // before the streams settled: not counted
		case since > t.o.soakDuration:
			inside = "after"
		}
		logf("  %-8s %-9s %-6s %-44s %s", e.pair, fmtSince(since), inside, e.what, e.cause)
	}
	if len(all) == 0 {
		logf("  (none)")
	}
	// When each proxy opened an upstream connection for streams (the proxy's side of the cadence).
	for _, name := range []string{"proxy-a", "proxy-b"} {
		data, err := os.ReadFile(filepath.Join(t.o.work, name+".log"))
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(data), "\n") {
			at, component, message, ok := parseProxyLine(line)
			if ok && strings.HasPrefix(message, "opening a connection of its own") {
				logf("  %s %s: %s: %s", fmtSince(at.Sub(firstOf["proxied"])), name, component, message)
			}
		}
	}
	// The proxies count the streams they carried: one per receiver, plus one per re-opening.
	for _, name := range []string{"proxy-a", "proxy-b"} {
		_, body, err := httpGet("http://" + t.specs[name].metrics + "/metrics")
		if err != nil {
			return fmt.Errorf("%s /metrics: %w", name, err)
		}
		logf("%s carried %v StreamWorkflowReplicationMessages calls outbound, %v inbound", name,
			counter(body, "s2s_proxy_grpc_calls_started_total", `direction="outbound"`, `grpc_method="StreamWorkflowReplicationMessages"`),
			counter(body, "s2s_proxy_grpc_calls_started_total", `direction="inbound"`, `grpc_method="StreamWorkflowReplicationMessages"`))
	}
	proxied, direct := counted["proxied"], counted["direct"]
	logf("within the window: proxied pair %d (streams and mux sessions), direct pair %d (streams); tolerance %d",
		proxied, direct, streamTolerance)
	if proxied > direct+streamTolerance {
		return fmt.Errorf("the proxied pair re-established its streams and sessions %d times in %s, the direct pair %d times: more than %d extra",
			proxied, t.o.soakDuration, direct, streamTolerance)
	}
	return nil
}

func fmtSince(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	d = d.Round(time.Second)
	return fmt.Sprintf("%s%dm%02ds", sign, int(d.Minutes()), int(d.Seconds())%60)
}
