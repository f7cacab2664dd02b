// Command replmsgs checks the proxy's reading and writing of replication stream messages against Temporal's own
// types (go.temporal.io/server/api): `--out FILE` writes messages encoded by Temporal with what each one says, and
// `--check FILE` decodes what the proxy wrote and compares it with what it was meant to say.
//
// --out writes, one per line (hex is the encoded message, "-" an empty string):
//
//	response <hex> <watermark> <priority> <task count>
//	task <namespace id> <workflow id> <source task id>
//	request <hex> <overall> <high or -> <low or ->
//
// --check reads:
//
//	rewritten <original response hex> <written response hex> <watermark> <index>:<id>,...
//	state <written request hex> <overall> <high or -> <low or ->
package main

import (
	"bufio"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminservice "go.temporal.io/server/api/adminservice/v1"
	enumsspb "go.temporal.io/server/api/enums/v1"
	persistencespb "go.temporal.io/server/api/persistence/v1"
	replicationspb "go.temporal.io/server/api/replication/v1"
)

type expectedTask struct {
	namespaceID, workflowID string
	id                      int64
}

func task(id int64, priority enumsspb.TaskPriority) *replicationspb.ReplicationTask {
	return &replicationspb.ReplicationTask{
		SourceTaskId:   id,
		Priority:       priority,
		VisibilityTime: timestamppb.New(time.Unix(1700000000, int64(id))),
	}
}

func batches() ([]*replicationspb.WorkflowReplicationMessages, [][]expectedTask) {
	var all []*replicationspb.WorkflowReplicationMessages
	var want [][]expectedTask

	// Every kind of task a stream carries, each naming its workflow its own way.
	var tasks []*replicationspb.ReplicationTask
	var names []expectedTask
	add := func(t *replicationspb.ReplicationTask, ns, wf string) {
		tasks = append(tasks, t)
		names = append(names, expectedTask{ns, wf, t.SourceTaskId})
	}
	t := task(101, enumsspb.TASK_PRIORITY_UNSPECIFIED)
	t.TaskType = enumsspb.REPLICATION_TASK_TYPE_HISTORY_V2_TASK
	t.Attributes = &replicationspb.ReplicationTask_HistoryTaskAttributes{HistoryTaskAttributes: &replicationspb.HistoryTaskAttributes{
		NamespaceId: "ns-history", WorkflowId: "wf-history", RunId: "run-1",
		Events: &commonpb.DataBlob{Data: []byte("history events, left as they are")},
	}}
	add(t, "ns-history", "wf-history")

	t = task(102, enumsspb.TASK_PRIORITY_UNSPECIFIED)
	t.Attributes = &replicationspb.ReplicationTask_HistoryTaskAttributes{HistoryTaskAttributes: &replicationspb.HistoryTaskAttributes{
		NamespaceId: "ns-attribute", WorkflowId: "wf-attribute",
	}}
	t.RawTaskInfo = &persistencespb.ReplicationTaskInfo{NamespaceId: "ns-raw", WorkflowId: "wf-raw", TaskId: 102}
	add(t, "ns-raw", "wf-raw") // raw_task_info wins, as in Temporal's receiver

	t = task(103, enumsspb.TASK_PRIORITY_UNSPECIFIED)
	t.Attributes = &replicationspb.ReplicationTask_SyncActivityTaskAttributes{SyncActivityTaskAttributes: &replicationspb.SyncActivityTaskAttributes{
		NamespaceId: "ns-activity", WorkflowId: "wf-activity", Attempt: 3,
	}}
	add(t, "ns-activity", "wf-activity")

	t = task(104, enumsspb.TASK_PRIORITY_UNSPECIFIED)
	t.Attributes = &replicationspb.ReplicationTask_SyncWorkflowStateTaskAttributes{SyncWorkflowStateTaskAttributes: &replicationspb.SyncWorkflowStateTaskAttributes{
		WorkflowState: &persistencespb.WorkflowMutableState{
			ExecutionInfo:  &persistencespb.WorkflowExecutionInfo{NamespaceId: "ns-state", WorkflowId: "wf-state"},
			ExecutionState: &persistencespb.WorkflowExecutionState{RunId: "run-state"},
		},
	}}
	add(t, "ns-state", "wf-state")

	t = task(105, enumsspb.TASK_PRIORITY_UNSPECIFIED)
	t.Attributes = &replicationspb.ReplicationTask_SyncHsmAttributes{SyncHsmAttributes: &replicationspb.SyncHSMAttributes{
		NamespaceId: "ns-hsm", WorkflowId: "wf-hsm",
	}}
	add(t, "ns-hsm", "wf-hsm")

	t = task(106, enumsspb.TASK_PRIORITY_UNSPECIFIED)
	t.Attributes = &replicationspb.ReplicationTask_BackfillHistoryTaskAttributes{BackfillHistoryTaskAttributes: &replicationspb.BackfillHistoryTaskAttributes{
		NamespaceId: "ns-backfill", WorkflowId: "wf-backfill",
	}}
	add(t, "ns-backfill", "wf-backfill")

	t = task(107, enumsspb.TASK_PRIORITY_UNSPECIFIED)
	t.Attributes = &replicationspb.ReplicationTask_VerifyVersionedTransitionTaskAttributes{VerifyVersionedTransitionTaskAttributes: &replicationspb.VerifyVersionedTransitionTaskAttributes{
		NamespaceId: "ns-verify", WorkflowId: "wf-verify", NextEventId: 9,
	}}
	add(t, "ns-verify", "wf-verify")

	t = task(108, enumsspb.TASK_PRIORITY_UNSPECIFIED)
	t.Attributes = &replicationspb.ReplicationTask_SyncVersionedTransitionTaskAttributes{SyncVersionedTransitionTaskAttributes: &replicationspb.SyncVersionedTransitionTaskAttributes{
		NamespaceId: "ns-transition", WorkflowId: "wf-transition",
	}}
	add(t, "ns-transition", "wf-transition")

	t = task(109, enumsspb.TASK_PRIORITY_UNSPECIFIED)
	t.Attributes = &replicationspb.ReplicationTask_TaskQueueUserDataAttributes{TaskQueueUserDataAttributes: &replicationspb.TaskQueueUserDataAttributes{
		NamespaceId: "ns-queue", TaskQueueName: "queue",
	}}
	add(t, "", "") // names no workflow

	t = task(110, enumsspb.TASK_PRIORITY_UNSPECIFIED)
	t.Attributes = &replicationspb.ReplicationTask_NamespaceTaskAttributes{NamespaceTaskAttributes: &replicationspb.NamespaceTaskAttributes{
		Id: "ns-namespace",
	}}
	add(t, "", "")

	all = append(all, &replicationspb.WorkflowReplicationMessages{
		ReplicationTasks:           tasks,
		ExclusiveHighWatermark:     111,
		ExclusiveHighWatermarkTime: timestamppb.New(time.Unix(1700000100, 5)),
	})
	want = append(want, names)

	// A high-priority batch (tiered processing).
	high := task(7, enumsspb.TASK_PRIORITY_HIGH)
	high.Attributes = &replicationspb.ReplicationTask_HistoryTaskAttributes{HistoryTaskAttributes: &replicationspb.HistoryTaskAttributes{
		NamespaceId: "ns-high", WorkflowId: "wf-high",
	}}
	all = append(all, &replicationspb.WorkflowReplicationMessages{
		ReplicationTasks: []*replicationspb.ReplicationTask{high}, ExclusiveHighWatermark: 8, Priority: enumsspb.TASK_PRIORITY_HIGH,
	})
	want = append(want, []expectedTask{{"ns-high", "wf-high", 7}})

	// A watermark only.
	all = append(all, &replicationspb.WorkflowReplicationMessages{ExclusiveHighWatermark: 500})
	want = append(want, nil)
	return all, want
}

