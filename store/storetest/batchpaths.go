package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/qyshook/qyshook/store"
)

// RunBatchPaths checks that ApplyContracts does on a ledger that applies
// a batch with set-based statements exactly what it does on one that
// applies it one change at a time: the same results and the same ledger
// after each batch (contracts, signatories, documents and their archive
// queue, events, outbox). open returns a fresh, empty ledger, applying
// batches one change at a time when oneByOne; fallbacks reports how many
// batches the set-based ledger handed to the one-at-a-time path, so the
// cases can tell which path they ran.
func RunBatchPaths(t *testing.T, open func(t *testing.T, oneByOne bool) store.Ledger, fallbacks func(store.Ledger) int64) {
	t.Helper()
	t.Run("SetBasedMatchesOneByOne", func(t *testing.T) {
		testBatchPaths(t, open(t, false), open(t, true), fallbacks)
	})
}

// at is a fixed instant n seconds after fetchT0, so both ledgers record
// the same times.
func at(n int) time.Time { return fetchT0.Add(time.Duration(n) * time.Second) }

// fixed gives a change fixed times (event, row, facts), so the two ledgers
// can be compared row for row.
func fixed(ch store.ContractChange, n int) store.ContractChange {
	ch.Event.ReceivedAt, ch.Event.AppliedAt = at(n), at(n)
	ch.Contract.UpdatedAt = at(n)
	facts := slices.Clone(ch.Facts)
	for i := range facts {
		facts[i].CreatedAt = at(n).Add(time.Duration(i) * time.Microsecond)
	}
	ch.Facts = facts
	return ch
}

// inTenant moves a change to another tenant.
func inTenant(ch store.ContractChange, tn string) store.ContractChange {
	ch.Event.Tenant, ch.Contract.Tenant = tn, tn
	return ch
}

