// The cross-version scenario: cluster A runs Temporal v1.22, the last release on gogo protobuf,
// which stores strings without checking that they are UTF-8; cluster B runs a release on Google's
// protobuf runtime, which refuses such strings: v1.23 (--cluster-b cluster-v1.23) or the current
// version. Real deployments got invalid UTF-8 into v1.22 the way this scenario does: clients
// sending it in string fields the server keeps as they are.
//
// With UTF-8 repair on (the default), both proxies (mux, mutual TLS) must carry A's workflows to
// B, where each invalid sequence reads U+FFFD and every other field equals A's. With repair off
// they must not: B's history service refuses the events, and the scenario shows its error.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// The strings that are not UTF-8, and what B must hold instead: each maximal ill-formed
// subsequence (Unicode 3.9, "U+FFFD substitution of maximal subparts") becomes U+FFFD. The
// repairs are written out by hand, not computed. The strings go in fields v1.22 stores as they
// come; it checks a few others itself (workflow id and type, task queue, request id, namespace,
// timer id, search attribute values), and the scenario checks that it refuses a bad workflow type.
var (
	badType     = "CrossVersion\xffWorkflow"                   // a byte that never occurs in UTF-8
	badMemoKey  = "note-caf\xc3"                               // a two-byte sequence cut short at the end
	badIdentity = "operator-\xe2\x82x"                         // a three-byte sequence cut short by 'x'
	badSignal   = "approve-\xed\xa0\x80"                       // an encoded surrogate
	badReason   = "stopped \xc0\xaf by ops"                    // an overlong '/'
	badFailure  = "Z\u00fcrich \xfe failed, valid \u00fc kept" // 0xFE beside valid two-byte sequences

	repaired = map[string]string{
		badMemoKey:  "note-caf\uFFFD",
		badIdentity: "operator-\uFFFDx",
		badSignal:   "approve-\uFFFD\uFFFD\uFFFD",
		badReason:   "stopped \uFFFD\uFFFD by ops",
		badFailure:  "Z\u00fcrich \uFFFD failed, valid \u00fc kept",
	}
)

const (
	crossVersionQueue = "cross-version"
	methodPrefix      = "/temporal.api.workflowservice.v1.WorkflowService/"
)

// rawRequest is one call that carries strings that are not UTF-8.
type rawRequest struct {
	method string
	body   []byte
}

