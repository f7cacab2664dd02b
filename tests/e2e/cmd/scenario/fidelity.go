// The fidelity mode: the TCP topology with proxy A renaming orders <-> orders-b (and ghost <->
// ghost-b, a namespace cluster A does not have) under an ACL written in both spellings. Before the
// replication check of the tcp mode it checks, against the real servers, that every name a side
// sees through the proxies is its own: errors (message and details) and namespace lists, and that
// from B's side A's local names do not exist.
package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// A mapping of proxy A whose local name cluster A does not have.
const (
	ghostA = "ghost"
	ghostB = "ghost-b"
)

// fidelitySpecs gives proxy A the second mapping and an ACL: orders written as B sees it, ghost as A
// does; the replication allowlist of the acl mode.
func fidelitySpecs(a *proxySpec) {
	a.namespaces = append(a.namespaces, fieldPair{ghostA, ghostB})
	a.acl = true
	a.allowedNamespaces = []string{namespaceB, ghostA}
}

func (t *topology) fidelity(ctx context.Context) error {
	if err := checkFidelity(ctx, t); err != nil {
		return err
	}
	if err := t.replicate(ctx); err != nil {
		return err
	}
	// Replication itself, failover included, never named a namespace by the other side's name: the
	// only NOT_FOUND refusal of proxy A's messages is the one checkFidelity provoked by a body
	// (the refusal by the routing header is not a message's).
	for name, want := range map[string]float64{"proxy-a": 1, "proxy-b": 0} {
		code, body, err := httpGet("http://" + t.specs[name].metrics + "/metrics")
		if err != nil || code != 200 {
			return fmt.Errorf("%s /metrics: status %d, %v", name, code, err)
		}
		if got := counter(body, "s2s_proxy_translation_errors_total", `reason="not_found"`); got != want {
			return fmt.Errorf("%s refused %v messages naming the other side's name for a namespace, want %v", name, got, want)
		}
	}
	logf("replication and failover through the renaming proxy needed no local name from the remote side")
	return nil
}

// wholeWord matches name as a word of a status message: not inside another name.
func wholeWord(name string) *regexp.Regexp {
	return regexp.MustCompile(`(^|[^A-Za-z0-9._-])` + regexp.QuoteMeta(name) + `($|[^A-Za-z0-9_-]|\.($|[^A-Za-z0-9._-]))`)
}

// expectNamespaceError checks that err is the Temporal error want (by its details) naming ns, and that
// its message names ns and never foreign, the other side's name for it.
func expectNamespaceError(what string, err error, code codes.Code, ns, foreign string) error {
	st, _ := status.FromError(err)
	if st.Code() != code {
		return fmt.Errorf("%s: want %s, got %v", what, code, err)
	}
	if !wholeWord(ns).MatchString(st.Message()) || wholeWord(foreign).MatchString(st.Message()) {
		return fmt.Errorf("%s: the message %q should name %q and not %q", what, st.Message(), ns, foreign)
	}
	var named string
	switch e := serviceerror.FromStatus(st).(type) {
	case *serviceerror.NamespaceNotFound:
		named = e.Namespace
	case *serviceerror.NamespaceNotActive:
		named = e.Namespace
	default:
		return fmt.Errorf("%s: the details hold no namespace failure (%T: %v)", what, e, e)
	}
	if named != ns {
		return fmt.Errorf("%s: the details name %q, want %q", what, named, ns)
	}
	logf("%s: %s %q, details name %q", what, st.Code(), st.Message(), named)
	return nil
}