func states() []*replicationspb.SyncReplicationState {
	return []*replicationspb.SyncReplicationState{
		{InclusiveLowWatermark: 77, InclusiveLowWatermarkTime: timestamppb.New(time.Unix(1700000200, 0))},
		{
			InclusiveLowWatermark: 5,
			HighPriorityState:     &replicationspb.ReplicationState{InclusiveLowWatermark: 7},
			LowPriorityState:      &replicationspb.ReplicationState{InclusiveLowWatermark: 5, InclusiveLowWatermarkTime: timestamppb.New(time.Unix(1700000300, 0))},
		},
		{},
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "replmsgs: "+format+"\n", args...)
	os.Exit(1)
}

func write(path string) {
	var b strings.Builder
	all, want := batches()
	for i, batch := range all {
		bytes, err := proto.Marshal(&adminservice.StreamWorkflowReplicationMessagesResponse{
			Attributes: &adminservice.StreamWorkflowReplicationMessagesResponse_Messages{Messages: batch},
		})
		if err != nil {
			fail("%v", err)
		}
		fmt.Fprintf(&b, "response %s %d %d %d\n", hex.EncodeToString(bytes), batch.ExclusiveHighWatermark, int32(batch.Priority), len(want[i]))
		for _, t := range want[i] {
			fmt.Fprintf(&b, "task %s %s %d\n", orDash(t.namespaceID), orDash(t.workflowID), t.id)
		}
	}
	for _, state := range states() {
		bytes, err := proto.Marshal(&adminservice.StreamWorkflowReplicationMessagesRequest{
			Attributes: &adminservice.StreamWorkflowReplicationMessagesRequest_SyncReplicationState{SyncReplicationState: state},
		})
		if err != nil {
			fail("%v", err)
		}
		high, low := "-", "-"
		if state.HighPriorityState != nil {
			high = strconv.FormatInt(state.HighPriorityState.InclusiveLowWatermark, 10)
		}
		if state.LowPriorityState != nil {
			low = strconv.FormatInt(state.LowPriorityState.InclusiveLowWatermark, 10)
		}
		fmt.Fprintf(&b, "request %s %d %s %s\n", hex.EncodeToString(bytes), state.InclusiveLowWatermark, high, low)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		fail("%v", err)
	}
}

