package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/qyshook/qyshook/store"
)

// signedStatuses are what the dispatcher calls signed (its signed()).
var signedStatuses = []string{"COMPLETE", "INVALIDING", "INVALIDED", "TERMINATING", "TERMINATED"}

// queued applies a COMPLETE change of cid with n documents, flagged for
// archiving, and returns the document ids.
func queued(t *testing.T, l store.Ledger, event, cid string, n int) []string {
	t.Helper()
	ch := change(event, cid, step{status: "COMPLETE", confirmed: true, signed: 3})
	ch.ArchiveDocuments = true
	var ids []string
	for i := range n {
		id := fmt.Sprintf("%s-d%02d", cid, i)
		ids = append(ids, id)
		ch.Contract.Documents = append(ch.Contract.Documents, store.Document{ID: id, Title: "doc " + id})
	}
	MustApply(t, l, ch)
	return ids
}

func docByID(t *testing.T, l store.Ledger, cid, id string) store.Document {
	t.Helper()
	for _, d := range MustContract(t, l, cid).Documents {
		if d.ID == id {
			return d
		}
	}
	t.Fatalf("document %s of %s not found", id, cid)
	return store.Document{}
}

func testArchiveQueue(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	// A signing contract's documents are not queued.
	ch := change("e0", "c0", step{status: "SIGNING", confirmed: true, signed: 1})
	ch.Contract.Documents = []store.Document{{ID: "c0-d", Title: "draft"}}
	MustApply(t, l, ch)
	if d := docByID(t, l, "c0", "c0-d"); d.ArchiveState != store.ArchiveNone {
		t.Fatalf("unsigned contract's document state %q, want none", d.ArchiveState)
	}
	ids := queued(t, l, "e1", "c1", 2)
	for _, id := range ids {
		if d := docByID(t, l, "c1", id); d.ArchiveState != store.ArchivePending || d.NextAttemptAt == nil {
			t.Fatalf("document %+v, want pending and due", d)
		}
	}

	got, err := l.ClaimDocuments(ctx, "a", 10, time.Minute)
	if err != nil || len(got) != 2 {
		t.Fatalf("claim a = %+v, %v; want the two documents", got, err)
	}
	for _, d := range got {
		if d.Tenant != tenant || d.ContractID != "c1" || d.LeaseOwner != "a" || d.LeaseUntil == nil || d.Title == "" {
			t.Fatalf("claimed %+v", d)
		}
	}
	if more, err := l.ClaimDocuments(ctx, "b", 10, time.Minute); err != nil || len(more) != 0 {
		t.Fatalf("claim b under a's lease = %+v, %v; want none", more, err)
	}
	// Only the lease owner records a failure.
	if ok, err := l.FailDocument(ctx, store.DocumentFailure{Tenant: tenant, ID: ids[0], Owner: "b", Err: "x"}); err != nil || ok {
		t.Fatalf("failure by another owner = %v, %v; want ignored", ok, err)
	}
	past := time.Now().Add(-time.Second)
	if ok, err := l.FailDocument(ctx, store.DocumentFailure{Tenant: tenant, ID: ids[0], Owner: "a",
		Err: "server error 503", RetryAt: past}); err != nil || !ok {
		t.Fatalf("transient failure = %v, %v", ok, err)
	}
	d := docByID(t, l, "c1", ids[0])
	if d.ArchiveState != store.ArchivePending || d.Attempts != 1 || d.LastError != "server error 503" || d.LeaseOwner != "" {
		t.Fatalf("after a transient failure: %+v", d)
	}
	// Due again (RetryAt passed): claimed again.
	again, err := l.ClaimDocuments(ctx, "b", 10, time.Minute)
	if err != nil || len(again) != 1 || again[0].ID != ids[0] || again[0].Attempts != 1 {
		t.Fatalf("claim after retry time = %+v, %v", again, err)
	}
	if ok, err := l.FailDocument(ctx, store.DocumentFailure{Tenant: tenant, ID: ids[0], Owner: "b",
		Err: "document not found", Permanent: true}); err != nil || !ok {
		t.Fatalf("permanent failure = %v, %v", ok, err)
	}
	d = docByID(t, l, "c1", ids[0])
	if d.ArchiveState != store.ArchiveFailed || d.Attempts != 2 || d.LastError != "document not found" {
		t.Fatalf("after a permanent failure: %+v", d)
	}
	// The contract stays as committed.
	if c := MustContract(t, l, "c1"); c.Status != "COMPLETE" {
		t.Fatalf("contract status %s after a document failure", c.Status)
	}
	// Success of the other document, with its fact.
	doc := store.Document{ID: ids[1], ContractID: "c1", SHA256: "ab12", Size: 9, Path: "documents/sha256/ab/ab12.pdf"}
	fact := []store.Fact{{ID: "doc-fact", Subject: "qys.ledger.default.documents.archived", Tenant: tenant, ContractID: "c1"}}
	if changed, err := l.ArchiveDocument(ctx, tenant, doc, fact); err != nil || !changed {
		t.Fatalf("archive = %v, %v", changed, err)
	}
	d = docByID(t, l, "c1", ids[1])
	if d.ArchiveState != store.ArchiveArchived || d.SHA256 != "ab12" || d.LeaseOwner != "" || d.LeaseUntil != nil {
		t.Fatalf("after success: %+v", d)
	}
	// A late success of another archiver (its lease expired) changes
	// nothing once the row is archived.
	late := doc
	late.SHA256, late.Path, late.LeaseOwner = "cd34", "documents/sha256/cd/cd34.pdf", "a"
	if changed, err := l.ArchiveDocument(ctx, tenant, late, nil); err != nil || changed {
		t.Fatalf("late archive = %v, %v; want ignored", changed, err)
	}
	if d := docByID(t, l, "c1", ids[1]); d.SHA256 != "ab12" {
		t.Fatalf("late archive overwrote the row: %+v", d)
	}
	// A late failure by the old owner does not undo the success.
	if ok, err := l.FailDocument(ctx, store.DocumentFailure{Tenant: tenant, ID: ids[1], Owner: "a", Err: "late"}); err != nil || ok {
		t.Fatalf("late failure = %v, %v; want ignored", ok, err)
	}
	if n, err := l.ClaimDocuments(ctx, "a", 10, time.Minute); err != nil || len(n) != 0 {
		t.Fatalf("claim with nothing due = %+v, %v", n, err)
	}

	counts, err := l.DocumentCounts(ctx)
	if err != nil || counts[store.ArchiveFailed] != 1 || counts[store.ArchiveArchived] != 1 || counts[store.ArchiveNone] != 1 {
		t.Fatalf("counts = %v, %v", counts, err)
	}
	queue, err := l.DocumentCounts(ctx, store.ArchivePending, store.ArchiveFailed)
	if err != nil || len(queue) != 1 || queue[store.ArchiveFailed] != 1 {
		t.Fatalf("queue counts = %v, %v; want only failed: 1", queue, err)
	}
	failed, err := l.Documents(ctx, store.DocumentFilter{Tenant: tenant, States: []string{store.ArchiveFailed}})
	if err != nil || len(failed) != 1 || failed[0].ID != ids[0] || failed[0].LastError == "" || failed[0].Tenant != tenant {
		t.Fatalf("failed documents = %+v, %v", failed, err)
	}

	// Requeue: a failure older than the cut and a never-queued document
	// of a signed contract go back to pending; a recent failure does not.
	if n, err := l.RequeueDocuments(ctx, tenant, signedStatuses, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("requeue of a recent failure = %d, %v", n, err)
	}
	if n, err := l.RequeueDocuments(ctx, tenant, signedStatuses, time.Now().Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("requeue = %d, %v; want 1", n, err)
	}
	if d := docByID(t, l, "c1", ids[0]); d.ArchiveState != store.ArchivePending || d.Attempts != 0 {
		t.Fatalf("requeued %+v", d)
	}
	if d := docByID(t, l, "c0", "c0-d"); d.ArchiveState != store.ArchiveNone {
		t.Fatalf("unsigned contract's document requeued: %+v", d)
	}
	// A signed contract committed without the flag (as before migration
	// 0004) is queued by RequeueDocuments.
	ch = change("e9", "c9", step{status: "COMPLETE", confirmed: true, signed: 3})
	ch.Contract.Documents = []store.Document{{ID: "c9-d"}}
	MustApply(t, l, ch)
	if n, err := l.RequeueDocuments(ctx, tenant, signedStatuses, time.Time{}); err != nil || n != 1 {
		t.Fatalf("requeue of a never-queued document = %d, %v", n, err)
	}
}