func checkFidelity(ctx context.Context, t *topology) error {
	// B's side of A: through proxy B's outbound port, as cluster B reaches cluster A.
	fromB, err := grpc.NewClient(t.b.outbound, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer fromB.Close()
	// A's side of B: through proxy A's outbound port.
	fromA, err := grpc.NewClient(t.a.outbound, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer fromA.Close()
	onA := workflowservice.NewWorkflowServiceClient(fromB)
	onB := workflowservice.NewWorkflowServiceClient(fromA)
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	// As the Go SDK does, the routing header names the request's namespace.
	routed := func(ns string) context.Context {
		return metadata.AppendToOutgoingContext(cctx, "temporal-namespace", ns)
	}

	// Errors of the real server name only the caller's names: a mapped namespace A lacks, seen from B.
	_, err = onA.DescribeNamespace(routed(ghostB), &workflowservice.DescribeNamespaceRequest{Namespace: ghostB})
	if err := expectNamespaceError("from B, DescribeNamespace "+ghostB, err, codes.NotFound, ghostB, ghostA); err != nil {
		return err
	}
	// A standby cluster refuses to start a workflow: B is standby for orders-b until the failover.
	_, err = onB.StartWorkflowExecution(routed(namespaceA), &workflowservice.StartWorkflowExecutionRequest{
		Namespace:    namespaceA,
		WorkflowId:   "fidelity-standby",
		WorkflowType: &commonpb.WorkflowType{Name: "ParentWorkflow"},
		TaskQueue:    &taskqueuepb.TaskQueue{Name: taskQueue},
		RequestId:    "fidelity-standby-1",
	})
	if err := expectNamespaceError("from A, StartWorkflowExecution on standby "+t.b.name, err,
		codes.FailedPrecondition, namespaceA, namespaceB); err != nil {
		return err
	}

	// From B, A's local names do not exist; B's names work.
	_, err = onA.DescribeNamespace(cctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespaceA})
	if err := expectNamespaceError("from B, DescribeNamespace "+namespaceA+" (A's local name)", err, codes.NotFound,
		namespaceA, namespaceB); err != nil {
		return err
	}
	_, err = onA.DescribeNamespace(routed(namespaceA), &workflowservice.DescribeNamespaceRequest{Namespace: namespaceB})
	if err := expectNamespaceError("from B, DescribeNamespace "+namespaceB+" routed to "+namespaceA, err,
		codes.NotFound, namespaceA, namespaceB); err != nil {
		return err
	}
	described, err := onA.DescribeNamespace(routed(namespaceB), &workflowservice.DescribeNamespaceRequest{Namespace: namespaceB})
	if err != nil {
		return fmt.Errorf("from B, DescribeNamespace %s: %w", namespaceB, err)
	}
	if got := described.GetNamespaceInfo().GetName(); got != namespaceB {
		return fmt.Errorf("from B, DescribeNamespace %s answered for %q", namespaceB, got)
	}
	// The ACL refuses naming the namespace as the caller did.
	_, err = onA.DescribeNamespace(cctx, &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
	if st, _ := status.FromError(err); st.Code() != codes.PermissionDenied || !wholeWord("'default'").MatchString(st.Message()) {
		return fmt.Errorf("from B, DescribeNamespace default (not allowed): want PERMISSION_DENIED naming 'default', got %v", err)
	}

	// ListNamespaces from B lists only the allowed namespaces, by B's names.
	var listed []string
	var token []byte
	for page := 0; page < 100; page++ {
		resp, err := onA.ListNamespaces(cctx, &workflowservice.ListNamespacesRequest{PageSize: 10, NextPageToken: token})
		if err != nil {
			return fmt.Errorf("from B, ListNamespaces: %w", err)
		}
		for _, ns := range resp.GetNamespaces() {
			listed = append(listed, ns.GetNamespaceInfo().GetName())
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	if !slices.Equal(listed, []string{namespaceB}) {
		return fmt.Errorf("from B, ListNamespaces lists %q; want only %q", listed, namespaceB)
	}
	// A's own view, directly, still has its other namespaces.
	all, err := t.a.client.WorkflowService().ListNamespaces(cctx, &workflowservice.ListNamespacesRequest{PageSize: 100})
	if err != nil {
		return fmt.Errorf("ListNamespaces on %s: %w", t.a.name, err)
	}
	if len(all.GetNamespaces()) < 2 {
		return errors.New("cluster A lists fewer than two namespaces: the ListNamespaces check proves nothing")
	}
	logf("from B, ListNamespaces lists %q of the %d namespaces of %s", listed, len(all.GetNamespaces()), t.a.name)
	return nil
}