func (t *topology) crossVersion(ctx context.Context) error {
	a, b := t.a, t.b
	if err := checkGogoReflection(ctx, a.frontend); err != nil {
		return err
	}
	for _, name := range []string{"proxy-a", "proxy-b"} {
		line, err := waitForLineAfter(ctx, t.procs[name].logPath, 0, t.o.readyTimeout, "loaded the Temporal schema")
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		logf("%s: %s", name, line[strings.Index(line, "loaded the Temporal schema"):])
	}
	for _, s := range []*side{a, b} {
		if err := s.dial(ctx, t.o.stepTimeout); err != nil {
			return err
		}
	}
	if err := connectClusters(ctx, t.o.stepTimeout, a, b); err != nil {
		return err
	}
	if err := createNamespace(ctx, t.o.stepTimeout, a, b); err != nil {
		return err
	}
	connA, err := grpc.NewClient(a.frontend, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer connA.Close()
	connB, err := grpc.NewClient(b.frontend, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer connB.Close()

	if err := checkTypeChecked(ctx, connA, a); err != nil {
		return err
	}
	if err := t.replicateRepaired(ctx, connA, connB); err != nil {
		return err
	}
	if err := t.replicateUnrepaired(ctx, connA); err != nil {
		return err
	}
	return t.checkAlive()
}

// replicateRepaired: with repair on, every string reaches B, repaired.
func (t *topology) replicateRepaired(ctx context.Context, connA, connB *grpc.ClientConn) error {
	a, b := t.a, t.b
	ids := []string{"cv-started-signalled-terminated", "cv-failed"}
	if err := writeStartedSignalledTerminated(ctx, connA, connB, a, ids[0], invalidStrings); err != nil {
		return err
	}
	if err := writeFailed(ctx, connA, connB, a, ids[1]); err != nil {
		return err
	}
	logf("wrote %d workflows on %s with %d strings that are not UTF-8; %s refused each of those calls", len(ids), a.name, len(repaired), b.name)
	found := map[string]bool{}
	for _, id := range ids {
		subs, err := compareRepaired(ctx, t.o.stepTimeout, connA, a, b, id)
		if err != nil {
			return err
		}
		for _, s := range subs {
			logf("  %s: %s %q -> %q on %s", id, s.path, s.raw, s.with, b.name)
			found[s.raw] = true
		}
	}
	for raw := range repaired {
		if !found[raw] {
			return fmt.Errorf("%q, written on %s, is in none of the histories compared", raw, a.name)
		}
	}
	logf("replicated with repair: %d workflows on %s equal %s's field by field, but for the %d invalid strings, each sequence now U+FFFD",
		len(ids), b.name, a.name, len(repaired))
	repairs := 0.0
	for _, name := range []string{"proxy-a", "proxy-b"} {
		n, samples, err := utf8Repairs(t.specs[name].metrics)
		if err != nil {
			return err
		}
		logf("%s counted %v UTF-8 repairs", name, n)
		for _, sample := range samples {
			logf("  %s", sample)
		}
		repairs += n
	}
	if repairs == 0 {
		return fmt.Errorf("the workflows replicated but neither proxy counts a UTF-8 repair")
	}
	return checkEndpoints(ctx, t)
}

// replicateUnrepaired: with repair off on both proxies, a workflow with valid strings replicates,
// one with invalid strings does not.
func (t *topology) replicateUnrepaired(ctx context.Context, connA *grpc.ClientConn) error {
	a, b := t.a, t.b
	off := false
	for _, name := range []string{"proxy-a", "proxy-b"} {
		t.specs[name].repairUTF8 = &off
		if err := t.restartProxy(name); err != nil {
			return err
		}
	}
	if err := waitStreamsAcked(ctx, t, "proxy-a", "proxy-b"); err != nil {
		return err
	}
	control, unrepaired := "cv-control", "cv-unrepaired"
	if err := writeStartedSignalledTerminated(ctx, connA, nil, a, control, validStrings); err != nil {
		return err
	}
	if _, err := compareAll(ctx, t.o.stepTimeout, a, b, []string{control}, renames{}); err != nil {
		return fmt.Errorf("with repair off, a workflow with valid strings: %w", err)
	}
	logf("with repair off, %s (valid strings) replicated to %s", control, b.name)
	bMark, err := fileSize(clusterLog(t, b))
	if err != nil {
		return err
	}
	if err := writeStartedSignalledTerminated(ctx, connA, nil, a, unrepaired, invalidStrings); err != nil {
		return err
	}
	line, err := waitForLineAfter(ctx, clusterLog(t, b), bMark, t.o.stepTimeout, "invalid UTF-8", unrepaired)
	if err != nil {
		return fmt.Errorf("with repair off, %s's log never reports invalid UTF-8 for %s: %w", b.name, unrepaired, err)
	}
	logf("with repair off, %s refuses the events of %s: %s", b.name, unrepaired, shorten(line, 600))
	// B retries the task; the workflow must still be missing there a while later.
	if err := stillAbsent(ctx, b, unrepaired, 10*time.Second); err != nil {
		return err
	}
	logf("with repair off, %s does not hold %s", b.name, unrepaired)
	return nil
}

// The programs of the v1.22 module (tests/e2e/cluster-v1.22), in --bin.
const (
	oldCluster = "cluster-v1.22"
	oldSchema  = "schema-v1.22"
)

// writeOldSchema runs the v1.22 schema program, which writes the descriptor set proxy A reads.
func writeOldSchema(bin, work string) (string, error) {
	path := filepath.Join(work, "temporal-v1.22-descriptors.binpb")
	out, err := exec.Command(filepath.Join(bin, oldSchema), "-out", path).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s -out %s: %v\n%s", oldSchema, path, err, out)
	}
	logf("%s", strings.TrimSpace(string(out)))
	return path, nil
}

func clusterLog(t *topology, s *side) string { return filepath.Join(t.o.work, s.name+".log") }

// workflowStrings are the strings a workflow of writeStartedSignalledTerminated is written with.
type workflowStrings struct{ workflowType, memoKey, identity, signal, reason string }

var (
	invalidStrings = workflowStrings{"CrossVersionWorkflow", badMemoKey, badIdentity, badSignal, badReason}
	validStrings   = workflowStrings{"CrossVersionWorkflow", "note", "operator", "approve", "stopped by ops"}
)

// writeStartedSignalledTerminated starts a workflow with the type, memo key and identity of
// strs, signals it with its signal name and terminates it with its reason. When refuser is set,
// each call is first sent there and must be refused.
func writeStartedSignalledTerminated(ctx context.Context, conn, refuser *grpc.ClientConn, s *side, id string, strs workflowStrings) error {
	execution := &commonpb.WorkflowExecution{WorkflowId: id}
	start := &workflowservice.StartWorkflowExecutionRequest{
		Namespace: s.namespace, WorkflowId: id, TaskQueue: &taskqueuepb.TaskQueue{Name: crossVersionQueue},
		WorkflowExecutionTimeout: durationpb.New(time.Hour), RequestId: id + "-start",
	}
	memoValue := mustMarshal(&commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"kept"`)})
	startBody := append(withStrings(start, stringField{"workflow_type.name", strs.workflowType}, stringField{"identity", strs.identity}),
		mapEntryAt(start.ProtoReflect().Descriptor(), "memo.fields", strs.memoKey, memoValue)...)
	signal := &workflowservice.SignalWorkflowExecutionRequest{
		Namespace: s.namespace, WorkflowExecution: execution, Identity: "e2e", RequestId: id + "-signal",
	}
	terminate := &workflowservice.TerminateWorkflowExecutionRequest{Namespace: s.namespace, WorkflowExecution: execution, Identity: "e2e"}
	return sendAll(ctx, conn, refuser, s, id, []rawRequest{
		{"StartWorkflowExecution", startBody},
		{"SignalWorkflowExecution", withStrings(signal, stringField{"signal_name", strs.signal})},
		{"TerminateWorkflowExecution", withStrings(terminate, stringField{"reason", strs.reason})},
	})
}

// writeFailed starts a workflow with valid strings, takes its workflow task as a worker would, and
// fails the workflow with a failure message that is not UTF-8.
func writeFailed(ctx context.Context, conn, refuser *grpc.ClientConn, s *side, id string) error {
	queue := &taskqueuepb.TaskQueue{Name: crossVersionQueue + "-" + id}
	_, err := workflowservice.NewWorkflowServiceClient(conn).StartWorkflowExecution(ctx, &workflowservice.StartWorkflowExecutionRequest{
		Namespace: s.namespace, WorkflowId: id, WorkflowType: &commonpb.WorkflowType{Name: "CrossVersionWorkflow"},
		TaskQueue: queue, WorkflowExecutionTimeout: durationpb.New(time.Hour), Identity: "e2e", RequestId: id + "-start",
	})
	if err != nil {
		return fmt.Errorf("starting %s on %s: %w", id, s, err)
	}
	var token []byte
	err = eventually(ctx, time.Minute, "the workflow task of "+id+" on "+s.name, func(ctx context.Context) error {
		task, err := workflowservice.NewWorkflowServiceClient(conn).PollWorkflowTaskQueue(ctx, &workflowservice.PollWorkflowTaskQueueRequest{
			Namespace: s.namespace, TaskQueue: queue, Identity: "e2e",
		})
		if err == nil && len(task.GetTaskToken()) == 0 {
			err = fmt.Errorf("the poll returned no task")
		}
		token = task.GetTaskToken()
		return err
	})
	if err != nil {
		return err
	}
	command := withStrings(&commandpb.Command{
		CommandType: enumspb.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION,
		Attributes: &commandpb.Command_FailWorkflowExecutionCommandAttributes{FailWorkflowExecutionCommandAttributes: &commandpb.FailWorkflowExecutionCommandAttributes{
			Failure: &failurepb.Failure{Source: "e2e"},
		}},
	}, stringField{"fail_workflow_execution_command_attributes.failure.message", badFailure})
	respond := &workflowservice.RespondWorkflowTaskCompletedRequest{Namespace: s.namespace, TaskToken: token, Identity: "e2e"}
	body := append(mustMarshal(respond), wrap(respond.ProtoReflect().Descriptor(), "commands", command)...)
	return sendAll(ctx, conn, refuser, s, id, []rawRequest{{"RespondWorkflowTaskCompleted", body}})
}

// sendAll sends each request to conn; first, when refuser is set, to refuser, which must refuse
// it for its invalid UTF-8 (a gRPC server on Google's protobuf runtime cannot parse it).
func sendAll(ctx context.Context, conn, refuser *grpc.ClientConn, s *side, id string, requests []rawRequest) error {
	for _, r := range requests {
		if refuser != nil {
			_, err := invokeRaw(ctx, refuser, methodPrefix+r.method, r.body)
			if err == nil || !strings.Contains(err.Error(), "invalid UTF-8") {
				return fmt.Errorf("%s of %s sent straight to the newer cluster: want a refusal for invalid UTF-8, got %v", r.method, id, err)
			}
		}
		if _, err := invokeRaw(ctx, conn, methodPrefix+r.method, r.body); err != nil {
			return fmt.Errorf("%s of %s on %s: %w", r.method, id, s, err)
		}
	}
	return nil
}

// checkTypeChecked: v1.22 refuses a workflow type that is not UTF-8 (so the scenario puts none).
func checkTypeChecked(ctx context.Context, conn *grpc.ClientConn, s *side) error {
	start := &workflowservice.StartWorkflowExecutionRequest{
		Namespace: s.namespace, WorkflowId: "cv-bad-type", TaskQueue: &taskqueuepb.TaskQueue{Name: crossVersionQueue}, RequestId: "cv-bad-type",
	}
	_, err := invokeRaw(ctx, conn, methodPrefix+"StartWorkflowExecution", withStrings(start, stringField{"workflow_type.name", badType}))
	if err == nil || !strings.Contains(err.Error(), "is not a valid UTF-8 string") {
		return fmt.Errorf("v1.22 on %s: a workflow type that is not UTF-8: want InvalidArgument, got %v", s.name, err)
	}
	logf("v1.22 checks some fields itself: %v", err)
	return nil
}

// rawHistory reads a workflow's history from a v1.22 frontend as bytes, one slice per event.
func rawHistory(ctx context.Context, conn *grpc.ClientConn, s *side, id string) ([][]byte, error) {
	request := mustMarshal(&workflowservice.GetWorkflowExecutionHistoryRequest{
		Namespace: s.namespace, Execution: &commonpb.WorkflowExecution{WorkflowId: id}, MaximumPageSize: 1000,
	})
	response, err := invokeRaw(ctx, conn, methodPrefix+"GetWorkflowExecutionHistory", request)
	if err != nil {
		return nil, fmt.Errorf("history of %s on %s: %w", id, s.name, err)
	}
	md := (&workflowservice.GetWorkflowExecutionHistoryResponse{}).ProtoReflect().Descriptor()
	if token, err := fieldsOf(response, field(md, "next_page_token").Number()); err != nil || len(token) > 0 && len(token[0]) > 0 {
		return nil, fmt.Errorf("history of %s on %s: more than one page, or unreadable (%v)", id, s.name, err)
	}
	histories, err := fieldsOf(response, field(md, "history").Number())
	if err != nil || len(histories) != 1 {
		return nil, fmt.Errorf("history of %s on %s: %d histories in the response (%v)", id, s.name, len(histories), err)
	}
	return fieldsOf(histories[0], field((&historypb.History{}).ProtoReflect().Descriptor(), "events").Number())
}

// compareRepaired waits until B holds as many events of the workflow as A, then compares them:
// A's events, each invalid string replaced by its repair, must equal B's as protobuf messages.
func compareRepaired(ctx context.Context, timeout time.Duration, conn *grpc.ClientConn, a, b *side, id string) ([]substitution, error) {
	var raw [][]byte
	var got []*historypb.HistoryEvent
	err := eventually(ctx, timeout, fmt.Sprintf("workflow %s to replicate from %s to %s", id, a.name, b.name),
		func(ctx context.Context) error {
			var err error
			if raw, err = rawHistory(ctx, conn, a, id); err != nil {
				return err
			}
			if got, err = history(ctx, b, id); err != nil {
				return err
			}
			if len(got) != len(raw) {
				return fmt.Errorf("%d events on %s, %d on %s", len(raw), a.name, len(got), b.name)
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	var subs []substitution
	want := make([]*historypb.HistoryEvent, len(raw))
	descriptor := (&historypb.HistoryEvent{}).ProtoReflect().Descriptor()
	for i, event := range raw {
		fixed, err := substitute(event, descriptor, fmt.Sprintf("event %d", i+1), repaired, &subs)
		if err != nil {
			return nil, fmt.Errorf("workflow %s on %s: %w", id, a.name, err)
		}
		want[i] = &historypb.HistoryEvent{}
		if err := proto.Unmarshal(fixed, want[i]); err != nil {
			return nil, fmt.Errorf("workflow %s on %s: event %d does not parse once repaired: %w", id, a.name, i+1, err)
		}
	}
	if _, err := compareHistories(id, renames{}, a.name+" (invalid strings repaired by the scenario)", want, b.name, got); err != nil {
		return nil, err
	}
	return subs, nil
}

// checkGogoReflection states the fact the v1.22 schema program exists for: a v1.22 frontend's
// gRPC reflection lists its services but cannot describe them (their files are in gogo's
// registry, which reflection does not read).
func checkGogoReflection(ctx context.Context, frontend string) error {
	conn, err := grpc.NewClient(frontend, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	callCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(callCtx)
	if err != nil {
		return fmt.Errorf("reflection on %s: %w", frontend, err)
	}
	const service = "temporal.api.workflowservice.v1.WorkflowService"
	ask := func(r *reflectionpb.ServerReflectionRequest) (*reflectionpb.ServerReflectionResponse, error) {
		if err := stream.Send(r); err != nil {
			return nil, err
		}
		return stream.Recv()
	}
	list, err := ask(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{ListServices: "*"}})
	if err != nil {
		return fmt.Errorf("reflection on %s: listing services: %w", frontend, err)
	}
	listed := false
	for _, s := range list.GetListServicesResponse().GetService() {
		listed = listed || s.GetName() == service
	}
	file, err := ask(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: service}})
	if err != nil {
		return fmt.Errorf("reflection on %s: asking for %s: %w", frontend, service, err)
	}
	if !listed || file.GetErrorResponse() == nil {
		return fmt.Errorf("reflection on the v1.22 frontend %s: %s listed %v, described by %d files: expected listed and not described",
			frontend, service, listed, len(file.GetFileDescriptorResponse().GetFileDescriptorProto()))
	}
	logf("reflection on the v1.22 frontend lists %s but answers %q for its file: proxy A reads the v1.22 descriptor set instead",
		service, file.GetErrorResponse().GetErrorMessage())
	return nil
}

// utf8Repairs reads a proxy's count of repaired strings from its /metrics, in all and the samples
// that are not 0 (by direction and message type).
func utf8Repairs(metrics string) (float64, []string, error) {
	code, body, err := httpGet("http://" + metrics + "/metrics")
	if err != nil || code != 200 {
		return 0, nil, fmt.Errorf("/metrics on %s: status %d, %v", metrics, code, err)
	}
	const family = "s2s_proxy_translation_changes_total"
	var samples []string
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, family+"{") && strings.Contains(line, `kind="utf8_repair"`) && !strings.HasSuffix(line, " 0") {
			samples = append(samples, line)
		}
	}
	return counter(body, family, `kind="utf8_repair"`), samples, nil
}

// stillAbsent checks, for a while, that s has no workflow id.
func stillAbsent(ctx context.Context, s *side, id string, during time.Duration) error {
	deadline := time.Now().Add(during)
	for attempt := 0; attempt < 100 && time.Now().Before(deadline); attempt++ {
		_, err := s.client.DescribeWorkflowExecution(ctx, id, "")
		var notFound *serviceerror.NotFound
		if !errors.As(err, &notFound) {
			return fmt.Errorf("%s on %s: want NotFound, got %v", id, s.name, err)
		}
		time.Sleep(time.Second)
	}
	return nil
}

func fileSize(path string) (int64, error) {
	info, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return info.Size(), nil
}

// waitForLineAfter waits until a line of the file, after its first `from` bytes, contains every
// one of substrs, and returns it.
func waitForLineAfter(ctx context.Context, path string, from int64, timeout time.Duration, substrs ...string) (string, error) {
	var found string
	err := eventually(ctx, timeout, fmt.Sprintf("a line with %q in %s", substrs, path), func(context.Context) error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := f.Seek(from, 0); err != nil {
			return err
		}
		scanner := bufio.NewScanner(f)
		scanner.Buffer(make([]byte, 1<<20), 1<<20)
		for scanner.Scan() {
			all := true
			for _, substr := range substrs {
				all = all && strings.Contains(scanner.Text(), substr)
			}
			if all {
				found = scanner.Text()
				return nil
			}
		}
		return fmt.Errorf("not yet")
	})
	return found, err
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
