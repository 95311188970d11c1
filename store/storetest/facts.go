package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/qyshook/qyshook/store"
)

// testFactsOnlyOnChange: facts are written only when a change moves the
// ledger; a state-change fact (AfterPrevious) is completed with the status
// the contract came from and its number, in its id and its payload, so a
// state reached again from the same status (COMPLETE → INVALIDING →
// COMPLETE → INVALIDING) is a new fact.
func testFactsOnlyOnChange(t *testing.T, l store.Ledger) {
	after := func(ch store.ContractChange) store.ContractChange {
		for i := range ch.Facts {
			ch.Facts[i].AfterPrevious = true
			ch.Facts[i].Tenant, ch.Facts[i].ContractID = ch.Contract.Tenant, ch.Contract.ID
		}
		return ch
	}
	MustApply(t, l, after(change("e1", "c1", step{status: "SIGNING", confirmed: true})))
	MustApply(t, l, after(change("e2", "c1", step{status: "COMPLETE", confirmed: true, signed: 3})))
	MustApply(t, l, after(change("e3", "c1", step{status: "SIGNING", confirmed: true, signed: 3})))
	if _, err := l.ApplyContract(context.Background(), after(change("e2", "c1", step{status: "COMPLETE", confirmed: true, signed: 3}))); err == nil {
		t.Fatal("redelivered e2 applied again")
	}
	facts, err := l.Outbox(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{store.FactIDAfter("fact-e1", "", 1), store.FactIDAfter("fact-e2", "SIGNING", 2)}
	var got, prevs []string
	for _, f := range facts {
		if f.ContractID != "c1" {
			continue
		}
		got = append(got, f.ID)
		var p struct {
			ID             string `json:"id"`
			PreviousStatus string `json:"previous_status"`
			Contract       string `json:"contract"`
		}
		if err := json.Unmarshal(f.Payload, &p); err != nil {
			t.Fatalf("payload %s: %v", f.Payload, err)
		}
		if p.ID != f.ID || p.Contract != "c1" {
			t.Errorf("payload %s does not carry the fact id %s and its own members", f.Payload, f.ID)
		}
		prevs = append(prevs, p.PreviousStatus)
	}
	if !slices.Equal(got, want) {
		t.Errorf("outbox = %v, want %v", got, want)
	}
	if want := []string{"", "SIGNING"}; !slices.Equal(prevs, want) {
		t.Errorf("previous statuses in the payloads = %q, want %q", prevs, want)
	}

	// Voided twice: the same state-only id and previous status twice.
	done := step{status: "COMPLETE", confirmed: true, signed: 3}
	voiding := step{status: "INVALIDING", confirmed: true, signed: 3}
	for i, s := range []step{done, voiding, done, voiding} {
		ch := after(change(fmt.Sprintf("v%d", i), "c9", s))
		ch.Facts[0].ID = "fact-c9-" + s.status // the id of the state, not of the event
		MustApply(t, l, ch)
	}
	if facts, err = l.Outbox(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	var seqs []string
	for _, f := range facts {
		if f.ContractID != "c9" {
			continue
		}
		var p struct {
			ID             string `json:"id"`
			PreviousStatus string `json:"previous_status"`
			Seq            int64  `json:"seq"`
		}
		if err := json.Unmarshal(f.Payload, &p); err != nil {
			t.Fatalf("payload %s: %v", f.Payload, err)
		}
		if p.ID != f.ID || p.Seq != f.Seq {
			t.Errorf("fact %s seq %d: payload %s", f.ID, f.Seq, f.Payload)
		}
		seqs = append(seqs, fmt.Sprintf("%d<-%s", f.Seq, p.PreviousStatus))
	}
	if want := []string{"1<-", "2<-COMPLETE", "3<-INVALIDING", "4<-COMPLETE"}; !slices.Equal(seqs, want) {
		t.Errorf("facts of a contract voided twice = %v, want %v", seqs, want)
	}
}

func testOutbox(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	ch := change("e1", "c1", step{status: "SIGNING", confirmed: true})
	ch.Facts = []store.Fact{
		{ID: "f-z", Subject: "s.1", Payload: []byte{0, 1, 0xff}},
		{ID: "f-a", Subject: "s.2", Payload: []byte("{}")},
		{ID: "f-m", Subject: "s.3"},
	}
	MustApply(t, l, ch)
	facts, err := l.Outbox(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(facts) != 3 || facts[0].ID != "f-z" || facts[1].ID != "f-a" || facts[2].ID != "f-m" {
		t.Fatalf("outbox = %+v, want the given order f-z, f-a, f-m", facts)
	}
	if string(facts[0].Payload) != "\x00\x01\xff" || facts[0].Subject != "s.1" || facts[0].PublishedAt != nil ||
		facts[0].CreatedAt.IsZero() || facts[0].CreatedAt.Location() != time.UTC {
		t.Errorf("fact = %+v", facts[0])
	}
	if first, err := l.Outbox(ctx, 1); err != nil || len(first) != 1 {
		t.Fatalf("Outbox(1) = %d facts, %v", len(first), err)
	}
	if err := l.MarkPublished(ctx, []string{"f-z", "f-m", "unknown"}); err != nil {
		t.Fatal(err)
	}
	if got := outboxIDs(t, l); !slices.Equal(got, []string{"f-a"}) {
		t.Errorf("outbox after publish = %v, want [f-a]", got)
	}
	if err := l.MarkPublished(ctx, nil); err != nil {
		t.Errorf("MarkPublished(nil) = %v", err)
	}
	many := make([]string, 1200)
	for i := range many {
		many[i] = "x"
	}
	many[1100] = "f-a"
	if err := l.MarkPublished(ctx, many); err != nil {
		t.Fatal(err)
	}
	if got := outboxIDs(t, l); len(got) != 0 {
		t.Errorf("outbox after publishing all = %v", got)
	}

	// Pruning removes published facts only, and only the old ones.
	MustApply(t, l, change("e-prune", "c-prune", step{status: "SIGNING", confirmed: true}))
	if n, err := l.PruneOutbox(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("PruneOutbox of an hour ago = %d, %v; want 0 (everything is newer)", n, err)
	}
	n, err := l.PruneOutbox(ctx, time.Now().Add(time.Hour))
	if err != nil || n < 2 {
		t.Fatalf("PruneOutbox = %d, %v; want the published facts", n, err)
	}
	if got := outboxIDs(t, l); !slices.Equal(got, []string{"fact-e-prune"}) {
		t.Fatalf("outbox after pruning = %v, want the unpublished fact kept", got)
	}
}

func testChildrenAndArchive(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	ch := change("e1", "c1", step{status: "SIGNING", confirmed: true, signed: 1})
	ch.Contract.Documents = []store.Document{{ID: "d2", Title: "annex"}, {ID: "d1", Title: "main"}}
	a := MustApply(t, l, ch)
	c := a.Current
	if len(c.Signatories) != 3 {
		t.Fatalf("signatories = %+v", c.Signatories)
	}
	for i, s := range c.Signatories {
		if s.SerialNo != i+1 {
			t.Errorf("signatory %d has serial %d: not ordered by serial_no", i, s.SerialNo)
		}
	}
	if len(c.Documents) != 2 || c.Documents[0].ID != "d1" || c.Documents[0].ContractID != "c1" || c.Documents[0].Title != "main" {
		t.Fatalf("documents = %+v", c.Documents)
	}
	fetched := time.Date(2025, 1, 2, 3, 4, 5, 600000000, time.UTC)
	doc := store.Document{ID: "d1", ContractID: "c1", SHA256: "aa11", Size: 42, Path: "documents/default/c1/d1.pdf", FetchedAt: &fetched}
	changed, err := l.ArchiveDocument(ctx, tenant, doc, nil)
	if err != nil || !changed {
		t.Fatalf("archive = %v, %v", changed, err)
	}
	ch = change("e2", "c1", step{status: "COMPLETE", confirmed: true, signed: 3})
	ch.Contract.Signatories = ch.Contract.Signatories[:2]
	ch.Contract.Documents = []store.Document{{ID: "d1", Title: "main, signed"}, {ID: "d3", Title: "new"}}
	c = MustApply(t, l, ch).Current
	if len(c.Signatories) != 2 {
		t.Errorf("signatories not replaced: %+v", c.Signatories)
	}
	if len(c.Documents) != 3 {
		t.Fatalf("documents = %+v", c.Documents)
	}
	d1 := c.Documents[0]
	if d1.Title != "main, signed" || d1.SHA256 != "aa11" || d1.Size != 42 || d1.Path != doc.Path ||
		d1.FetchedAt == nil || !d1.FetchedAt.Equal(fetched) {
		t.Errorf("d1 after update = %+v: archive columns must survive", d1)
	}
	if d3 := c.Documents[2]; d3.SHA256 != "" || d3.FetchedAt != nil {
		t.Errorf("d3 = %+v, want not archived", d3)
	}
}

func testArchiveIdempotency(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	ch := change("e1", "c1", step{status: "COMPLETE", confirmed: true, signed: 3})
	ch.Facts = nil
	ch.Contract.Documents = []store.Document{{ID: "d1", Title: "main"}}
	MustApply(t, l, ch)
	doc := store.Document{ID: "d1", ContractID: "c1", SHA256: "abc", Size: 3, Path: "p/d1.pdf"}
	fact := func(id string) []store.Fact {
		return []store.Fact{{ID: id, Subject: "qys.ledger.default.documents.archived"}}
	}
	for i, want := range []bool{true, false, false} {
		changed, err := l.ArchiveDocument(ctx, tenant, doc, fact("arch-1"))
		if err != nil || changed != want {
			t.Fatalf("archive #%d = %v, %v; want %v", i, changed, err, want)
		}
	}
	doc.SHA256, doc.Size = "def", 4
	if changed, err := l.ArchiveDocument(ctx, tenant, doc, fact("arch-2")); err != nil || !changed {
		t.Fatalf("archive with new hash = %v, %v", changed, err)
	}
	if got := outboxIDs(t, l); !slices.Equal(got, []string{"arch-1", "arch-2"}) {
		t.Errorf("outbox = %v, want [arch-1 arch-2]", got)
	}
	c := MustContract(t, l, "c1")
	if len(c.Documents) != 1 || c.Documents[0].SHA256 != "def" || c.Documents[0].Title != "main" || c.Documents[0].FetchedAt == nil {
		t.Errorf("documents = %+v", c.Documents)
	}
	// A document archived before its contract arrived is kept as well.
	if changed, err := l.ArchiveDocument(ctx, tenant, store.Document{ID: "d9", ContractID: "c9", SHA256: "99"}, nil); err != nil || !changed {
		t.Errorf("archive of unknown document = %v, %v", changed, err)
	}
	if _, err := l.ArchiveDocument(ctx, tenant, store.Document{ID: "d1"}, nil); err == nil {
		t.Error("archive without sha256 accepted")
	}
}