func decodeResponse(text string) *replicationspb.WorkflowReplicationMessages {
	bytes, err := hex.DecodeString(text)
	if err != nil {
		fail("bad hex: %v", err)
	}
	var response adminservice.StreamWorkflowReplicationMessagesResponse
	if err := proto.Unmarshal(bytes, &response); err != nil {
		fail("Temporal cannot decode a written response: %v", err)
	}
	if response.GetMessages() == nil {
		fail("a written response carries no messages")
	}
	return response.GetMessages()
}

func checkRewritten(fields []string) {
	if len(fields) != 5 {
		fail("rewritten: want 4 values, got %d", len(fields)-1)
	}
	original, written := decodeResponse(fields[1]), decodeResponse(fields[2])
	watermark, _ := strconv.ParseInt(fields[3], 10, 64)
	if written.ExclusiveHighWatermark != watermark {
		fail("watermark %d, want %d", written.ExclusiveHighWatermark, watermark)
	}
	if written.Priority != original.Priority || !proto.Equal(written.ExclusiveHighWatermarkTime, original.ExclusiveHighWatermarkTime) {
		fail("the batch's priority or watermark time changed")
	}
	var picks []string
	if fields[4] != "-" {
		picks = strings.Split(fields[4], ",")
	}
	if len(written.ReplicationTasks) != len(picks) {
		fail("%d tasks written, want %d", len(written.ReplicationTasks), len(picks))
	}
	for i, pick := range picks {
		parts := strings.Split(pick, ":")
		index, _ := strconv.Atoi(parts[0])
		id, _ := strconv.ParseInt(parts[1], 10, 64)
		want := proto.Clone(original.ReplicationTasks[index]).(*replicationspb.ReplicationTask)
		want.SourceTaskId = id
		if !proto.Equal(written.ReplicationTasks[i], want) {
			fail("task %d differs from task %d of the original with id %d:\n got  %v\n want %v", i, index, id, written.ReplicationTasks[i], want)
		}
	}
}

func checkState(fields []string) {
	if len(fields) != 5 {
		fail("state: want 4 values, got %d", len(fields)-1)
	}
	bytes, err := hex.DecodeString(fields[1])
	if err != nil {
		fail("bad hex: %v", err)
	}
	var request adminservice.StreamWorkflowReplicationMessagesRequest
	if err := proto.Unmarshal(bytes, &request); err != nil {
		fail("Temporal cannot decode a written request: %v", err)
	}
	state := request.GetSyncReplicationState()
	if state == nil {
		fail("a written request carries no SyncReplicationState")
	}
	if got := strconv.FormatInt(state.InclusiveLowWatermark, 10); got != fields[2] {
		fail("overall ack %s, want %s", got, fields[2])
	}
	for _, c := range []struct {
		s    *replicationspb.ReplicationState
		want string
	}{{state.HighPriorityState, fields[3]}, {state.LowPriorityState, fields[4]}} {
		got := "-"
		if c.s != nil {
			got = strconv.FormatInt(c.s.InclusiveLowWatermark, 10)
		}
		if got != c.want {
			fail("priority ack %s, want %s", got, c.want)
		}
	}
}

func check(path string) {
	file, err := os.Open(path)
	if err != nil {
		fail("%v", err)
	}
	defer file.Close()
	scanner := bufio.NewScanner(file)
	scanner.Buffer(make([]byte, 1<<20), 1<<24)
	lines := 0
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) == 0 {
			continue
		}
		switch fields[0] {
		case "rewritten":
			checkRewritten(fields)
		case "state":
			checkState(fields)
		default:
			fail("unknown line %q", fields[0])
		}
		lines++
	}
	if lines == 0 {
		fail("nothing to check in %s", path)
	}
	fmt.Printf("replmsgs: %d written messages decode as Temporal's and say what was meant\n", lines)
}

func main() {
	out := flag.String("out", "", "write Temporal-encoded messages to this file")
	checkPath := flag.String("check", "", "check the proxy's written messages in this file")
	flag.Parse()
	switch {
	case *out != "":
		write(*out)
	case *checkPath != "":
		check(*checkPath)
	default:
		fmt.Fprintln(os.Stderr, "replmsgs: --out FILE or --check FILE")
		os.Exit(2)
	}
}
