// What the scenarios do to the two Temporal clusters, through the Go SDK: join them through the
// proxies, create the global namespace, run workflows, fail over, and read histories back.
// Every wait is bounded and names what it waited for and the last error seen.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/operatorservice/v1"
	replicationpb "go.temporal.io/api/replication/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.temporal.io/server/api/adminservice/v1"
	historyclient "go.temporal.io/server/client/history"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

const taskQueue = "e2e"

// side is one cluster as the scenario sees it.
type side struct {
	name      string
	frontend  string
	outbound  string // where this cluster reaches the other one: its proxy's outbound address
	namespace string // the global namespace's name on this cluster
	client    client.Client
}

func (s *side) String() string { return fmt.Sprintf("%s (%s)", s.name, s.frontend) }

// eventually retries fn every half second until it returns nil, or fails after timeout with
// what was awaited and the last error.
func eventually(ctx context.Context, timeout time.Duration, what string, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	begin := time.Now()
	var last error
	for attempt := 1; ; attempt++ {
		callCtx, callCancel := context.WithTimeout(ctx, 10*time.Second)
		err := fn(callCtx)
		callCancel()
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out after %s (%d attempts) waiting for %s; last error: %v",
				time.Since(begin).Round(time.Millisecond), attempt, what, last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (s *side) dial(ctx context.Context, timeout time.Duration) error {
	return eventually(ctx, timeout, "a client connection to "+s.String(), func(ctx context.Context) error {
		c, err := client.DialContext(ctx, client.Options{HostPort: s.frontend, Namespace: s.namespace, Logger: quietLogger{prefix: s.name}})
		if err != nil {
			return err
		}
		s.client = c
		return nil
	})
}

// connectClusters joins A and B through their proxies in two steps. Temporal's history service
// learns of a remote cluster only at its next cluster metadata refresh, and a replication stream
// that reaches a history service before it knows the stream's cluster ends at once: the frontend
// answers it with a clean end of stream (no error), and the receiving cluster has been seen to lose
// the tasks of its next streams after that. So each cluster first learns the other with the
// connection off, and only once each history service accepts a stream from the other's cluster id
// are the connections turned on, which starts the streams.
func connectClusters(ctx context.Context, timeout time.Duration, a, b *side) error {
	for _, enabled := range []bool{false, true} {
		for _, pair := range [][2]*side{{a, b}, {b, a}} {
			local, remote := pair[0], pair[1]
			err := eventually(ctx, timeout, fmt.Sprintf("%s to accept %s as a remote cluster at %s", local.name, remote.name, local.outbound),
				func(ctx context.Context) error {
					_, err := local.client.OperatorService().AddOrUpdateRemoteCluster(ctx, &operatorservice.AddOrUpdateRemoteClusterRequest{
						FrontendAddress:               local.outbound,
						EnableRemoteClusterConnection: enabled,
						EnableReplication:             true,
					})
					return err
				})
			if err != nil {
				return err
			}
		}
		for _, pair := range [][2]*side{{a, b}, {b, a}} {
			if err := awaitListed(ctx, timeout, pair[0], pair[1], enabled); err != nil {
				return err
			}
		}
		if enabled {
			break
		}
		for _, pair := range [][2]*side{{a, b}, {b, a}} {
			if err := awaitStreamsAccepted(ctx, timeout, pair[0], pair[1]); err != nil {
				return err
			}
		}
	}
	logf("%s and %s list each other, connected through %s and %s", a.name, b.name, a.outbound, b.outbound)
	return nil
}

// awaitListed waits until local lists remote at local's outbound address, with the connection
// on or off as asked.
func awaitListed(ctx context.Context, timeout time.Duration, local, remote *side, enabled bool) error {
	state := map[bool]string{false: "known, not connected", true: "connected"}
	return eventually(ctx, timeout, fmt.Sprintf("%s to list %s as %s", local.name, remote.name, state[enabled]),
		func(ctx context.Context) error {
			resp, err := local.client.OperatorService().ListClusters(ctx, &operatorservice.ListClustersRequest{})
			if err != nil {
				return err
			}
			for _, c := range resp.GetClusters() {
				if c.GetClusterName() != remote.name {
					continue
				}
				if c.GetIsConnectionEnabled() != enabled {
					return fmt.Errorf("%s is listed with the connection enabled=%t", remote.name, c.GetIsConnectionEnabled())
				}
				if c.GetAddress() != local.outbound {
					return fmt.Errorf("%s is listed at %s, not %s", remote.name, c.GetAddress(), local.outbound)
				}
				return nil
			}
			return fmt.Errorf("%s not listed (%d clusters)", remote.name, len(resp.GetClusters()))
		})
}

// awaitStreamsAccepted waits until local's history service knows remote's cluster id: a
// replication stream opened straight to local's frontend as remote's shard 1 stays open (or
// carries a message) instead of ending at once. The stream sends nothing and is cancelled, so it
// acknowledges nothing.
func awaitStreamsAccepted(ctx context.Context, timeout time.Duration, local, remote *side) error {
	ids := map[string]int64{}
	err := eventually(ctx, timeout, fmt.Sprintf("%s to list the cluster ids", local.name), func(ctx context.Context) error {
		resp, err := local.client.OperatorService().ListClusters(ctx, &operatorservice.ListClustersRequest{})
		if err != nil {
			return err
		}
		for _, c := range resp.GetClusters() {
			ids[c.GetClusterName()] = c.GetInitialFailoverVersion()
		}
		if ids[local.name] == 0 || ids[remote.name] == 0 {
			return fmt.Errorf("cluster ids %v lack %s or %s", ids, local.name, remote.name)
		}
		return nil
	})
	if err != nil {
		return err
	}
	conn, err := grpc.NewClient(local.frontend, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	admin := adminservice.NewAdminServiceClient(conn)
	md := historyclient.EncodeClusterShardMD(
		historyclient.ClusterShardID{ClusterID: int32(ids[remote.name]), ShardID: 1},
		historyclient.ClusterShardID{ClusterID: int32(ids[local.name]), ShardID: 1})
	return eventually(ctx, timeout, fmt.Sprintf("%s's history service to accept replication streams from %s", local.name, remote.name),
		func(ctx context.Context) error {
			probe, cancel := context.WithTimeout(metadata.NewOutgoingContext(ctx, md), time.Second)
			defer cancel()
			stream, err := admin.StreamWorkflowReplicationMessages(probe)
			if err != nil {
				return err
			}
			_, err = stream.Recv()
			if err == nil || status.Code(err) == codes.DeadlineExceeded {
				return nil // open, or carrying tasks: the cluster is known
			}
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("the stream ended at once: %s does not know %s's cluster id %d yet", local.name, remote.name, ids[remote.name])
			}
			return err
		})
}

// createNamespace registers the global namespace on A (active on A, replicated to A and B) and
// waits until B has it, under B's name for it.
func createNamespace(ctx context.Context, timeout time.Duration, a, b *side) error {
	err := eventually(ctx, timeout, fmt.Sprintf("%s to register global namespace %s", a.name, a.namespace),
		func(ctx context.Context) error {
			_, err := a.client.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
				Namespace:                        a.namespace,
				WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
				IsGlobalNamespace:                true,
				ActiveClusterName:                a.name,
				Clusters:                         []*replicationpb.ClusterReplicationConfig{{ClusterName: a.name}, {ClusterName: b.name}},
			})
			var exists *serviceerror.NamespaceAlreadyExists
			if errors.As(err, &exists) {
				return nil
			}
			return err
		})
	if err != nil {
		return err
	}
	logf("registered global namespace %s on %s", a.namespace, a.name)
	if err := waitNamespace(ctx, timeout, b, a.name); err != nil {
		return err
	}
	logf("namespace %s on %s replicated to %s as %s", a.namespace, a.name, b.name, b.namespace)
	return nil
}

