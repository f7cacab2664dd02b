// The sdk mode: the Temporal Go SDK, worker and client, on cluster B's side of cluster A, through
// proxy B and proxy A (which renames orders <-> orders-b), with workflows using activities, child
// workflows, external signals, timers, memos, queries and continue-as-new, in rounds under a
// competing CPU load. Every workflow must complete, and every namespace name the SDK receives
// (in responses, histories and errors) must be B's name: the SDK never sees A's.
package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

const sdkTaskQueue = "e2e-sdk"

// Starts that timed out (DEADLINE_EXCEEDED) and were made again, reported with the result.
var sdkStartRetries atomic.Int64

// namespaceWatch looks at every response and error the SDK receives for namespace names.
type namespaceWatch struct {
	local, remote string
	localWord     *regexp.Regexp
	remoteSeen    atomic.Int64
	responses     atomic.Int64
	mu            sync.Mutex
	violations    []string
}

func newNamespaceWatch(local, remote string) *namespaceWatch {
	return &namespaceWatch{local: local, remote: remote, localWord: wholeWord(local)}
}

// Fields that hold a namespace name, as the proxy's translation rules name them.
func namesNamespace(fd protoreflect.FieldDescriptor) bool {
	switch fd.Name() {
	case "namespace", "workflow_namespace", "parent_workflow_namespace":
		return true
	case "name":
		return fd.ContainingMessage().FullName() == "temporal.api.namespace.v1.NamespaceInfo"
	}
	return false
}

func (w *namespaceWatch) violation(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.violations) < 20 {
		w.violations = append(w.violations, fmt.Sprintf(format, args...))
	}
}

func (w *namespaceWatch) inspect(method, path string, m protoreflect.Message) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		where := path + "." + string(fd.Name())
		switch {
		case fd.IsMap():
			if fd.MapValue().Kind() == protoreflect.MessageKind {
				v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
					w.inspect(method, where+"["+k.String()+"]", mv.Message())
					return true
				})
			}
		case fd.IsList():
			list := v.List()
			for i := 0; i < list.Len(); i++ {
				w.value(method, fmt.Sprintf("%s[%d]", where, i), fd, list.Get(i))
			}
		default:
			w.value(method, where, fd, v)
		}
		return true
	})
}

func (w *namespaceWatch) value(method, where string, fd protoreflect.FieldDescriptor, v protoreflect.Value) {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		w.inspect(method, where, v.Message())
	case protoreflect.StringKind:
		if !namesNamespace(fd) {
			return
		}
		switch v.String() {
		case w.local:
			w.violation("%s: %s = %q", method, where, v.String())
		case w.remote:
			w.remoteSeen.Add(1)
		}
	}
}

func (w *namespaceWatch) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
	invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	w.responses.Add(1)
	if err == nil {
		if m, ok := reply.(proto.Message); ok {
			w.inspect(method, "response", m.ProtoReflect())
		}
		return err
	}
	st, _ := status.FromError(err)
	if w.localWord.MatchString(st.Message()) {
		w.violation("%s: error message %q", method, st.Message())
	}
	for i, d := range st.Proto().GetDetails() {
		detail, derr := d.UnmarshalNew()
		if derr == nil {
			w.inspect(method, fmt.Sprintf("error.details[%d]", i), detail.ProtoReflect())
		}
	}
	return err
}

// cpuLoad runs one busy shell loop per core beside the clusters, the proxies and the SDK, until stop
// is called (once or more); each is ended by its pid. The loops run at a lower priority (nice 10): they
// keep the load average up and take every idle cycle, without starving the processes under test.
func cpuLoad() (stop func(), err error) {
	var loops []*exec.Cmd
	stopAll := func() {
		for _, c := range loops {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
		loops = nil
	}
	for i := 0; i < runtime.NumCPU(); i++ {
		c := exec.Command("nice", "-n", "10", "sh", "-c", "while :; do :; done")
		if err := c.Start(); err != nil {
			stopAll()
			return nil, fmt.Errorf("starting a CPU load loop: %w", err)
		}
		loops = append(loops, c)
	}
	var once sync.Once
	return func() { once.Do(stopAll) }, nil
}

func (t *topology) sdk(ctx context.Context) error {
	watch := newNamespaceWatch(namespaceA, namespaceB)
	// Cluster B's side of cluster A: proxy B's outbound port, then proxy A's inbound, which renames.
	c, err := client.DialContext(ctx, client.Options{
		HostPort:  t.b.outbound,
		Namespace: namespaceB,
		Logger:    quietLogger{prefix: "sdk"},
		ConnectionOptions: client.ConnectionOptions{
			DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(watch.unary)},
		},
	})
	if err != nil {
		return fmt.Errorf("the SDK client through %s: %w", t.b.outbound, err)
	}
	defer c.Close()
	w := worker.New(c, sdkTaskQueue, worker.Options{MaxConcurrentWorkflowTaskPollers: 4, MaxConcurrentActivityTaskPollers: 4})
	w.RegisterWorkflowWithOptions(SDKParent, workflow.RegisterOptions{Name: sdkParentName})
	w.RegisterWorkflowWithOptions(SDKChild, workflow.RegisterOptions{Name: sdkChildName})
	w.RegisterActivityWithOptions(SDKActivity, activity.RegisterOptions{Name: sdkActivityName})
	if err := w.Start(); err != nil {
		return fmt.Errorf("starting the SDK worker through %s: %w", t.b.outbound, err)
	}
	defer w.Stop()
	logf("SDK worker and client on namespace %s through %s (proxy B, then proxy A renaming %s <-> %s)",
		namespaceB, t.b.outbound, namespaceA, namespaceB)

	stop, err := cpuLoad()
	if err != nil {
		return err
	}
	defer stop()
	logf("competing CPU load: %d busy shell loops", runtime.NumCPU())
	total := 0
	for round := 0; round < t.o.sdkRounds; round++ {
		began := time.Now()
		if err := t.sdkRound(ctx, c, round); err != nil {
			return err
		}
		total += t.o.sdkWorkflows
		logf("sdk round %d: %d workflows completed in %s (each: activity, timer, memo, child, external signal, query, continue-as-new)",
			round+1, t.o.sdkWorkflows, time.Since(began).Round(100*time.Millisecond))
		if err := t.checkAlive(); err != nil {
			return err
		}
	}
	stop()
	w.Stop()

	watch.mu.Lock()
	violations := append([]string(nil), watch.violations...)
	watch.mu.Unlock()
	if len(violations) > 0 {
		return fmt.Errorf("the SDK saw %s's local name %q:\n  %s", t.a.name, namespaceA, strings.Join(violations, "\n  "))
	}
	if watch.remoteSeen.Load() == 0 {
		return fmt.Errorf("the SDK saw no namespace name at all in %d responses: the check proves nothing", watch.responses.Load())
	}
	logf("sdk: %d workflows completed over %d rounds (%d starts retried after DEADLINE_EXCEEDED); in %d responses the SDK saw %q %d times and %q never",
		total, t.o.sdkRounds, sdkStartRetries.Load(), watch.responses.Load(), namespaceB, watch.remoteSeen.Load(), namespaceA)
	return nil
}

