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
	start := func(i int) error {
		if err := startParents(ctx, a, batches[i], indexOf(batches, i), stageAttribute); err != nil {
			return err
		}
		logf("started %d parent workflows on %s", len(batches[i]), a.name)
		return nil
	}
	cut := func(which int) (int, error) {
		_, before := t.relay.counts()
		logf("fault %d: cut %d mux connection(s)", which, t.relay.sever())
		return before, nil
	}

	// Fault 1: cut the connection while the first batch runs, start the second batch at once.
	if err := start(0); err != nil {
		return err
	}
	time.Sleep(2 * time.Second) // let the batch get going (children, signals)
	before, _ := cut(1)
	if err := start(1); err != nil {
		return err
	}
	if err := t.waitReconnected(ctx, before); err != nil {
		return fmt.Errorf("after fault 1: %w", err)
	}
	// Fault 2: cut it again while the second batch runs.
	time.Sleep(2 * time.Second)
	before, _ = cut(2)
	if err := t.waitReconnected(ctx, before); err != nil {
		return fmt.Errorf("after fault 2: %w", err)
	}
	// Fault 3: proxy B goes down; the third batch runs on A meanwhile, and B cannot have it.
	logf("fault 3: stopping proxy B")
	if err := t.stopProxy("proxy-b"); err != nil {
		return err
	}
	if err := start(2); err != nil {
		return err
	}
	if err := waitParked(ctx, t.o.stepTimeout, a, batches[2]); err != nil {
		return err
	}
	for _, id := range batches[2] {
		if events, err := history(ctx, b, id); err == nil {
			return fmt.Errorf("fault 3 had no effect: %s has %d events on %s while proxy B is down", id, len(events), b.name)
		}
	}
	logf("while proxy B is down, %s has none of the %d workflows of the third batch", b.name, len(batches[2]))
	_, before = t.relay.counts()
	if err := t.startProxy("proxy-b"); err != nil {
		return err
	}
	if err := t.procs["proxy-b"].waitReady(t.o.readyTimeout); err != nil {
		return err
	}
	if err := t.waitReconnected(ctx, before); err != nil {
		return fmt.Errorf("after restarting proxy B: %w", err)
	}
	lastFault := time.Now()
	logf("proxy B is back; B must converge within %s", t.o.convergeBound)

	all := parentIDs("order", 0, n)
	if err := waitParked(ctx, t.o.stepTimeout, a, all); err != nil {
		return err
	}
	logf("all %d parents parked on %s", n, a.name)
	bounded, cancel := context.WithDeadline(ctx, lastFault.Add(t.o.convergeBound))
	defer cancel()
	got, err := compareAll(bounded, t.o.convergeBound, a, b, withChildren(all, false), t.renames)
	if err != nil {
		return fmt.Errorf("B did not converge within %s of proxy B's restart: %w", t.o.convergeBound, err)
	}
	// Visibility on B lists every parent and child: nothing went missing.
	if err := countVisible(bounded, t.o.convergeBound, b, "", int64(2*n)); err != nil {
		return fmt.Errorf("B's visibility within %s of proxy B's restart: %w", t.o.convergeBound, err)
	}
	logf("B converged %s after proxy B's restart: %d workflows, %d events equal to A's, %d names translated",
		time.Since(lastFault).Round(100*time.Millisecond), got.workflows, got.events, got.translated)
	if err := checkEndpoints(ctx, t); err != nil {
		return err
	}
	return t.checkAlive()
}

// indexOf is the index of the first workflow of batch i.
func indexOf(batches [][]string, i int) int {
	first := 0
	for _, b := range batches[:i] {
		first += len(b)
	}
	return first
}