// addSearchAttributes adds Keyword attributes to the namespace on A and waits until B lists
// them too (the namespace's configuration replicates).
func addSearchAttributes(ctx context.Context, timeout time.Duration, a, b *side, names ...string) error {
	for _, name := range names {
		err := eventually(ctx, timeout, fmt.Sprintf("%s to add search attribute %s", a.name, name),
			func(ctx context.Context) error {
				_, err := a.client.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
					Namespace:        a.namespace,
					SearchAttributes: map[string]enumspb.IndexedValueType{name: enumspb.INDEXED_VALUE_TYPE_KEYWORD},
				})
				var exists *serviceerror.AlreadyExists
				if errors.As(err, &exists) {
					return nil
				}
				return err
			})
		if err != nil {
			return err
		}
	}
	for _, s := range []*side{a, b} {
		err := eventually(ctx, timeout, fmt.Sprintf("search attributes %v on %s", names, s.name),
			func(ctx context.Context) error {
				resp, err := s.client.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: s.namespace})
				if err != nil {
					return err
				}
				for _, name := range names {
					if _, ok := resp.GetCustomAttributes()[name]; !ok {
						return fmt.Errorf("%s not among %d custom attributes", name, len(resp.GetCustomAttributes()))
					}
				}
				return nil
			})
		if err != nil {
			return err
		}
	}
	logf("search attributes %v present on %s and %s", names, a.name, b.name)
	return nil
}

