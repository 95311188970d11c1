package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/qyshook/qyshook/store"
)

// testConcurrentSameContract applies events for one contract from 8
// goroutines at once: no error may surface (in particular no SQLITE_BUSY),
// each event is recorded once and the highest rank wins.
func testConcurrentSameContract(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	statuses := []string{"DRAFT", "FILLING", "SIGNING", "SIGNING", "COMPLETE", "SIGNING", "FILLING", "DRAFT"}
	const rounds = 4
	var wg sync.WaitGroup
	errs := make(chan error, len(statuses)*rounds)
	for g, st := range statuses {
		wg.Go(func() {
			for r := range rounds {
				signed := r % 3
				if st == "COMPLETE" {
					signed = 3
				}
				ch := change(fmt.Sprintf("g%d-r%d", g, r), "c1", step{status: st, confirmed: true, signed: signed})
				if _, err := l.ApplyContract(ctx, ch); err != nil {
					errs <- fmt.Errorf("%s: %w", ch.Event.ID, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent apply: %v (transient=%v)", err, store.IsTransient(err))
	}
	if c := MustContract(t, l, "c1"); c.Status != "COMPLETE" || len(c.Signatories) != 3 {
		t.Errorf("final = %s with %d signatories, want COMPLETE with 3", c.Status, len(c.Signatories))
	}
	evs, err := l.Events(ctx, tenant, "c1")
	if err != nil || len(evs) != len(statuses)*rounds {
		t.Errorf("events = %d, %v; want %d", len(evs), err, len(statuses)*rounds)
	}
	seen := map[string]bool{}
	for _, e := range evs {
		if seen[e.ID] {
			t.Errorf("event %s recorded twice", e.ID)
		}
		seen[e.ID] = true
	}
}

// testConcurrentDuplicates delivers the same events from several
// goroutines: each applies exactly once, the rest get ErrDuplicate, and
// each fact is written once.
func testConcurrentDuplicates(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	const workers, events = 6, 10
	var mu sync.Mutex
	applied := map[string]int{}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range events {
				cid := fmt.Sprintf("c%d", i%3)
				ch := change(fmt.Sprintf("e%d", i), cid, step{status: "SIGNING", confirmed: true, signed: i % 4})
				_, err := l.ApplyContract(ctx, ch)
				mu.Lock()
				switch {
				case err == nil:
					applied[ch.Event.ID]++
				case !errors.Is(err, store.ErrDuplicate):
					t.Errorf("apply %s: %v", ch.Event.ID, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for i := range events {
		if n := applied[fmt.Sprintf("e%d", i)]; n != 1 {
			t.Errorf("e%d applied %d times, want 1", i, n)
		}
	}
	facts := outboxIDs(t, l)
	seen := map[string]bool{}
	for _, id := range facts {
		if seen[id] {
			t.Errorf("fact %s twice", id)
		}
		seen[id] = true
	}
}
