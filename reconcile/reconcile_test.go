package reconcile_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/stagetest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/reconcile"
	"github.com/qyshook/qyshook/store"
)

func TestReconcilerFindsUndeliveredChanges(t *testing.T) {
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	// Two contracts whose callbacks never arrived: one completed, one rejected.
	done := h.AddContract(lifecycle.Signing)
	h.CompleteInFake(done)
	rejected := h.AddContract(lifecycle.Signing)
	if err := h.Fake.SetStatus(rejected, lifecycle.Rejected); err != nil {
		t.Fatal(err)
	}
	h.Start()
	r := mustReconciler(t, reconcile.Options{
		JS: h.NATS.JS, Names: h.NATS.Names, Ledger: h.Ledger, APIs: h.ReconcileAPIs(),
	})
	rep, err := r.RunOnce(context.Background(), time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Triggered != 2 {
		t.Fatalf("report %+v, want 2 triggers", rep)
	}
	stagetest.Eventually(t, "ledger matches the API", func() bool {
		a, b := h.Contract(done), h.Contract(rejected)
		return a != nil && b != nil && a.Status == lifecycle.Complete && b.Status == lifecycle.Rejected &&
			a.Documents[0].SHA256 != "" && a.Documents[1].SHA256 != ""
	})
	evs, _ := h.Ledger.Events(context.Background(), "default", done)
	if len(evs) != 1 || evs[0].Source != events.SourceReconcile || evs[0].Type != reconcile.TypeReconcile {
		t.Fatalf("event history does not mark the reconciliation: %+v", evs)
	}
	// A second pass finds nothing new.
	rep, err = r.RunOnce(context.Background(), time.Now().Add(-time.Hour))
	if err != nil || rep.Triggered != 0 {
		t.Fatalf("second pass: %+v, %v", rep, err)
	}
}

// TestReconcilerRetriesFailedDocumentsDaily: downloads that keep failing
// end the document failed (the callback is acked, nothing dead-lettered);
// the reconciler queues it again once the failure is a day old, and not
// again the same day.
func TestReconcilerRetriesFailedDocumentsDaily(t *testing.T) {
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	h.Archive.MaxAttempts = 2
	id := h.AddContract(lifecycle.Signing)
	h.CompleteInFake(id)
	h.Fake.TruncateNextDownloads(1000) // every download fails
	h.PublishContract(id, "COMPLETE", lifecycle.Complete)
	h.Start()
	stagetest.Eventually(t, "both documents failed after their attempts", func() bool {
		c := h.Contract(id)
		return c != nil && len(c.Documents) == 2 && c.Documents[0].ArchiveState == store.ArchiveFailed &&
			c.Documents[1].ArchiveState == store.ArchiveFailed
	})
	c := h.Contract(id)
	if c.Status != lifecycle.Complete || !strings.Contains(c.Documents[0].LastError, "attempts") {
		t.Fatalf("want COMPLETE with failed documents and their reason, got %s %+v", c.Status, c.Documents)
	}
	if dl, _ := h.Ledger.DeadLetters(context.Background(), 10); len(dl) != 0 {
		t.Fatalf("failed downloads dead-lettered the contract: %+v", dl)
	}
	h.Fake.TruncateNextDownloads(0) // the platform serves the files again
	newReconciler := func(now time.Time) *reconcile.Reconciler {
		return mustReconciler(t, reconcile.Options{JS: h.NATS.JS, Names: h.NATS.Names,
			Ledger: h.Ledger, APIs: h.ReconcileAPIs(), Now: func() time.Time { return now }})
	}
	// The same day, the failure is left alone.
	if rep, err := newReconciler(time.Now()).RunOnce(context.Background(), time.Now().Add(-time.Hour)); err != nil || rep.Requeued != 0 {
		t.Fatalf("pass the day of the failure: %+v, %v", rep, err)
	}
	tomorrow := time.Now().Add(25 * time.Hour)
	rep, err := newReconciler(tomorrow).RunOnce(context.Background(), time.Now().Add(-time.Hour))
	if err != nil || rep.Requeued != 2 {
		t.Fatalf("reconcile a day later: %+v, %v", rep, err)
	}
	stagetest.Eventually(t, "documents archived after the requeue", func() bool {
		c := h.Contract(id)
		return c.Documents[0].SHA256 != "" && c.Documents[1].SHA256 != ""
	})
	// Another pass finds nothing to requeue.
	if rep, err := newReconciler(tomorrow).RunOnce(context.Background(), time.Now().Add(-time.Hour)); err != nil || rep.Requeued != 0 || rep.Triggered != 0 {
		t.Fatalf("second pass: %+v, %v", rep, err)
	}
}

// The reconciler walks stuck contracts oldest first, in pages, so a page
// limit never starves the oldest ones (it used to take the newest 1,000).
func TestReconcilerWalksStuckContractsOldestFirstInPages(t *testing.T) {
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	ctx := context.Background()
	var ids []string // oldest first
	for i := range 5 {
		id := h.AddContract(lifecycle.Signing)
		h.CompleteInFake(id)
		updated := time.Now().Add(-time.Duration(10-i) * time.Hour).UTC()
		if _, err := h.Ledger.ApplyContract(ctx, store.ContractChange{
			Event:    store.Event{ID: "seed-" + id, Tenant: "default", Kind: events.KindContract, Type: "SEED", ContractID: id},
			Contract: store.Contract{Tenant: "default", ID: id, Status: lifecycle.Signing, Confirmed: true, UpdatedAt: updated},
		}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	r := mustReconciler(t, reconcile.Options{
		JS: h.NATS.JS, Names: h.NATS.Names, Ledger: h.Ledger, APIs: h.ReconcileAPIs(), StuckPage: 2,
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
	for _, m := range h.StreamMessages(h.NATS.Names.CallbacksStream()) {
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
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	ctx := context.Background()
	id := h.AddContract(lifecycle.Draft)
	if err := h.Fake.Send(id); err != nil {
		t.Fatal(err)
	}
	if err := h.Fake.Sign(id, 0); err != nil {
		t.Fatal(err)
	}
	h.Start()
	h.PublishContract(id, "SEAL", lifecycle.Signing)
	stagetest.Eventually(t, "applied with a signatory done", func() bool {
		c := h.Contract(id)
		return c != nil && c.Status == lifecycle.Signing && c.Confirmed && store.Progress(c) > 0
	})
	h.Stop()
	r := mustReconciler(t, reconcile.Options{
		JS: h.NATS.JS, Names: h.NATS.Names, Ledger: h.Ledger, APIs: h.ReconcileAPIs(),
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
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	ctx := context.Background()
	for i := range 5 {
		id := fmt.Sprintf("signed-%d", i)
		if _, err := h.Ledger.ApplyContract(ctx, store.ContractChange{
			Event:    store.Event{ID: "seed-" + id, Tenant: "default", Kind: events.KindContract, Type: "SEED", ContractID: id},
			Contract: store.Contract{Tenant: "default", ID: id, Status: lifecycle.Complete, Confirmed: true},
		}); err != nil {
			t.Fatal(err)
		}
	}
	r := mustReconciler(t, reconcile.Options{
		JS: h.NATS.JS, Names: h.NATS.Names, Ledger: h.Ledger, APIs: h.ReconcileAPIs(), StuckPage: 2,
	})
	rep, err := r.RunOnce(ctx, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Triggered != 5 {
		t.Fatalf("report %+v, want the 5 signed contracts without documents triggered", rep)
	}
}

// mustReconciler is reconcile.New for tests.
func mustReconciler(t testing.TB, o reconcile.Options) *reconcile.Reconciler {
	t.Helper()
	r, err := reconcile.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