// namespaceFacts returns the namespace's id and, for each custom search attribute, the field
// that stores it (Temporal's histories carry field names, its API the attribute names).
func namespaceFacts(ctx context.Context, s *side) (id string, fieldOf map[string]string, err error) {
	resp, err := s.client.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: s.namespace})
	if err != nil {
		return "", nil, fmt.Errorf("describing %s on %s: %w", s.namespace, s.name, err)
	}
	fieldOf = map[string]string{}
	for field, alias := range resp.GetConfig().GetCustomSearchAttributeAliases() {
		fieldOf[alias] = field
	}
	return resp.GetNamespaceInfo().GetId(), fieldOf, nil
}

// waitNamespace waits until s describes its namespace as global with the given active cluster.
func waitNamespace(ctx context.Context, timeout time.Duration, s *side, active string) error {
	return eventually(ctx, timeout, fmt.Sprintf("namespace %s on %s with active cluster %s", s.namespace, s.name, active),
		func(ctx context.Context) error {
			resp, err := s.client.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: s.namespace})
			if err != nil {
				return err
			}
			if !resp.GetIsGlobalNamespace() {
				return fmt.Errorf("namespace is not global")
			}
			if got := resp.GetReplicationConfig().GetActiveClusterName(); got != active {
				return fmt.Errorf("active cluster is %q", got)
			}
			return nil
		})
}

// failover makes B the active cluster of the namespace (asked on A) and waits until both agree.
func failover(ctx context.Context, timeout time.Duration, a, b *side) error {
	err := eventually(ctx, timeout, fmt.Sprintf("%s to accept the failover of %s to %s", a.name, a.namespace, b.name),
		func(ctx context.Context) error {
			_, err := a.client.WorkflowService().UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{
				Namespace:         a.namespace,
				ReplicationConfig: &replicationpb.NamespaceReplicationConfig{ActiveClusterName: b.name},
			})
			return err
		})
	if err != nil {
		return err
	}
	for _, s := range []*side{a, b} {
		if err := waitNamespace(ctx, timeout, s, b.name); err != nil {
			return err
		}
	}
	logf("namespace failed over: active on %s, as both clusters report", b.name)
	return nil
}

func startWorker(s *side) (worker.Worker, error) {
	w := worker.New(s.client, taskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(ParentWorkflow, workflow.RegisterOptions{Name: parentWorkflowName})
	w.RegisterWorkflowWithOptions(ChildWorkflow, workflow.RegisterOptions{Name: childWorkflowName})
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("starting a worker on %s: %w", s, err)
	}
	logf("worker running on %s, namespace %s, task queue %s", s.name, s.namespace, taskQueue)
	return w, nil
}

func parentIDs(prefix string, from, to int) []string {
	var ids []string
	for i := from; i < to; i++ {
		ids = append(ids, fmt.Sprintf("%s-%02d", prefix, i))
	}
	return ids
}

