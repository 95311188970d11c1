package receiver_test

import (
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/natstest"
)

// groupedHarness is a receiver on an embedded server in grouped-sync mode
// (the production default); the test is skipped where syncs cannot be
// grouped.
func groupedHarness(t *testing.T) *harness {
	t.Helper()
	env, grouped := natstest.NewGrouped(t)
	if !grouped {
		t.Skip("not grouped here: " + env.Embedded.SyncReason())
	}
	return newHarness(t, env)
}

// TestGroupedCallbackWaitsForSync: with grouped syncs, every callback
// answered success (stored or a duplicate) has waited for a sync of the
// store that completed after its publish, and a repeat is stored once
// under its Nats-Msg-Id.
func TestGroupedCallbackWaitsForSync(t *testing.T) {
	h := groupedHarness(t)
	gs := h.nats.Embedded.Syncer()
	ts := time.Now().Truncate(time.Millisecond)
	for i, id := range []string{"grouped-1", "grouped-2", "grouped-1"} {
		before := gs.Stats()
		got := h.send(t, callbackCase{path: "/callbacks/acme/contract", sender: senderA(secretA),
			payload: contractPayload(id, "SEAL", "SIGNING"), ts: ts})
		if got.status != 200 || got.body != "success" {
			t.Fatalf("callback %d: %d %q", i+1, got.status, got.body)
		}
		after := gs.Stats()
		if after.Waits == before.Waits || after.Rounds == before.Rounds || after.Failed != 0 {
			t.Fatalf("callback %d answered without a sync: before %+v after %+v", i+1, before, after)
		}
	}
	msgs := storedEnvelopes(t, h.nats.JS, h.nats.Names)
	if len(msgs) != 2 {
		t.Fatalf("stream holds %d messages, want 2", len(msgs))
	}
	for _, m := range msgs {
		if m.Header.Get("Nats-Msg-Id") == "" || m.Header.Get("Nats-Expected-Stream") != h.nats.Names.CallbacksStream() {
			t.Fatalf("headers %v", m.Header)
		}
	}
	if metrics := h.get(t, "/metrics").body; !contains(metrics, `qyshook_receiver_duplicates_total{tenant="acme"} 1`) {
		t.Fatalf("metrics:\n%s", metrics)
	}
}

// TestGroupedSyncFailureAnswers503: once the store's syncs fail, a
// callback is answered 503 even though nats-server acknowledged its
// write: success needs the sync.
func TestGroupedSyncFailureAnswers503(t *testing.T) {
	h := groupedHarness(t)
	ts := time.Now().Truncate(time.Millisecond)
	send := func(id string) response {
		return h.send(t, callbackCase{path: "/callbacks/acme/contract", sender: senderA(secretA),
			payload: contractPayload(id, "SEAL", "SIGNING"), ts: ts})
	}
	if got := send("sync-ok"); got.status != 200 {
		t.Fatalf("before: %d %q", got.status, got.body)
	}
	// Close makes every later Sync fail (ErrSyncClosed) while the server
	// keeps acknowledging writes.
	if err := h.nats.Embedded.Syncer().Close(); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"sync-failed", "sync-ok"} {
		got := send(id)
		if got.status != 503 || !strings.Contains(got.body, `"error":"unavailable"`) {
			t.Fatalf("%s after the syncs failed: %d %q", id, got.status, got.body)
		}
	}
	if n := len(storedEnvelopes(t, h.nats.JS, h.nats.Names)); n != 2 {
		t.Fatalf("stream holds %d messages, want 2 (written, never answered success)", n)
	}
}
