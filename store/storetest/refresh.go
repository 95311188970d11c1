package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/store"
)

// testDocumentRefresh: a document named in RefreshDocuments (the
// operation log) is queued again by each later state of its contract even
// once archived; a fetch claimed before that state cannot be recorded, a
// redelivered or refused change queues nothing, and every content
// recorded stays listed in DocumentVersions.
func testDocumentRefresh(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	const cid, oplog = "c1", "c1.oplog"
	withLog := func(ch store.ContractChange) store.ContractChange {
		ch.ArchiveDocuments = true
		ch.Contract.Documents = []store.Document{{ID: oplog, Title: "operation log"}}
		ch.RefreshDocuments = []string{oplog}
		return ch
	}
	claim := func(owner string) store.Document {
		t.Helper()
		got, err := l.ClaimDocuments(ctx, owner, 10, time.Minute)
		if err != nil || len(got) != 1 || got[0].ID != oplog {
			t.Fatalf("claim by %s = %+v, %v", owner, got, err)
		}
		return got[0]
	}
	sum := func(c byte) string { return strings.Repeat(string(c), 64) }
	archive := func(claimed store.Document, c byte) bool {
		t.Helper()
		d := store.Document{ID: oplog, ContractID: cid, SHA256: sum(c), Size: 10,
			Path:       "documents/sha256/" + sum(c)[:2] + "/" + sum(c) + ".json",
			LeaseOwner: claimed.LeaseOwner, Generation: claimed.Generation}
		changed, err := l.ArchiveDocument(ctx, tenant, d, nil)
		if err != nil {
			t.Fatal(err)
		}
		return changed
	}

	MustApply(t, l, withLog(change("e1", cid, step{status: "COMPLETE", confirmed: true, signed: 3})))
	first := claim("a")
	if !archive(first, 'a') {
		t.Fatal("first archive not recorded")
	}

	// A later state (voiding begun) queues the archived log again.
	MustApply(t, l, withLog(change("e2", cid, step{status: "INVALIDING", confirmed: true, signed: 3})))
	d := docByID(t, l, cid, oplog)
	if d.ArchiveState != store.ArchivePending || d.Generation <= first.Generation || d.SHA256 != sum('a') {
		t.Fatalf("after INVALIDING: %+v, want pending, a later generation, the first content still named", d)
	}
	inFlight := claim("b")

	// The void completes while b's fetch runs (through the batch path):
	// b's older fetch is refused, its lease gone.
	_, errs, err := l.ApplyContracts(ctx, []store.ContractChange{
		withLog(change("e3", cid, step{status: "INVALIDED", confirmed: true, signed: 3}))})
	if err != nil || errs[0] != nil {
		t.Fatalf("apply INVALIDED: %v %v", err, errs)
	}
	if archive(inFlight, 'b') {
		t.Fatal("a fetch claimed before the void was recorded after it")
	}
	if ok, err := l.RenewDocumentLease(ctx, "b", tenant, oplog, time.Minute); err != nil || ok {
		t.Fatalf("renewal of a superseded claim = %v, %v", ok, err)
	}
	if ok, err := l.FailDocument(ctx, store.DocumentFailure{Tenant: tenant, ID: oplog, Owner: "b", Err: "late"}); err != nil || ok {
		t.Fatalf("failure of a superseded claim = %v, %v", ok, err)
	}
	latest := claim("c")
	if !archive(latest, 'c') {
		t.Fatal("the fetch after the void not recorded")
	}
	if d := docByID(t, l, cid, oplog); d.ArchiveState != store.ArchiveArchived || d.SHA256 != sum('c') {
		t.Fatalf("after the void: %+v", d)
	}

	// A redelivery, and the same state seen again, queue nothing.
	if _, err := l.ApplyContract(ctx, withLog(change("e3", cid, step{status: "INVALIDED", confirmed: true, signed: 3}))); !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("redelivery: %v, want ErrDuplicate", err)
	}
	if a := MustApply(t, l, withLog(change("e4", cid, step{status: "INVALIDED", confirmed: true, signed: 3}))); a.Changed {
		t.Fatal("the same state seen again changed the contract")
	}
	if d := docByID(t, l, cid, oplog); d.ArchiveState != store.ArchiveArchived || d.SHA256 != sum('c') {
		t.Fatalf("after a redelivery: %+v, want archived as before", d)
	}

	vs, err := l.DocumentVersions(ctx, tenant, oplog)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].SHA256 != sum('a') || vs[1].SHA256 != sum('c') || vs[0].ContractID != cid ||
		vs[0].Path == vs[1].Path || vs[1].FetchedAt.IsZero() {
		t.Fatalf("versions %+v, want the first and the latest content", vs)
	}
}