func testBatchPaths(t *testing.T, set, one store.Ledger, fallbacks func(store.Ledger) int64) {
	ctx := context.Background()
	both := func(f func(l store.Ledger)) { f(set); f(one) }
	withDocs := func(ch store.ContractChange, docs ...store.Document) store.ContractChange {
		ch.Contract.Documents = docs
		return ch
	}
	done := func(signed int) step {
		return step{status: "COMPLETE", confirmed: true, signed: signed, detail: `{"status":"COMPLETE"}`}
	}
	signing := func(signed int) step {
		return step{status: "SIGNING", confirmed: true, signed: signed, detail: fmt.Sprintf(`{"signed":%d}`, signed)}
	}
	voiding := step{status: "INVALIDING", confirmed: true, signed: 3, detail: `{"status":"INVALIDING"}`}

	// The ledger before: contracts in several states, a document that
	// failed to archive, a contract id in two tenants.
	both(func(l store.Ledger) {
		for _, ch := range []store.ContractChange{
			withDocs(span(fixed(change("s-p1", "p1", signing(0)), 1), 0, 1), store.Document{ID: "p1-d1", Title: "kept"}),
			span(fixed(change("s-p2", "p2", done(3)), 2), 0, 0),
			span(fixed(change("s-p3", "p3", voiding), 3), 1, 6),
			withDocs(fixed(change("s-p4", "p4", signing(2)), 4), store.Document{ID: "p4-d1", Title: "to sign"}),
			fixed(change("s-tw", "tw", signing(0)), 5),
		} {
			MustApply(t, l, ch)
		}
		claimed, err := l.ClaimDocuments(ctx, "setup", 10, time.Minute)
		if err != nil || len(claimed) != 0 {
			t.Fatalf("claim before any queueing: %v, %v", claimed, err)
		}
	})
	var fellBack int64
	apply := func(name string, batch []store.ContractChange, wantFallback bool) {
		t.Helper()
		before := fallbacks(set)
		so, se, serr := set.ApplyContracts(ctx, batch)
		oo, oe, oerr := one.ApplyContracts(ctx, batch)
		if (serr == nil) != (oerr == nil) {
			t.Fatalf("%s: set-based err %v, one by one err %v", name, serr, oerr)
		}
		if got := fallbacks(set) - before; (got > 0) != wantFallback {
			t.Fatalf("%s: %d fallbacks to one change at a time, want fallback %v", name, got, wantFallback)
		}
		fellBack = fallbacks(set)
		if serr == nil {
			for i := range batch {
				if !errors.Is(se[i], store.ErrDuplicate) && se[i] != nil || (se[i] == nil) != (oe[i] == nil) ||
					(se[i] != nil && se[i].Error() != oe[i].Error()) {
					t.Fatalf("%s: change %d (%s): error %v, one by one %v", name, i, batch[i].Event.ID, se[i], oe[i])
				}
				if !reflect.DeepEqual(so[i], oo[i]) {
					t.Fatalf("%s: change %d (%s):\nset-based  %s\none by one %s", name, i, batch[i].Event.ID, appliedString(so[i]), appliedString(oo[i]))
				}
			}
		}
		if s, o := dumpLedger(t, set), dumpLedger(t, one); s != o {
			t.Fatalf("%s: the ledgers differ:\nset-based:\n%s\none by one:\n%s", name, s, o)
		}
	}

	// One batch with every ordinary case, in no particular order: new
	// contracts (one with several changes, one with an id another tenant
	// has too), forward moves, a move refused, a reconfirmation, a stale
	// view, a duplicate event, an event twice in the batch, documents
	// (an empty title keeps the stored one) queued for a signed contract,
	// and facts with and without a contract.
	extra := func(ch store.ContractChange) store.ContractChange {
		ch.Facts = append(ch.Facts,
			store.Fact{ID: "plain-" + ch.Event.ID, Subject: "s", Tenant: ch.Contract.Tenant, ContractID: ch.Contract.ID, Payload: []byte(`{"x":1}`)},
			store.Fact{ID: "loose-" + ch.Event.ID, Subject: "s", Payload: []byte(`not json`)})
		// numbered and completed with the previous status, as the dispatcher's
		ch.Facts[0].AfterPrevious, ch.Facts[0].Tenant, ch.Facts[0].ContractID = true, ch.Contract.Tenant, ch.Contract.ID
		return ch
	}
	signedP4 := withDocs(fixed(change("a-p4", "p4", done(3)), 13), store.Document{ID: "p4-d1"}, store.Document{ID: "p4-d2", Title: "annex"})
	signedP4.ArchiveDocuments = true
	noSigs := fixed(change("a-p1b", "p1", step{status: "SIGNING", confirmed: true, signed: 2, detail: `{"signed":"?"}`}), 14)
	noSigs.Contract.Signatories = nil
	apply("ordinary", []store.ContractChange{
		withDocs(fixed(extra(change("a-n1b", "n1", signing(1))), 11), store.Document{ID: "n1-d1", Title: "first"}),
		inTenant(fixed(change("a-tw2", "tw", signing(1)), 12), "t2"),
		withDocs(fixed(change("a-p1", "p1", signing(1)), 10), store.Document{ID: "p1-d1"}, store.Document{ID: "p1-d2", Title: "new"}),
		signedP4,
		span(fixed(change("a-p2", "p2", done(3)), 15), 7, 8), // reconfirms p2
		span(fixed(change("a-p3", "p3", done(3)), 16), 2, 3), // stale against p3's fetch
		fixed(change("s-p2", "p2", signing(1)), 17),          // applied before
		fixed(extra(change("a-n1a", "n1", step{status: "DRAFT", confirmed: true})), 18),
		fixed(change("a-tw", "tw", signing(2)), 19),
		fixed(change("a-twice", "p1", signing(3)), 20),
		fixed(change("a-twice", "p1", signing(3)), 20),                            // the same event again
		fixed(change("a-back", "n1", step{status: "DRAFT", confirmed: true}), 21), // a move back: refused
		noSigs,
		withDocs(fixed(extra(change("a-n1c", "n1", done(3))), 22), store.Document{ID: "n1-d1"}), // keeps "first"
	}, false)
	if fellBack != 0 {
		t.Fatalf("the ordinary batch fell back")
	}

	// The operation log queued again by later states (RefreshDocuments):
	// two changes of one contract in a batch raise its generation twice,
	// a refused change not at all, on both paths.
	refresh := func(ch store.ContractChange) store.ContractChange {
		ch = withDocs(ch, store.Document{ID: ch.Contract.ID + ".oplog", Title: "operation log"})
		ch.ArchiveDocuments, ch.RefreshDocuments = true, []string{ch.Contract.ID + ".oplog"}
		return ch
	}
	apply("operation log signed", []store.ContractChange{refresh(fixed(change("g-p2", "p2", step{status: "COMPLETE", confirmed: true, signed: 3, detail: `{"g":1}`}), 25))}, false)
	apply("operation log refreshed", []store.ContractChange{
		refresh(fixed(change("g-p2a", "p2", step{status: "INVALIDING", confirmed: true, signed: 3, detail: `{"g":2}`}), 26)),
		refresh(fixed(change("g-p2b", "p2", step{status: "INVALIDED", confirmed: true, signed: 3, detail: `{"g":3}`}), 27)),
		refresh(fixed(change("g-p2c", "p2", step{status: "INVALIDED", confirmed: true, signed: 3, detail: `{"g":3}`}), 28)), // not a change
		refresh(fixed(change("g-n1", "n1", step{status: "DRAFT", confirmed: true}), 29)),                                    // refused: a move back
	}, false)
	if gen := docByID(t, set, "p2", "p2.oplog").Generation; gen != 3 {
		t.Fatalf("operation log generation %d after three committed changes, want 3", gen)
	}

	// Cases the set-based path hands to the other: an event seen again
	// after it was refused as stale, a fact id already in the outbox, a
	// document listed under another contract, documents changed after the
	// archive queue was updated.
	apply("event again after stale", []store.ContractChange{
		span(fixed(change("b-p3", "p3", done(3)), 30), 2, 3),
		span(fixed(change("b-p3", "p3", done(3)), 31), 9, 10),
	}, true)
	repeat := fixed(change("c-p1", "p1", step{status: "COMPLETE", confirmed: true, signed: 3, detail: `{"c":1}`}), 40)
	repeat.Facts = append(repeat.Facts, store.Fact{ID: "plain-a-n1b", Subject: "s", Tenant: tenant, ContractID: "p1", Payload: []byte(`{}`)})
	apply("fact repeated", []store.ContractChange{repeat, fixed(change("c-n2", "n2", signing(0)), 41)}, true)
	apply("document of another contract", []store.ContractChange{
		withDocs(fixed(change("d-n3", "n3", signing(0)), 50), store.Document{ID: "p1-d2", Title: "moved"}),
	}, true)
	queued := withDocs(fixed(change("e-n4", "n4", done(1)), 60), store.Document{ID: "n4-d1", Title: "one"})
	queued.ArchiveDocuments = true
	apply("documents after the queue", []store.ContractChange{
		queued,
		withDocs(fixed(change("e-n4b", "n4", done(2)), 61), store.Document{ID: "n4-d2", Title: "two"}),
	}, true)

	// A change that fails rolls back the whole batch on both paths.
	bad := fixed(change("f-bad", "n5", signing(0)), 70)
	bad.Facts[0].Tenant, bad.Facts[0].ContractID, bad.Facts[0].Payload = tenant, "n5", []byte(`[1]`)
	apply("a failing change", []store.ContractChange{fixed(change("f-n6", "n6", signing(0)), 71), bad}, false)
	if _, err := set.Contract(ctx, tenant, "n6"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the failed batch left contract n6: %v", err)
	}
}

