package dispatcher_test

import (
	"cmp"
	"context"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qyshook/qyshook/dispatcher"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/stagetest"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/store"
)

// startAnother runs a second dispatcher on the harness's ledger, stream
// and durable consumer, until the test ends.
func startAnother(h *stagetest.Harness) {
	h.T.Helper()
	cfg := h.Config
	cfg.Registerer = prometheus.NewRegistry()
	d, err := dispatcher.New(cfg)
	if err != nil {
		h.T.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	h.T.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			h.T.Errorf("second dispatcher: %v", err)
		}
	})
}

// TestOlderDetailCommittedLaterIsRefused: two dispatchers share one
// ledger and one stream. One fetches the detail while the contract is
// COMPLETE, and the fake holds that answer; meanwhile the contract is
// being voided and the other dispatcher fetches and commits INVALIDING.
// The older COMPLETE view, committed last, must not step the contract
// back (it did: INVALIDING → COMPLETE is allowed when confirmed, and the
// reconciler then never looked at it again). The two fetches overlap (the
// held one began first and ended last), so the view is refused as stale
// and its event fetched again: the new fetch sees INVALIDING.
func TestOlderDetailCommittedLaterIsRefused(t *testing.T) {
	forEachDB(t, func(t *testing.T, l store.Ledger) {
		h := stagetest.New(t, l)
		id := h.AddContract(lifecycle.Signing)
		h.CompleteInFake(id)
		gate := h.Fake.HoldDetail(id)
		t.Cleanup(gate.Release)
		h.Start()
		startAnother(h)

		h.PublishContract(id, "COMPLETE", lifecycle.Complete)
		<-gate.Held() // one dispatcher holds a COMPLETE view, fetched first

		if err := h.Fake.SetStatus(id, lifecycle.Invaliding); err != nil {
			t.Fatal(err)
		}
		h.PublishContract(id, "INVALIDING", lifecycle.Invaliding)
		stagetest.Eventually(t, "INVALIDING applied by the other dispatcher", func() bool {
			c := h.Contract(id)
			return c != nil && c.Status == lifecycle.Invaliding
		})
		before := h.Contract(id)
		if !before.Confirmed || before.FetchedAt.IsZero() {
			t.Fatalf("INVALIDING row: confirmed=%v fetched_at=%v; want a confirmed row with its fetch time", before.Confirmed, before.FetchedAt)
		}

		gate.Release() // the older view now commits
		stagetest.Eventually(t, "the COMPLETE event recorded", func() bool {
			evs, err := l.Events(context.Background(), "default", id)
			return err == nil && len(evs) == 2
		})
		c := h.Contract(id)
		if c.Status != lifecycle.Invaliding {
			t.Fatalf("status %s after the older COMPLETE view committed; want INVALIDING", c.Status)
		}
		if c.FetchedAt.Before(before.FetchedAt) {
			t.Fatalf("fetched_at moved back from %v to %v", before.FetchedAt, c.FetchedAt)
		}
	})
}

// TestFactsNumberedPerContract: the facts of one contract on QYS_LEDGER
// carry the ledger's per-contract sequence, by which a subscriber orders
// them whatever order they arrive in.
func TestFactsNumberedPerContract(t *testing.T) {
	forEachDB(t, func(t *testing.T, l store.Ledger) {
		h := stagetest.New(t, l)
		id := h.AddContract(lifecycle.Signing)
		h.Start()
		h.PublishContract(id, "SEAL", lifecycle.Signing)
		stagetest.Eventually(t, "SIGNING applied", func() bool { c := h.Contract(id); return c != nil && c.Status == lifecycle.Signing })
		h.CompleteInFake(id)
		h.PublishContract(id, "COMPLETE", lifecycle.Complete)
		var mine []events.Fact
		stagetest.Eventually(t, "the COMPLETE fact published", func() bool {
			mine = mine[:0]
			done := false
			for _, f := range h.Facts() {
				if f.ContractID == id {
					mine = append(mine, f)
					done = done || f.Kind == events.FactContractStatus && f.Status == lifecycle.Complete
				}
			}
			return done
		})
		slices.SortFunc(mine, func(a, b events.Fact) int { return cmp.Compare(a.Seq, b.Seq) })
		var statuses, previous []string
		for i, f := range mine {
			if f.Seq <= 0 || i > 0 && f.Seq == mine[i-1].Seq {
				t.Fatalf("fact %s (%s %s) has seq %d; facts: %+v", f.ID, f.Kind, f.Status, f.Seq, mine)
			}
			if f.Kind == events.FactContractStatus {
				statuses = append(statuses, f.Status)
				previous = append(previous, f.PreviousStatus)
			}
		}
		if want := []string{lifecycle.Signing, lifecycle.Complete}; !slices.Equal(statuses, want) {
			t.Fatalf("status facts by seq: %v, want %v", statuses, want)
		}
		// The store completes each with the status it came from.
		if want := []string{"", lifecycle.Signing}; !slices.Equal(previous, want) {
			t.Fatalf("previous statuses by seq: %q, want %q", previous, want)
		}
		if mine[0].Seq != 1 {
			t.Fatalf("first fact has seq %d, want 1", mine[0].Seq)
		}
	})
}