// sdkRound starts the round's workflows at once, queries each, and waits for each to complete.
func (t *topology) sdkRound(ctx context.Context, c client.Client, round int) error {
	n := t.o.sdkWorkflows
	errs := make([]error, n)
	// Starts and queries in flight at once: a burst of a hundred starts outruns a one-shard cluster on
	// SQLite (the server itself then takes the SDK's whole 10 s deadline), which is not what this checks.
	starts := make(chan struct{}, 10)
	queries := make(chan struct{}, 10)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = t.sdkWorkflow(ctx, c, round*n+i, starts, queries)
		}()
	}
	wg.Wait()
	var failed []string
	for i, err := range errs {
		if err != nil {
			failed = append(failed, fmt.Sprintf("workflow %d: %v", round*n+i, err))
		}
	}
	if len(failed) == 0 {
		return nil
	}
	sort.Strings(failed)
	count := len(failed)
	if count > 10 {
		failed = append(failed[:10], fmt.Sprintf("... and %d more", count-10))
	}
	return fmt.Errorf("sdk round %d: %d of %d workflows failed:\n  %s", round+1, count, n, strings.Join(failed, "\n  "))
}

func (t *topology) sdkWorkflow(ctx context.Context, c client.Client, index int, starts, queries chan struct{}) error {
	id := fmt.Sprintf("sdk-%05d", index)
	// A start that timed out may have started the workflow: starting it again returns that run.
	var run client.WorkflowRun
	var err error
	starts <- struct{}{}
	for attempt := 1; attempt <= 5; attempt++ {
		run, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: id, TaskQueue: sdkTaskQueue, WorkflowExecutionTimeout: 10 * time.Minute,
			Memo: map[string]interface{}{"index": index},
		}, sdkParentName, SDKInput{Index: index})
		if err == nil || (status.Code(err) != codes.DeadlineExceeded && !errors.Is(err, context.DeadlineExceeded)) {
			break
		}
		sdkStartRetries.Add(1)
	}
	<-starts
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	// A query is answered by the worker, through both proxies; retried while the first task runs.
	queries <- struct{}{}
	err = query(ctx, c, id, run.GetRunID())
	<-queries
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 11*time.Minute)
	defer cancel()
	var result string
	if err := run.Get(wctx, &result); err != nil {
		return fmt.Errorf("%w; %s", err, stalled(ctx, c, id))
	}
	if want := fmt.Sprintf("sdk %d: activity(%d/1) after continue-as-new", index, index); result != want {
		return fmt.Errorf("result %q, want %q", result, want)
	}
	return nil
}

// query asks a workflow its stage, retrying (bounded) while it has not run its first task.
func query(ctx context.Context, c client.Client, id, runID string) error {
	deadline := time.Now().Add(3 * time.Minute)
	for attempt := 1; ; attempt++ {
		qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		value, err := c.QueryWorkflow(qctx, id, runID, sdkStageQuery)
		cancel()
		var stage string
		if err == nil {
			if err = value.Get(&stage); err == nil {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("query %q of %s: %d attempts, last: %w", sdkStageQuery, id, attempt, err)
		}
		time.Sleep(time.Second)
	}
}

// stalled describes the first run of a workflow that did not complete: its events by type.
func stalled(ctx context.Context, c client.Client, id string) string {
	hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	iter := c.GetWorkflowHistory(hctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var types []string
	for iter.HasNext() && len(types) < 50 {
		event, err := iter.Next()
		if err != nil {
			return fmt.Sprintf("history of %s: %v", id, err)
		}
		types = append(types, strings.TrimPrefix(event.GetEventType().String(), "EVENT_TYPE_"))
	}
	return fmt.Sprintf("history of the last run of %s: %s", id, strings.Join(types, ", "))
}
