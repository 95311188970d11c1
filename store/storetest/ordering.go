package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/qyshook/qyshook/store"
)

// fetchT0 is the base of the fetch times of the ordering cases.
var fetchT0 = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

// fetched sets the instant the change's detail fetch began: fetchT0 plus
// n seconds.
func fetched(ch store.ContractChange, n int) store.ContractChange {
	ch.Contract.FetchedAt = fetchT0.Add(time.Duration(n) * time.Second)
	return ch
}

// span sets when the change's detail fetch began and ended: fetchT0 plus
// began and ended seconds.
func span(ch store.ContractChange, began, ended int) store.ContractChange {
	ch.Contract.FetchedAt = fetchT0.Add(time.Duration(began) * time.Second)
	ch.Contract.FetchEndedAt = fetchT0.Add(time.Duration(ended) * time.Second)
	return ch
}

// testFetchOverlap: fetch start times do not order overlapping fetches.
// A move up in rank is applied whatever the fetch times; the step back
// from a voiding to COMPLETE needs a fetch that began after the row's
// ended, and one that overlaps is refused as Stale without recording its
// event (so a redelivery applies anew); fetch end times are stored.
func testFetchOverlap(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	done := step{status: "COMPLETE", confirmed: true, signed: 3, detail: `{"status":"COMPLETE"}`}
	voiding := step{status: "INVALIDING", confirmed: true, signed: 3, detail: `{"status":"INVALIDING"}`}
	signing := step{status: "SIGNING", confirmed: true, signed: 1, detail: `{"status":"SIGNING"}`}
	apply := func(ch store.ContractChange, changed, stale bool) {
		t.Helper()
		a := MustApply(t, l, ch)
		if a.Changed != changed || a.Stale != stale {
			t.Fatalf("%s (%s fetched %v..%v): changed %v stale %v; want %v %v", ch.Event.ID, ch.Contract.Status,
				ch.Contract.FetchedAt, ch.Contract.FetchEndedAt, a.Changed, a.Stale, changed, stale)
		}
	}
	expect := func(cid, status string, began, ended int) {
		t.Helper()
		c := MustContract(t, l, cid)
		if c.Status != status || !c.FetchedAt.Equal(fetchT0.Add(time.Duration(began)*time.Second)) ||
			!c.FetchEndedAt.Equal(fetchT0.Add(time.Duration(ended)*time.Second)) {
			t.Fatalf("%s: %s fetched %v..%v; want %s %d..%d", cid, c.Status, c.FetchedAt, c.FetchEndedAt, status, began, ended)
		}
	}

	// (a) A began at 1 and was answered INVALIDING at 6; B began at 2,
	// was answered COMPLETE at 3 (before the voiding) and commits last.
	apply(span(change("ov1-0", "ov1", done), 0, 0), true, false)
	apply(span(change("ov1-a", "ov1", voiding), 1, 6), true, false)
	apply(span(change("ov1-b", "ov1", done), 2, 3), false, true)
	expect("ov1", "INVALIDING", 1, 6)
	evs, err := l.Events(ctx, tenant, "ov1")
	if err != nil || len(evs) != 2 {
		t.Fatalf("events of ov1 = %d, %v; want the stale one forgotten", len(evs), err)
	}
	apply(span(change("ov1-b", "ov1", voiding), 7, 8), false, false) // its redelivery, fetched again
	expect("ov1", "INVALIDING", 7, 8)
	apply(span(change("ov1-c", "ov1", done), 9, 10), true, false) // the voiding refused: definitely newer
	expect("ov1", "COMPLETE", 9, 10)

	// (b) B began at 2, was answered SIGNING at 3 and commits first; A
	// began at 1 and was answered COMPLETE at 6: a forward move.
	apply(span(change("ov2-b", "ov2", signing), 2, 3), true, false)
	apply(span(change("ov2-a", "ov2", done), 1, 6), true, false)
	expect("ov2", "COMPLETE", 1, 6)

	// The same in one batch.
	outs, errs, err := l.ApplyContracts(ctx, []store.ContractChange{
		span(change("ov3-0", "ov3", done), 0, 0),
		span(change("ov3-a", "ov3", voiding), 1, 6), span(change("ov3-b", "ov3", done), 2, 3),
	})
	if err != nil || errs[0] != nil || errs[1] != nil || errs[2] != nil {
		t.Fatalf("batch: %v %v", err, errs)
	}
	if !outs[1].Changed || outs[2].Changed || !outs[2].Stale {
		t.Fatalf("batch: %+v %+v; want the voiding applied, the overlapping COMPLETE stale", outs[1], outs[2])
	}
	expect("ov3", "INVALIDING", 1, 6)
	if _, err := l.ApplyContract(ctx, span(change("ov3-b", "ov3", voiding), 7, 8)); err != nil {
		t.Fatalf("the stale event's redelivery: %v", err)
	}
}

