package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/qyshook/qyshook/store"
)

func testApplyContractsBatch(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	MustApply(t, l, change("b-old", "bc2", step{status: "SIGNING", confirmed: true}))
	batch := []store.ContractChange{
		change("b-1", "bc1", step{status: "SIGNING", confirmed: true, signed: 1}),
		change("b-old", "bc2", step{status: "SIGNING", confirmed: true}), // applied before
		change("b-2", "bc1", step{status: "COMPLETE", confirmed: true, signed: 3}),
		change("b-3", "bc1", step{status: "SIGNING", confirmed: true, signed: 2}), // late
	}
	outs, errs, err := l.ApplyContracts(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 4 || len(errs) != 4 {
		t.Fatalf("got %d results and %d errors for 4 changes", len(outs), len(errs))
	}
	if errs[0] != nil || errs[2] != nil || errs[3] != nil || !errors.Is(errs[1], store.ErrDuplicate) {
		t.Fatalf("errors %v; want only the second to be ErrDuplicate", errs)
	}
	if !outs[0].Changed || !outs[2].Changed || outs[3].Changed {
		t.Fatalf("changed: %v %v %v; want true true false", outs[0].Changed, outs[2].Changed, outs[3].Changed)
	}
	if c := MustContract(t, l, "bc1"); c.Status != "COMPLETE" {
		t.Fatalf("status %s after the batch, want COMPLETE", c.Status)
	}
	for _, id := range []string{"b-1", "b-2", "b-3"} {
		if _, err := l.ApplyContract(ctx, change(id, "bc1", step{status: "COMPLETE", confirmed: true, signed: 3})); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("event %s not recorded by the batch: %v", id, err)
		}
	}
	ids := map[string]bool{}
	for _, id := range outboxIDs(t, l) {
		ids[id] = true
	}
	if !ids["fact-b-1"] || !ids["fact-b-2"] || ids["fact-b-3"] {
		t.Fatalf("outbox %v: want facts of the two changes only", ids)
	}

	// A failing change rolls the whole batch back.
	bad := change("b-bad", "", step{status: "SIGNING"})
	bad.Event.ContractID = ""
	_, _, err = l.ApplyContracts(ctx, []store.ContractChange{
		change("b-4", "bc3", step{status: "SIGNING", confirmed: true}), bad,
	})
	if err == nil {
		t.Fatal("a batch with an invalid change succeeded")
	}
	if _, err := l.Contract(ctx, tenant, "bc3"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the rolled-back batch left contract bc3: %v", err)
	}
	if _, err := l.ApplyContract(ctx, change("b-4", "bc3", step{status: "SIGNING", confirmed: true})); err != nil {
		t.Fatalf("event b-4 was recorded by a rolled-back batch: %v", err)
	}
}

// testDuplicateChildren: a detail listing a signatory or a document twice
// is written once, with the last occurrence.
func testDuplicateChildren(t *testing.T, l store.Ledger) {
	ch := change("dup-1", "dupc", step{status: "SIGNING", confirmed: true})
	ch.Contract.Signatories = append(ch.Contract.Signatories, ch.Contract.Signatories[0])
	ch.Contract.Signatories[len(ch.Contract.Signatories)-1].Status = "SIGNED"
	ch.Contract.Documents = []store.Document{{ID: "dd1", Title: "first"}, {ID: "dd1", Title: "second"}}
	MustApply(t, l, ch)
	c := MustContract(t, l, "dupc")
	if len(c.Signatories) != 3 || len(c.Documents) != 1 || c.Documents[0].Title != "second" {
		t.Fatalf("signatories %d, documents %+v", len(c.Signatories), c.Documents)
	}
	for _, sg := range c.Signatories {
		if sg.ID == ch.Contract.Signatories[0].ID && sg.Status != "SIGNED" {
			t.Fatalf("duplicated signatory kept status %q, want the last one", sg.Status)
		}
	}
}
