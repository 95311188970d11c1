package dispatcher_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/qyshook/qyshook/dispatcher"
	"github.com/qyshook/qyshook/internal/stagetest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
)

// seedHistory writes contract "old-1" with an event applied 400 days ago
// and one applied now, and a fact about it, published.
func seedHistory(t *testing.T, l store.Ledger) {
	t.Helper()
	ctx := context.Background()
	for i, at := range []time.Time{time.Now().Add(-400 * 24 * time.Hour), time.Now()} {
		ch := store.ContractChange{
			Event: store.Event{ID: []string{"ev-old", "ev-new"}[i], Tenant: "default", Kind: "contract", Type: "SIGNING",
				ContractID: "old-1", Source: "callback", ReceivedAt: at, AppliedAt: at},
			Contract: store.Contract{Tenant: "default", ID: "old-1", Status: "SIGNING", Confirmed: true},
		}
		if i == 0 {
			ch.Facts = []store.Fact{{ID: "fact-old", Subject: "qys.ledger.default.contract.old-1", Tenant: "default",
				ContractID: "old-1", Payload: []byte(`{}`)}}
		}
		if _, err := l.ApplyContract(ctx, ch); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.MarkPublished(ctx, []string{"fact-old"}); err != nil {
		t.Fatal(err)
	}
}

func eventIDs(t *testing.T, l store.Ledger) []string {
	t.Helper()
	evs, err := l.Events(context.Background(), "default", "old-1")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.ID)
	}
	return out
}

// TestRunningDispatcherPrunesTheLedger: a running dispatcher deletes the
// events past QYSHOOK_LEDGER_RETENTION (keeping a contract's newest) and
// the facts published past QYSHOOK_OUTBOX_RETENTION, and counts them.
func TestRunningDispatcherPrunesTheLedger(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			l := testdb.Open(t, kind)
			seedHistory(t, l)
			h := stagetest.New(t, l, stagetest.WithoutAPI())
			h.Config.OutboxRetention = time.Nanosecond
			h.Start()
			stagetest.Eventually(t, "old event and published fact pruned", func() bool {
				facts, err := l.Outbox(context.Background(), 0)
				if err != nil {
					t.Fatal(err)
				}
				return slices.Equal(eventIDs(t, l), []string{"ev-new"}) && len(facts) == 0 &&
					testutil.CollectAndCount(h.Registry, "qyshook_ledger_rows_pruned_total") == 2
			})
			stagetest.Eventually(t, "pruned rows counted", func() bool {
				return pruned(t, h, "events") == 1 && pruned(t, h, "outbox") == 1
			})
		})
	}
}

// TestRetentionZeroKeepsEverything: QYSHOOK_LEDGER_RETENTION=0 and
// QYSHOOK_OUTBOX_RETENTION=0 (negative in the Config) delete nothing.
func TestRetentionZeroKeepsEverything(t *testing.T) {
	l := testdb.Open(t, testdb.SQLite)
	seedHistory(t, l)
	h := stagetest.New(t, l, stagetest.WithoutAPI())
	h.Config.EventRetention, h.Config.OutboxRetention = -1, -1
	d, err := dispatcher.New(h.Config)
	if err != nil {
		t.Fatal(err)
	}
	ev, facts, err := d.PruneLedger(context.Background())
	if err != nil || ev != 0 || facts != 0 {
		t.Fatalf("PruneLedger = %d, %d, %v; want nothing deleted", ev, facts, err)
	}
	if got := eventIDs(t, l); !slices.Equal(got, []string{"ev-old", "ev-new"}) {
		t.Fatalf("events %v after a pass that keeps everything", got)
	}
	// The defaults (90 days, 7 days) delete the 400-day-old event only.
	h.Config.EventRetention, h.Config.OutboxRetention = 0, 0
	h.Config.Registerer = nil
	if d, err = dispatcher.New(h.Config); err != nil {
		t.Fatal(err)
	}
	if ev, facts, err = d.PruneLedger(context.Background()); err != nil || ev != 1 || facts != 0 {
		t.Fatalf("PruneLedger with the defaults = %d, %d, %v; want 1 event, 0 facts", ev, facts, err)
	}
}

// pruned is the retention counter of one table (-1 when not exposed).
func pruned(t *testing.T, h *stagetest.Harness, table string) float64 {
	t.Helper()
	mfs, err := h.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "qyshook_ledger_rows_pruned_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "table" && lp.GetValue() == table {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return -1
}
