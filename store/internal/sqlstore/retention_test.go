package sqlstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
)

// TestPruneEvents: events applied before the cutoff go, a batch at a time
// and oldest first, except the newest event of each contract and an event
// a dead letter names; events inside the window stay.
func TestPruneEvents(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			ctx := context.Background()
			l := testdb.Open(t, kind)
			r := l.(store.Retention)
			now := time.Now().UTC()
			day := 24 * time.Hour
			apply := func(id, contract string, signed int, at time.Time) {
				t.Helper()
				ch := store.ContractChange{
					Event: store.Event{ID: id, Tenant: "default", Kind: "contract", Type: "SIGNING", ContractID: contract,
						Source: "callback", ReceivedAt: at, AppliedAt: at},
					Contract: store.Contract{Tenant: "default", ID: contract, Status: "SIGNING", Confirmed: true,
						Signatories: []store.Signatory{{ID: contract + "-s", Status: map[bool]string{true: "SIGNED", false: "WAITING"}[signed > 0]}}},
				}
				if _, err := l.ApplyContract(ctx, ch); err != nil {
					t.Fatalf("apply %s: %v", id, err)
				}
			}
			apply("a1", "A", 0, now.Add(-400*day))
			apply("a2", "A", 0, now.Add(-300*day))
			apply("a3", "A", 1, now.Add(-time.Hour))
			apply("b1", "B", 0, now.Add(-400*day)) // B's only, so its newest
			apply("c1", "C", 0, now.Add(-500*day)) // named by a dead letter
			apply("c2", "C", 0, now.Add(-200*day))
			apply("c3", "C", 1, now)
			if _, err := l.AddDeadLetter(ctx, store.DeadLetter{EventID: "c1", Tenant: "default", Consumer: "qyshook_ledger", Reason: "x"}); err != nil {
				t.Fatal(err)
			}
			if _, err := r.PruneEvents(ctx, now, 0); err == nil {
				t.Fatal("PruneEvents with limit 0 succeeded")
			}
			cutoff := now.Add(-90 * day)
			var total int64
			for i := 0; ; i++ {
				n, err := r.PruneEvents(ctx, cutoff, 2)
				if err != nil {
					t.Fatal(err)
				}
				if n > 2 {
					t.Fatalf("batch %d deleted %d events, more than its limit 2", i, n)
				}
				if i == 0 && n != 2 {
					t.Fatalf("first batch deleted %d events, want 2", n)
				}
				total += n
				if n == 0 {
					break
				}
			}
			if total != 3 {
				t.Fatalf("deleted %d events, want 3 (a1, a2, c2)", total)
			}
			ids := func(contract string) []string {
				evs, err := l.Events(ctx, "default", contract)
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, e := range evs {
					out = append(out, e.ID)
				}
				return out
			}
			for c, want := range map[string][]string{"A": {"a3"}, "B": {"b1"}, "C": {"c1", "c3"}} {
				if got := ids(c); !slices.Equal(got, want) {
					t.Errorf("events of %s after pruning: %v, want %v", c, got, want)
				}
			}
			// A pruned event is forgotten: its redelivery is recorded anew
			// and, the contract having moved on, changes nothing.
			ch := store.ContractChange{Event: store.Event{ID: "a1", Tenant: "default", Kind: "contract", Type: "SIGNING", ContractID: "A"},
				Contract: store.Contract{Tenant: "default", ID: "A", Status: "SIGNING", Confirmed: true,
					Signatories: []store.Signatory{{ID: "A-s", Status: "WAITING"}}}}
			out, err := l.ApplyContract(ctx, ch)
			if err != nil {
				t.Fatal(err)
			}
			if out.Changed {
				t.Error("a pruned event applied again moved its contract backwards")
			}
		})
	}
}

// TestPrunePublished: published facts older than the cutoff go, a batch at
// a time; unpublished ones stay whatever their age.
func TestPrunePublished(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			ctx := context.Background()
			l := testdb.Open(t, kind)
			r := l.(store.Retention)
			var facts []store.Fact
			for _, id := range []string{"f1", "f2", "f3", "f4"} {
				facts = append(facts, store.Fact{ID: id, Subject: "qys.ledger.default.contract.P", Tenant: "default", ContractID: "P",
					Payload: []byte(`{}`)})
			}
			ch := store.ContractChange{Event: store.Event{ID: "p1", Tenant: "default", Kind: "contract", Type: "SIGNING", ContractID: "P"},
				Contract: store.Contract{Tenant: "default", ID: "P", Status: "SIGNING", Confirmed: true}, Facts: facts}
			if _, err := l.ApplyContract(ctx, ch); err != nil {
				t.Fatal(err)
			}
			if err := l.MarkPublished(ctx, []string{"f1", "f2", "f3"}); err != nil {
				t.Fatal(err)
			}
			if n, err := r.PrunePublished(ctx, time.Now().Add(-time.Hour), 10); err != nil || n != 0 {
				t.Fatalf("pruning facts published over an hour ago = %d, %v; want 0", n, err)
			}
			later := time.Now().Add(time.Hour)
			if n, err := r.PrunePublished(ctx, later, 2); err != nil || n != 2 {
				t.Fatalf("first batch = %d, %v; want 2", n, err)
			}
			if n, err := r.PrunePublished(ctx, later, 2); err != nil || n != 1 {
				t.Fatalf("second batch = %d, %v; want 1", n, err)
			}
			left, err := l.Outbox(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(left) != 1 || left[0].ID != "f4" {
				t.Fatalf("outbox after pruning: %+v; want the unpublished f4 only", left)
			}
		})
	}
}
