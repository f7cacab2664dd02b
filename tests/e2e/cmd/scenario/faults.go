// The faults scenario: while workflows run on A, the mux connection between the proxies is cut
// twice and proxy B is restarted once; afterwards B must converge to A, every workflow and every
// event, within the stated bound.
package main

import (
	"context"
	"fmt"
	"time"
)

// waitReconnected waits until the relay carries a live connection opened after `after`
// connections had been relayed: proxy A has dialled again.
func (t *topology) waitReconnected(ctx context.Context, after int) error {
	return eventually(ctx, t.o.stepTimeout, "proxy A to dial proxy B again through the relay", func(context.Context) error {
		live, total := t.relay.counts()
		if live == 0 || total <= after {
			return fmt.Errorf("%d live connections, %d relayed in all", live, total)
		}
		return nil
	})
}

func (t *topology) faults(ctx context.Context) error {
	a, b := t.a, t.b
	workerA, err := startWorker(a)
	if err != nil {
		return err
	}
	defer workerA.Stop()

	n := t.o.workflows
	batches := [][]string{parentIDs("order", 0, n/3), parentIDs("order", n/3, 2*n/3), parentIDs("order", 2*n/3, n)}
	faults := []struct {
		what string
		do   func() error
	}{
		{"cut the mux connection", func() error {
			_, before := t.relay.counts()
			logf("fault 1: cut %d mux connection(s)", t.relay.sever())
			return t.waitReconnected(ctx, before)
		}},
		{"cut the mux connection again", func() error {
			_, before := t.relay.counts()
			logf("fault 2: cut %d mux connection(s)", t.relay.sever())
			return t.waitReconnected(ctx, before)
		}},
		{"restart proxy B", func() error {
			_, before := t.relay.counts()
			logf("fault 3: restarting proxy B")
			if err := t.restartProxy("proxy-b"); err != nil {
				return err
			}
			return t.waitReconnected(ctx, before)
		}},
	}
	index := 0
	for i, batch := range batches {
		if err := startParents(ctx, a, batch, index, stageAttribute); err != nil {
			return err
		}
		index += len(batch)
		logf("started %d parent workflows on %s", len(batch), a.name)
		// Let the batch get going (children, signals) so that the fault hits workflows in flight.
		time.Sleep(2 * time.Second)
		if err := faults[i].do(); err != nil {
			return fmt.Errorf("%s: %w", faults[i].what, err)
		}
	}
	lastFault := time.Now()
	logf("all faults done; B must converge within %s", t.o.convergeBound)

	all := parentIDs("order", 0, n)
	if err := waitParked(ctx, t.o.stepTimeout, a, all); err != nil {
		return err
	}
	logf("all %d parents parked on %s", n, a.name)
	bounded, cancel := context.WithDeadline(ctx, lastFault.Add(t.o.convergeBound))
	defer cancel()
	got, err := compareAll(bounded, t.o.convergeBound, a, b, withChildren(all, false), t.renames)
	if err != nil {
		return fmt.Errorf("B did not converge within %s of the last fault: %w", t.o.convergeBound, err)
	}
	// Visibility on B lists every parent and child: nothing went missing.
	if err := countVisible(bounded, t.o.convergeBound, b, "", int64(2*n)); err != nil {
		return fmt.Errorf("B's visibility within %s of the last fault: %w", t.o.convergeBound, err)
	}
	logf("B converged %s after the last fault: %d workflows, %d events equal to A's, %d names translated",
		time.Since(lastFault).Round(100*time.Millisecond), got.workflows, got.events, got.translated)
	return t.checkAlive()
}
