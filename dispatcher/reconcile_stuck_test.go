package dispatcher_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/reconcile"
	"github.com/qyshook/qyshook/store"
)

// The reconciler walks stuck contracts oldest first, in pages, so a page
// limit never starves the oldest ones (it used to take the newest 1,000).
func TestReconcilerWalksStuckContractsOldestFirstInPages(t *testing.T) {
	h := newHarness(t, testdb.Open(t, testdb.SQLite))
	ctx := context.Background()
	var ids []string // oldest first
	for i := range 5 {
		id := h.addContract(qys.StatusSigning)
		h.completeInFake(id)
		updated := time.Now().Add(-time.Duration(10-i) * time.Hour).UTC()
		if _, err := h.ledger.ApplyContract(ctx, store.ContractChange{
			Event:    store.Event{ID: "seed-" + id, Tenant: "default", Kind: events.KindContract, Type: "SEED", ContractID: id},
			Contract: store.Contract{Tenant: "default", ID: id, Status: qys.StatusSigning, Confirmed: true, UpdatedAt: updated},
		}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	r := reconcile.New(reconcile.Options{
		JS: h.nats.JS, Names: h.nats.Names, Ledger: h.ledger, APIs: h.reconcileAPIs(), StuckPage: 2,
	})
	// since in the future: /v2/contract/list finds nothing, only the stuck walk triggers.
	rep, err := r.RunOnce(ctx, time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Triggered != len(ids) {
		t.Fatalf("report %+v, want %d triggers (every stuck contract, across pages)", rep, len(ids))
	}
	var order []string
	for _, m := range h.streamMessages(h.nats.Names.CallbacksStream()) {
		env, err := events.Decode(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		if env.Type == reconcile.TypeReconcile {
			order = append(order, env.ContractID)
		}
	}
	if !slices.Equal(order, ids) {
		t.Fatalf("triggers in order %v, want oldest first %v", order, ids)
	}
}

// A stuck contract already in step with the API is not triggered: the
// reconciler compares the detail with the whole ledger row (signatories
// included), not with a listed row that has none (it used to see every
// signed signatory as progress and trigger for nothing).
func TestReconcilerLeavesInStepContractsAlone(t *testing.T) {
	h := newHarness(t, testdb.Open(t, testdb.SQLite))
	ctx := context.Background()
	id := h.addContract(qys.StatusDraft)
	if err := h.fake.Send(id); err != nil {
		t.Fatal(err)
	}
	if err := h.fake.Sign(id, 0); err != nil {
		t.Fatal(err)
	}
	h.start()
	h.publishContract(id, "SEAL", qys.StatusSigning)
	eventually(t, "applied with a signatory done", func() bool {
		c := h.contract(id)
		return c != nil && c.Status == qys.StatusSigning && c.Confirmed && store.Progress(c) > 0
	})
	h.stop()
	r := reconcile.New(reconcile.Options{
		JS: h.nats.JS, Names: h.nats.Names, Ledger: h.ledger, APIs: h.reconcileAPIs(),
		Now: func() time.Time { return time.Now().Add(2 * time.Hour) }, // stuck by then
	})
	rep, err := r.RunOnce(ctx, time.Now().Add(3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Checked == 0 || rep.Triggered != 0 {
		t.Fatalf("report %+v: the ledger is in step with the API, want it checked and not triggered", rep)
	}
}

// Every signed contract of the window whose documents have no rows is
// triggered, across pages (a fixed limit used to check only the newest
// 1,000).
func TestReconcilerChecksEverySignedContractForDocuments(t *testing.T) {
	h := newHarness(t, testdb.Open(t, testdb.SQLite))
	ctx := context.Background()
	for i := range 5 {
		id := fmt.Sprintf("signed-%d", i)
		if _, err := h.ledger.ApplyContract(ctx, store.ContractChange{
			Event:    store.Event{ID: "seed-" + id, Tenant: "default", Kind: events.KindContract, Type: "SEED", ContractID: id},
			Contract: store.Contract{Tenant: "default", ID: id, Status: qys.StatusComplete, Confirmed: true},
		}); err != nil {
			t.Fatal(err)
		}
	}
	r := reconcile.New(reconcile.Options{
		JS: h.nats.JS, Names: h.nats.Names, Ledger: h.ledger, APIs: h.reconcileAPIs(), StuckPage: 2,
	})
	rep, err := r.RunOnce(ctx, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Triggered != 5 {
		t.Fatalf("report %+v, want the 5 signed contracts without documents triggered", rep)
	}
}