// testFetchOrder: a confirmed view fetched before the row's never
// replaces it, on ApplyContract and ApplyContracts alike; a later fetch
// of the same state moves the row's fetch time; callback-only views keep
// their rules.
func testFetchOrder(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	expect := func(cid, status string, confirmed bool, fetch int) {
		t.Helper()
		c := MustContract(t, l, cid)
		want := fetchT0.Add(time.Duration(fetch) * time.Second)
		if c.Status != status || c.Confirmed != confirmed || !c.FetchedAt.Equal(want) {
			t.Fatalf("%s: %s confirmed=%v fetched_at=%v; want %s confirmed=%v fetched_at=%v",
				cid, c.Status, c.Confirmed, c.FetchedAt, status, confirmed, want)
		}
	}
	applied := func(ch store.ContractChange, want bool) {
		t.Helper()
		if a := MustApply(t, l, ch); a.Changed != want {
			t.Fatalf("%s (%s fetched %v): changed = %v, want %v", ch.Event.ID, ch.Contract.Status, ch.Contract.FetchedAt, a.Changed, want)
		}
	}
	done := step{status: "COMPLETE", confirmed: true, signed: 3, detail: `{"status":"COMPLETE"}`}
	voiding := step{status: "INVALIDING", confirmed: true, signed: 3, detail: `{"status":"INVALIDING"}`}

	// The defect: an older COMPLETE committed after a newer INVALIDING.
	applied(fetched(change("fo1-a", "fo1", voiding), 2), true)
	applied(fetched(change("fo1-b", "fo1", done), 1), false)
	expect("fo1", "INVALIDING", true, 2)
	applied(change("fo1-c", "fo1", done), false)            // a confirmed view of unknown age
	applied(fetched(change("fo1-d", "fo1", done), 3), true) // the voiding was refused
	expect("fo1", "COMPLETE", true, 3)

	// The same state fetched again: the row's fetch time moves, so an
	// older view of another state is still refused.
	applied(fetched(change("fo2-a", "fo2", done), 1), true)
	applied(fetched(change("fo2-b", "fo2", step{status: "COMPLETE", confirmed: true, signed: 3, detail: `{ "status": "COMPLETE" }`}), 3), false)
	expect("fo2", "COMPLETE", true, 3)
	applied(fetched(change("fo2-c", "fo2", voiding), 2), false)
	expect("fo2", "COMPLETE", true, 3)

	// Callback-only views keep their rules and leave the fetch time alone.
	applied(fetched(change("fo3-a", "fo3", step{status: "SIGNING", confirmed: true, signed: 1}), 5), true)
	applied(change("fo3-b", "fo3", step{status: "COMPLETE", signed: 3}), true)
	expect("fo3", "COMPLETE", false, 5)
	applied(fetched(change("fo3-c", "fo3", done), 4), false)
	applied(fetched(change("fo3-d", "fo3", done), 6), true)
	expect("fo3", "COMPLETE", true, 6)

	// One batch: the later-fetched view first, the older one after it.
	outs, errs, err := l.ApplyContracts(ctx, []store.ContractChange{
		fetched(change("fo4-a", "fo4", voiding), 2), fetched(change("fo4-b", "fo4", done), 1),
	})
	if err != nil || errs[0] != nil || errs[1] != nil {
		t.Fatalf("batch: %v %v", err, errs)
	}
	if !outs[0].Changed || outs[1].Changed {
		t.Fatalf("batch changed %v %v; want true false", outs[0].Changed, outs[1].Changed)
	}
	expect("fo4", "INVALIDING", true, 2)
}

// seqFact is a fact about contract cid with the given id.
func seqFact(id, cid string) store.Fact {
	return store.Fact{ID: id, Subject: "qys.ledger.default.contract.X", Tenant: tenant, ContractID: cid,
		Payload: []byte(`{"id":"` + id + `","contract_id":"` + cid + `","seq":0}`)}
}

