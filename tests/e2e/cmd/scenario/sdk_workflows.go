// The workflows of the sdk mode: a parent that runs an activity, sleeps on a timer, upserts its
// memo, answers a query, starts a child that signals it back (an external signal) and continues
// as new once; the second run ends after one more activity.
package main

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

const (
	sdkParentName   = "SDKParent"
	sdkChildName    = "SDKChild"
	sdkActivityName = "SDKActivity"
	sdkStageQuery   = "stage"
	sdkSignal       = "from-sdk-child"
)

// SDKInput: which run of the chain this is (0, then 1 after continue-as-new).
type SDKInput struct {
	Index int
	Run   int
}

// SDKActivity returns its argument, marked.
func SDKActivity(ctx context.Context, what string) (string, error) {
	return "activity(" + what + ")", nil
}

func SDKParent(ctx workflow.Context, in SDKInput) (string, error) {
	stage := "started"
	if err := workflow.SetQueryHandler(ctx, sdkStageQuery, func() (string, error) { return stage, nil }); err != nil {
		return "", err
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5},
	})
	var first string
	if err := workflow.ExecuteActivity(actx, sdkActivityName, fmt.Sprintf("%d/%d", in.Index, in.Run)).Get(ctx, &first); err != nil {
		return "", err
	}
	if in.Run > 0 {
		return fmt.Sprintf("sdk %d: %s after continue-as-new", in.Index, first), nil
	}
	stage = "timer"
	if err := workflow.Sleep(ctx, 100*time.Millisecond); err != nil {
		return "", err
	}
	if err := workflow.UpsertMemo(ctx, map[string]interface{}{"stage": "child"}); err != nil {
		return "", err
	}
	stage = "child"
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	child := workflow.ExecuteChildWorkflow(
		workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: id + "-child"}), sdkChildName, in.Index)
	var signalled string
	workflow.GetSignalChannel(ctx, sdkSignal).Receive(ctx, &signalled)
	var childResult string
	if err := child.Get(ctx, &childResult); err != nil {
		return "", err
	}
	stage = "continuing"
	return "", workflow.NewContinueAsNewError(ctx, sdkParentName, SDKInput{Index: in.Index, Run: in.Run + 1})
}

// SDKChild signals its parent as an external workflow, then returns.
func SDKChild(ctx workflow.Context, index int) (string, error) {
	parent := workflow.GetInfo(ctx).ParentWorkflowExecution
	if parent == nil {
		return "", fmt.Errorf("sdk child %d has no parent", index)
	}
	if err := workflow.SignalExternalWorkflow(ctx, parent.ID, "", sdkSignal, fmt.Sprintf("child %d", index)).Get(ctx, nil); err != nil {
		return "", err
	}
	return fmt.Sprintf("child %d done", index), nil
}
