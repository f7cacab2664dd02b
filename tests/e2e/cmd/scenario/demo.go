// The demo: the mux topology with one sample workflow run on A and shown on B under the mapped
// names; then it prints where everything is and keeps running until interrupted.
package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
)

func (t *topology) demo(ctx context.Context) error {
	a, b := t.a, t.b
	workerA, err := startWorker(a)
	if err != nil {
		return err
	}
	defer workerA.Stop()
	id := "order-demo"
	if err := startParents(ctx, a, []string{id}, 0, stageAttribute); err != nil {
		return err
	}
	logf("started workflow %s on %s in namespace %s", id, a.name, a.namespace)
	if err := waitParked(ctx, t.o.stepTimeout, a, []string{id}); err != nil {
		return err
	}
	if err := finishOn(ctx, t.o.stepTimeout, a, []string{id}, stageAttribute); err != nil {
		return err
	}
	logf("workflow %s completed on %s", id, a.name)
	got, err := compareAll(ctx, t.o.stepTimeout, a, b, withChildren([]string{id}, true), t.renames)
	if err != nil {
		return err
	}
	logf("replicated: %d workflows, %d events on %s equal to %s's, %d names translated", got.workflows, got.events, b.name, a.name, got.translated)

	for _, s := range []*side{a, b} {
		line, err := describe(ctx, s, id)
		if err != nil {
			return err
		}
		fmt.Println("  " + line)
	}
	pa, pb := t.specs["proxy-a"], t.specs["proxy-b"]
	fmt.Printf(`
The demo is running:
  cluster A  frontend %s   namespace %q     (temporal workflow list --address %s --namespace %s)
  cluster B  frontend %s   namespace %q   (temporal workflow list --address %s --namespace %s)
  proxy A    metrics http://%s/metrics   health http://%s/health (cluster A) http://%s/health (mux to B)
  proxy B    metrics http://%s/metrics   health http://%s/health (cluster B) http://%s/health (mux from A)
  proxy A dials proxy B at %s over mutual TLS (certificates in %s)
  configs, logs and databases: %s
Press Ctrl-C to stop everything.
`,
		a.frontend, a.namespace, a.frontend, a.namespace,
		b.frontend, b.namespace, b.frontend, b.namespace,
		pa.metrics, pa.localHealth, pa.remoteHealth,
		pb.metrics, pb.localHealth, pb.remoteHealth,
		pa.muxAddress, t.o.work+"/certs", t.o.work)
	<-ctx.Done()
	return ctx.Err()
}

// describe is one line about the workflow as cluster s shows it: namespace, status, events and
// search attributes.
func describe(ctx context.Context, s *side, id string) (string, error) {
	resp, err := s.client.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return "", fmt.Errorf("describing %s on %s: %w", id, s.name, err)
	}
	info := resp.GetWorkflowExecutionInfo()
	var attrs []string
	for name, payload := range info.GetSearchAttributes().GetIndexedFields() {
		var value any
		if err := converter.GetDefaultDataConverter().FromPayload(payload, &value); err != nil {
			value = "?"
		}
		attrs = append(attrs, fmt.Sprintf("%s=%v", name, value))
	}
	sort.Strings(attrs)
	hist, err := s.client.WorkflowService().GetWorkflowExecutionHistory(ctx, &workflowservice.GetWorkflowExecutionHistoryRequest{
		Namespace: s.namespace, Execution: info.GetExecution()})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s: namespace %q workflow %s %s, %d events, search attributes %s",
		s.name, s.namespace, id, info.GetStatus(), len(hist.GetHistory().GetEvents()), strings.Join(attrs, " ")), nil
}