// withChildren lists each parent followed by its children.
func withChildren(parents []string, second bool) []string {
	var out []string
	for _, id := range parents {
		out = append(out, id, id+firstChildIDSuffix)
		if second {
			out = append(out, id+secondChildIDSuffix)
		}
	}
	return out
}

func startParents(ctx context.Context, s *side, ids []string, firstIndex int, attribute string) error {
	for i, id := range ids {
		_, err := s.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: id, TaskQueue: taskQueue, WorkflowExecutionTimeout: time.Hour,
		}, parentWorkflowName, ParentInput{Index: firstIndex + i, Attribute: attribute})
		if err != nil {
			return fmt.Errorf("starting workflow %s on %s: %w", id, s, err)
		}
	}
	return nil
}

// waitParked waits until every parent has upserted twice and waits for "finish".
func waitParked(ctx context.Context, timeout time.Duration, s *side, ids []string) error {
	return forEach(ids, func(id string) error {
		return eventually(ctx, timeout, fmt.Sprintf("workflow %s to park on %s (child signalled, attribute upserted)", id, s.name),
			func(ctx context.Context) error { return parked(ctx, s, id) })
	})
}

// finishOn signals "finish" to every parent on s and waits until each completes there.
func finishOn(ctx context.Context, timeout time.Duration, s *side, ids []string, attribute string) error {
	for _, id := range ids {
		if err := sendFinish(ctx, timeout, s, id, attribute); err != nil {
			return err
		}
	}
	return waitCompleted(ctx, timeout, s, ids)
}

// sendFinish signals "finish" to a parent on s, the cluster where it runs; the parent upserts
// `attribute` afterwards.
func sendFinish(ctx context.Context, timeout time.Duration, s *side, id, attribute string) error {
	return eventually(ctx, timeout, fmt.Sprintf("signal %q to %s on %s", signalFinish, id, s.name), func(ctx context.Context) error {
		return s.client.SignalWorkflow(ctx, id, "", signalFinish, Finish{By: s.name, Attribute: attribute})
	})
}

// waitCompleted waits until every parent, finished from s, has completed there.
func waitCompleted(ctx context.Context, timeout time.Duration, s *side, ids []string) error {
	return forEach(ids, func(id string) error {
		wctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		var result string
		if err := s.client.GetWorkflow(wctx, id, "").Get(wctx, &result); err != nil {
			return fmt.Errorf("workflow %s did not complete on %s within %s: %w", id, s.name, timeout, err)
		}
		if !strings.Contains(result, finishedByPrefix+s.name) {
			return fmt.Errorf("workflow %s on %s returned %q", id, s.name, result)
		}
		return checkCompletedOn(ctx, s, id)
	})
}

