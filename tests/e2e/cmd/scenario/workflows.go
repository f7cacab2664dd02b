// The workflows the scenarios run: a parent that upserts a search attribute, starts children,
// is signalled by one of them and waits for a signal from the scenario; history with signals,
// child workflows and search attributes, where namespace names and attribute names occur.
package main

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Search attributes the scenarios add to the namespace (Keyword). With search attribute
// translation on, the proxy swaps their fields, so a value set under one name on cluster A
// shows under the other on cluster B.
const (
	stageAttribute      = "E2EStage"
	stageAttributeOnB   = "E2EStageOnB"
	signalFromChild     = "from-child"
	signalFinish        = "finish"
	parentWorkflowName  = "ParentWorkflow"
	childWorkflowName   = "ChildWorkflow"
	finishedByPrefix    = "finished by "
	firstChildIDSuffix  = "-child1"
	secondChildIDSuffix = "-child2"
)

// ParentInput names the attribute the parent upserts before it is finished.
type ParentInput struct {
	Index     int
	Attribute string
}

// Finish is the payload of the finish signal: who sends it, and the attribute the parent
// upserts afterwards (the name that means the stage attribute where the workflow runs then).
type Finish struct {
	By        string
	Attribute string
}

// ChildInput tells a child whether to signal its parent before it returns.
type ChildInput struct {
	Index        int
	SignalParent bool
}

// ParentWorkflow upserts the stage attribute, starts a child that signals it back, waits for
// that signal and the child's result, upserts again and parks until "finish" (sent wherever
// the namespace is active by then). Then it runs a second child, upserts a last time and
// completes.
func ParentWorkflow(ctx workflow.Context, in ParentInput) (string, error) {
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	stage := temporal.NewSearchAttributeKeyKeyword(in.Attribute)
	if err := workflow.UpsertTypedSearchAttributes(ctx, stage.ValueSet("child-started")); err != nil {
		return "", err
	}
	first := workflow.ExecuteChildWorkflow(
		workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: id + firstChildIDSuffix}),
		childWorkflowName, ChildInput{Index: in.Index, SignalParent: true})

	var fromChild string
	workflow.GetSignalChannel(ctx, signalFromChild).Receive(ctx, &fromChild)
	var firstResult string
	if err := first.Get(ctx, &firstResult); err != nil {
		return "", err
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, stage.ValueSet("waiting")); err != nil {
		return "", err
	}

	var finish Finish
	workflow.GetSignalChannel(ctx, signalFinish).Receive(ctx, &finish)
	if err := workflow.Sleep(ctx, 10*time.Millisecond); err != nil {
		return "", err
	}
	var secondResult string
	err := workflow.ExecuteChildWorkflow(
		workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: id + secondChildIDSuffix}),
		childWorkflowName, ChildInput{Index: in.Index}).Get(ctx, &secondResult)
	if err != nil {
		return "", err
	}
	done := temporal.NewSearchAttributeKeyKeyword(finish.Attribute)
	if err := workflow.UpsertTypedSearchAttributes(ctx, done.ValueSet("done")); err != nil {
		return "", err
	}
	return fmt.Sprintf("parent %d: %s; %s; %s; %s%s", in.Index, fromChild, firstResult, secondResult, finishedByPrefix, finish.By), nil
}

// ChildWorkflow optionally signals its parent (an external-workflow signal) and returns.
func ChildWorkflow(ctx workflow.Context, in ChildInput) (string, error) {
	if in.SignalParent {
		parent := workflow.GetInfo(ctx).ParentWorkflowExecution
		if parent == nil {
			return "", fmt.Errorf("child %d has no parent", in.Index)
		}
		msg := fmt.Sprintf("hello from child %d", in.Index)
		if err := workflow.SignalExternalWorkflow(ctx, parent.ID, "", signalFromChild, msg).Get(ctx, nil); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("child %d done", in.Index), nil
}