// testFactSeq: the facts of one contract are numbered 1, 2, 3, … in the
// order written, in the outbox and in the payload, across ApplyContract,
// ApplyContracts and ArchiveDocument; a repeated fact id takes no number.
func testFactSeq(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	withFacts := func(ch store.ContractChange, ids ...string) store.ContractChange {
		ch.Facts = nil
		for _, id := range ids {
			ch.Facts = append(ch.Facts, seqFact(id, ch.Contract.ID))
		}
		return ch
	}
	MustApply(t, l, withFacts(change("q1", "qa", step{status: "DRAFT", confirmed: true}), "qa-1"))
	MustApply(t, l, withFacts(change("q2", "qb", step{status: "DRAFT", confirmed: true}), "qb-1"))
	if _, _, err := l.ApplyContracts(ctx, []store.ContractChange{
		withFacts(change("q3", "qb", step{status: "FILLING", confirmed: true}), "qb-2"),
		withFacts(change("q4", "qa", step{status: "SIGNING", confirmed: true}), "qa-2", "qa-3"),
		withFacts(change("q5", "qa", step{status: "SIGNING", confirmed: true, signed: 1}), "qa-1"), // a repeat
		withFacts(change("q6", "qa", step{status: "SIGNING", confirmed: true, signed: 2}), "qa-4"),
	}); err != nil {
		t.Fatal(err)
	}
	MustApply(t, l, change("q7", "qa", step{status: "COMPLETE", confirmed: true, signed: 3, detail: `{}`}))
	doc := store.Document{ID: "qa-d1", ContractID: "qa", SHA256: "ab", Size: 1, Path: "p"}
	bare := store.Fact{ID: "qa-6", Subject: "s", Tenant: tenant, ContractID: "qa"} // no payload: seq in the outbox only
	if _, err := l.ArchiveDocument(ctx, tenant, doc, []store.Fact{seqFact("qa-5", "qa"), bare}); err != nil {
		t.Fatal(err)
	}
	notJSON := store.Fact{ID: "qa-7", Subject: "s", Tenant: tenant, ContractID: "qa", Payload: []byte("[1]")}
	if _, err := l.ArchiveDocument(ctx, tenant, store.Document{ID: "qa-d2", ContractID: "qa", SHA256: "cd"}, []store.Fact{notJSON}); err == nil {
		t.Error("a fact whose payload is not a JSON object was written")
	}
	if _, err := l.ArchiveDocument(ctx, tenant, store.Document{ID: "qz-d1", ContractID: "qz", SHA256: "ab"},
		[]store.Fact{seqFact("qz-1", "qz")}); err == nil {
		t.Error("a fact about a contract not in the ledger was written")
	}
	facts, err := l.Outbox(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"qa-1": 1, "qa-2": 2, "qa-3": 3, "qa-4": 4, "qa-5": 5, "qa-6": 6, "qb-1": 1, "qb-2": 2, "fact-q7": 0}
	if len(facts) != len(want) {
		t.Fatalf("outbox has %d facts, want %d", len(facts), len(want))
	}
	for _, f := range facts {
		var p struct {
			Seq int64 `json:"seq"`
		}
		if f.ID == "qa-6" {
			if len(f.Payload) != 0 {
				t.Errorf("fact qa-6: payload %q, want none", f.Payload)
			}
			p.Seq = f.Seq
		} else if f.ContractID != "" {
			if err := json.Unmarshal(f.Payload, &p); err != nil {
				t.Fatalf("fact %s payload %s: %v", f.ID, f.Payload, err)
			}
		}
		if w, ok := want[f.ID]; !ok || f.Seq != w || p.Seq != w {
			t.Errorf("fact %s: seq %d, payload seq %d; want %d", f.ID, f.Seq, p.Seq, w)
		}
		if f.ContractID != "" && f.Tenant != tenant {
			t.Errorf("fact %s: tenant %q", f.ID, f.Tenant)
		}
	}
}

// testBatchesOppositeOrder: two batches touching the same contracts in
// opposite orders, committed concurrently, over and over: neither may
// fail (a deadlock on PostgreSQL), and the results come back in the
// caller's order.
func testBatchesOppositeOrder(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	const contracts, rounds = 8, 150
	for i := range contracts {
		MustApply(t, l, change(fmt.Sprintf("oo-init-%d", i), fmt.Sprintf("oo%d", i), step{status: "SIGNING", confirmed: true}))
	}
	for r := range rounds {
		batch := func(side string, reverse bool) []store.ContractChange {
			chs := make([]store.ContractChange, 0, contracts)
			for i := range contracts {
				k := i
				if reverse {
					k = contracts - 1 - i
				}
				chs = append(chs, change(fmt.Sprintf("oo-%d-%s-%d", r, side, k), fmt.Sprintf("oo%d", k),
					step{status: "SIGNING", confirmed: true, detail: fmt.Sprintf(`{"round":%d,"side":%q}`, r, side)}))
			}
			return chs
		}
		var wg sync.WaitGroup
		for _, side := range []string{"up", "down"} {
			chs := batch(side, side == "down")
			wg.Go(func() {
				outs, errs, err := l.ApplyContracts(ctx, chs)
				if err != nil {
					t.Errorf("round %d %s: %v (transient=%v)", r, side, err, store.IsTransient(err))
					return
				}
				for i, out := range outs {
					if errs[i] != nil || out.Current == nil || out.Current.ID != chs[i].Contract.ID {
						t.Errorf("round %d %s: result %d is %+v, %v; want contract %s", r, side, i, out.Current, errs[i], chs[i].Contract.ID)
						return
					}
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
	}
}