// forEach runs fn for every id, a few at a time, and returns the first error; after an error
// it starts no more.
func forEach(ids []string, fn func(id string) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	slots := make(chan struct{}, 8)
	for _, id := range ids {
		slots <- struct{}{}
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed {
			// One has failed already: the scenario fails with it, so the rest are not waited for.
			<-slots
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			if err := fn(id); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

func history(ctx context.Context, s *side, id string) ([]*historypb.HistoryEvent, error) {
	var events []*historypb.HistoryEvent
	var token []byte
	for page := 0; page < 1000; page++ {
		resp, err := s.client.WorkflowService().GetWorkflowExecutionHistory(ctx, &workflowservice.GetWorkflowExecutionHistoryRequest{
			Namespace:     s.namespace,
			Execution:     &commonpb.WorkflowExecution{WorkflowId: id},
			NextPageToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("history of %s on %s: %w", id, s.name, err)
		}
		events = append(events, resp.GetHistory().GetEvents()...)
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			return events, nil
		}
	}
	return nil, fmt.Errorf("history of %s on %s: more than 1000 pages", id, s.name)
}

// parked reports nil once the parent has upserted its second stage and waits for "finish".
func parked(ctx context.Context, s *side, id string) error {
	events, err := history(ctx, s, id)
	if err != nil {
		return err
	}
	upserts := 0
	for _, e := range events {
		if e.GetEventType() == enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES {
			upserts++
		}
	}
	if len(events) == 0 {
		return fmt.Errorf("no events")
	}
	last := events[len(events)-1].GetEventType()
	if upserts < 2 || last != enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES {
		return fmt.Errorf("%d events, %d upserts, last %s", len(events), upserts, last)
	}
	return nil
}

func checkCompletedOn(ctx context.Context, s *side, id string) error {
	events, err := history(ctx, s, id)
	if err != nil {
		return err
	}
	if len(events) == 0 || events[len(events)-1].GetEventType() != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED {
		return fmt.Errorf("workflow %s on %s does not end with WorkflowExecutionCompleted", id, s.name)
	}
	return nil
}

// comparison is what compareAll found.
type comparison struct {
	workflows, events, translated int
}

// compareAll waits until every workflow's history on to is as long as on from, then compares
// them event for event with r's names translated.
func compareAll(ctx context.Context, timeout time.Duration, from, to *side, ids []string, r renames) (comparison, error) {
	var mu sync.Mutex
	var total comparison
	err := forEach(ids, func(id string) error {
		var want, got []*historypb.HistoryEvent
		err := eventually(ctx, timeout, fmt.Sprintf("workflow %s to replicate from %s to %s", id, from.name, to.name),
			func(ctx context.Context) error {
				var err error
				if want, err = history(ctx, from, id); err != nil {
					return err
				}
				if got, err = history(ctx, to, id); err != nil {
					return err
				}
				if len(got) != len(want) {
					return fmt.Errorf("%d events on %s, %d on %s", len(want), from.name, len(got), to.name)
				}
				return nil
			})
		if err != nil {
			return err
		}
		translated, err := compareHistories(id, r, from.name, want, to.name, got)
		if err != nil {
			return err
		}
		mu.Lock()
		total.workflows++
		total.events += len(want)
		total.translated += translated
		mu.Unlock()
		return nil
	})
	return total, err
}

// countVisible waits until a visibility query on s counts want workflows.
func countVisible(ctx context.Context, timeout time.Duration, s *side, query string, want int64) error {
	return eventually(ctx, timeout, fmt.Sprintf("%d workflows matching %q on %s", want, query, s.name),
		func(ctx context.Context) error {
			resp, err := s.client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: s.namespace, Query: query})
			if err != nil {
				return err
			}
			if resp.GetCount() != want {
				return fmt.Errorf("%d match", resp.GetCount())
			}
			return nil
		})
}

type quietLogger struct{ prefix string }

func (l quietLogger) Debug(string, ...any) {}
func (l quietLogger) Info(string, ...any)  {}
func (l quietLogger) Warn(msg string, kv ...any) {
	fmt.Fprintf(os.Stderr, "sdk[%s] WARN %s %v\n", l.prefix, msg, kv)
}
func (l quietLogger) Error(msg string, kv ...any) {
	fmt.Fprintf(os.Stderr, "sdk[%s] ERROR %s %v\n", l.prefix, msg, kv)
}

// logTimeline logs, for one workflow, the events from the finish signal on, with the time since
// the signal and the task queue of each scheduled workflow task: where the time after a
// failover goes.
func logTimeline(ctx context.Context, s *side, id string) {
	events, err := history(ctx, s, id)
	if err != nil {
		logf("timeline of %s on %s: %v", id, s.name, err)
		return
	}
	var since time.Time
	for _, e := range events {
		if since.IsZero() {
			if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED && e.GetWorkflowExecutionSignaledEventAttributes().GetSignalName() == signalFinish {
				since = e.GetEventTime().AsTime()
			} else {
				continue
			}
		}
		extra := ""
		if a := e.GetWorkflowTaskScheduledEventAttributes(); a != nil {
			extra = fmt.Sprintf(" task queue %s (%s)", a.GetTaskQueue().GetName(), a.GetTaskQueue().GetKind())
		}
		logf("  %s %s +%s v%d%s", id, e.GetEventType(), e.GetEventTime().AsTime().Sub(since).Round(time.Millisecond), e.GetVersion(), extra)
	}
}