// appliedString prints an Applied for a failure message.
func appliedString(a store.Applied) string {
	row := func(c *store.Contract) string {
		if c == nil {
			return "nil"
		}
		return fmt.Sprintf("%+v", *c)
	}
	return fmt.Sprintf("changed=%v stale=%v previous=%s current=%s", a.Changed, a.Stale, row(a.Previous), row(a.Current))
}

// dumpLedger prints what a ledger holds, times that depend on the clock
// (archive queue due times) left out.
func dumpLedger(t *testing.T, l store.Ledger) string {
	t.Helper()
	ctx := context.Background()
	out := ""
	for _, tn := range []string{tenant, "t2"} {
		cs, err := l.Contracts(ctx, store.ContractFilter{Tenant: tn, OldestFirst: true})
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(cs, func(a, b store.Contract) int { return compareStrings(a.ID, b.ID) })
		for _, c := range cs {
			full, err := l.Contract(ctx, tn, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			for i := range full.Documents {
				full.Documents[i].NextAttemptAt = nil
			}
			out += fmt.Sprintf("contract %s/%s %s confirmed=%v fetched=%v..%v updated=%v completed=%v detail=%s\n",
				tn, full.ID, full.Status, full.Confirmed, full.FetchedAt, full.FetchEndedAt, full.UpdatedAt, full.CompletedAt, full.Detail)
			out += fmt.Sprintf("  biz=%s subject=%q signatories=%+v\n", full.BizID, full.Subject, full.Signatories)
			for _, d := range full.Documents {
				out += fmt.Sprintf("  document %+v\n", d)
			}
			evs, err := l.Events(ctx, tn, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range evs {
				out += fmt.Sprintf("  event %s %s %s applied=%v received=%v payload=%s\n", ev.ID, ev.Kind, ev.Type, ev.AppliedAt, ev.ReceivedAt, ev.Payload)
			}
		}
	}
	facts, err := l.Outbox(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(facts, func(a, b store.Fact) int { return compareStrings(a.ID, b.ID) })
	for _, f := range facts {
		out += fmt.Sprintf("fact %s %s %s/%s seq=%d created=%v payload=%s\n", f.ID, f.Subject, f.Tenant, f.ContractID, f.Seq, f.CreatedAt, f.Payload)
	}
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