func testArchiveLeaseExpiry(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	ids := queued(t, l, "e1", "c1", 1)
	got, err := l.ClaimDocuments(ctx, "a", 1, time.Millisecond)
	if err != nil || len(got) != 1 {
		t.Fatalf("claim = %+v, %v", got, err)
	}
	// a's lease runs out (a crashed): b claims the row.
	var again []store.Document
	for range 500 {
		if again, err = l.ClaimDocuments(ctx, "b", 1, time.Minute); err != nil || len(again) > 0 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err != nil || len(again) != 1 || again[0].ID != ids[0] || again[0].LeaseOwner != "b" {
		t.Fatalf("claim after the lease expired = %+v, %v", again, err)
	}
	if ok, _ := l.FailDocument(ctx, store.DocumentFailure{Tenant: tenant, ID: ids[0], Owner: "a", Err: "late"}); ok {
		t.Fatal("failure by the owner of an expired lease recorded")
	}
	// Only the current owner renews.
	if ok, err := l.RenewDocumentLease(ctx, "a", tenant, ids[0], time.Minute); err != nil || ok {
		t.Fatalf("renewal by the old owner = %v, %v", ok, err)
	}
	if ok, err := l.RenewDocumentLease(ctx, "b", tenant, ids[0], time.Hour); err != nil || !ok {
		t.Fatalf("renewal by the owner = %v, %v", ok, err)
	}
	if d := docByID(t, l, "c1", ids[0]); d.LeaseUntil == nil || time.Until(*d.LeaseUntil) < 30*time.Minute {
		t.Fatalf("lease after renewal: %+v", d.LeaseUntil)
	}
}

func testConcurrentClaims(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	ids := queued(t, l, "e1", "c1", 20)
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		owner := fmt.Sprintf("w%d", w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := l.ClaimDocuments(ctx, owner, 3, time.Minute)
				if store.IsTransient(err) {
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, d := range got {
					if prev, dup := seen[d.ID]; dup {
						errs <- fmt.Errorf("document %s claimed by %s and %s", d.ID, prev, owner)
					}
					seen[d.ID] = owner
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != len(ids) {
		t.Fatalf("%d of %d documents claimed", len(seen), len(ids))
	}
}

// testRequeueWhileApplying: RequeueDocuments and ApplyContracts batches
// over the same contracts, concurrently, round after round. A batch locks
// each contract and then its documents, in (tenant, contract id) order;
// a requeue that locked the documents in scan order could hold one a
// batch needs while waiting for one the batch holds: a deadlock on
// PostgreSQL. No call may fail.
func testRequeueWhileApplying(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	const contracts, docs, rounds = 8, 4, 150
	batch := func(r int, side string) []store.ContractChange {
		var chs []store.ContractChange
		for k := range contracts {
			cid := fmt.Sprintf("rq%d", k)
			ch := change(fmt.Sprintf("rq-%d-%s-%d", r, side, k), cid, step{status: "COMPLETE", confirmed: true, signed: 3,
				detail: fmt.Sprintf(`{"round":%d,"side":%q}`, r, side)})
			ch.ArchiveDocuments = true
			for i := range docs {
				id := fmt.Sprintf("%s-d%d", cid, i)
				ch.Contract.Documents = append(ch.Contract.Documents, store.Document{ID: id, Title: fmt.Sprintf("doc %s r%d", id, r)})
			}
			chs = append(chs, ch)
		}
		return chs
	}
	for r := range rounds {
		// Every document queued, then failed: what a requeue takes.
		if _, _, err := l.ApplyContracts(ctx, batch(r, "setup")); err != nil {
			t.Fatalf("round %d setup: %v", r, err)
		}
		claimed, err := l.ClaimDocuments(ctx, "rq-owner", contracts*docs, time.Minute)
		if err != nil || len(claimed) != contracts*docs {
			t.Fatalf("round %d: claimed %d of %d, %v", r, len(claimed), contracts*docs, err)
		}
		for _, d := range claimed {
			if _, err := l.FailDocument(ctx, store.DocumentFailure{Tenant: d.Tenant, ID: d.ID, Owner: "rq-owner",
				Err: "gone", Permanent: true}); err != nil {
				t.Fatalf("round %d: fail %s: %v", r, d.ID, err)
			}
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			if _, err := l.RequeueDocuments(ctx, tenant, signedStatuses, time.Now().Add(time.Hour)); err != nil {
				t.Errorf("round %d requeue: %v (transient=%v)", r, err, store.IsTransient(err))
			}
		})
		wg.Go(func() {
			if _, errs, err := l.ApplyContracts(ctx, batch(r, "apply")); err != nil {
				t.Errorf("round %d batch: %v (transient=%v)", r, err, store.IsTransient(err))
			} else {
				for i, e := range errs {
					if e != nil {
						t.Errorf("round %d batch change %d: %v", r, i, e)
					}
				}
			}
		})
		wg.Wait()
		if t.Failed() {
			return
		}
		// Both queue the failed documents: every one is pending again.
		pending, err := l.Documents(ctx, store.DocumentFilter{Tenant: tenant, States: []string{store.ArchivePending}})
		if err != nil || len(pending) != contracts*docs {
			t.Fatalf("round %d: %d pending documents, %v; want %d", r, len(pending), err, contracts*docs)
		}
	}
}
