package qystest_test

import (
	"testing"
	"time"

	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
)

// TestLogLimit: a long-running fake keeps a bounded request and delivery
// log, the newest entries last, and DeliveriesFrom hands out only what is
// new since the index it was given.
func TestLogLimit(t *testing.T) {
	rc := newReceiver(t, qys.VerifierConfig{Format: qys.FormatA, Secrets: []string{cbSecret}})
	srv := MustServer(t, qystest.WithLogLimit(4))
	srv.SetCallbackTarget(rc.target(qys.SenderConfig{Format: qys.FormatA, Secret: cbSecret, Encrypt: true}))
	c := MustClient(t, srv)
	var ids []string
	for range 12 {
		id := MustContract(t, srv, nil)
		ids = append(ids, id)
		if _, err := c.ContractDetail(ctxTimeout(t, 5*time.Second), qys.ContractQuery{ContractID: id}); err != nil {
			t.Fatal(err)
		}
	}
	reqs := srv.Requests()
	if len(reqs) < 4 || len(reqs) > 8 || reqs[len(reqs)-1].Query.Get("contractId") != ids[11] {
		t.Fatalf("%d requests kept, last %v; want 4..8 ending with the newest", len(reqs), reqs[len(reqs)-1].Query)
	}

	_, from := srv.DeliveriesFrom(0)
	for _, id := range ids[:10] {
		if err := srv.Send(id); err != nil {
			t.Fatal(err)
		}
	}
	waitIdle(t, srv)
	ds, next := srv.DeliveriesFrom(from)
	if next != from+10 || len(ds) < 4 || len(ds) > 8 || ds[len(ds)-1].ContractID != ids[9] {
		t.Fatalf("DeliveriesFrom(%d) = %d attempts, next %d; want 4..8 (the rest trimmed), next %d", from, len(ds), next, from+10)
	}
	if all := srv.Deliveries(); len(all) > 8 {
		t.Fatalf("%d delivery attempts kept, want at most 8", len(all))
	}
	if more, again := srv.DeliveriesFrom(next); len(more) != 0 || again != next {
		t.Fatalf("DeliveriesFrom(next) = %d attempts, next %d; want none, %d", len(more), again, next)
	}
}
