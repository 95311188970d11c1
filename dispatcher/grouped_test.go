package dispatcher_test

import (
	"context"
	"testing"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/stagetest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/lifecycle"
)

// TestGroupedStoreSyncsWhatItActsOn: on the embedded server's production
// default (grouped syncing), the dispatcher's publishes that it acts on
// (facts before the outbox marks them, a dead letter before the event is
// acknowledged) wait for syncs of the store, and the pipeline gives the
// same ledger, facts and dead letters as with nats-server's own fsync.
func TestGroupedStoreSyncsWhatItActsOn(t *testing.T) {
	env, grouped := natstest.NewGrouped(t)
	if !grouped {
		t.Skip("not grouped here: " + env.Embedded.SyncReason())
	}
	h := stagetest.NewOn(t, env, testdb.Open(t, testdb.SQLite))
	good := h.AddContract(lifecycle.Signing)
	h.PublishContract(good, "SEAL", lifecycle.Signing)
	h.PublishRaw(h.NATS.Names.CallbackSubject("default", events.KindContract, "SEAL"), []byte("\x00garbage{"), "poison-1")
	gs := env.Embedded.Syncer()
	before := gs.Stats()
	h.Start()
	stagetest.Eventually(t, "fact published", func() bool { return len(h.Facts()) == 1 })
	stagetest.Eventually(t, "dead letter", func() bool {
		dl, _ := h.Ledger.DeadLetters(context.Background(), 10)
		return len(dl) == 1
	})
	if dlq := h.StreamMessages(h.NATS.Names.DLQStream()); len(dlq) != 1 {
		t.Fatalf("QYS_DLQ holds %d messages, want 1", len(dlq))
	}
	stagetest.Eventually(t, "outbox marked published", func() bool {
		facts, err := h.Ledger.Outbox(context.Background(), 0)
		return err == nil && len(facts) == 0
	})
	after := gs.Stats()
	// At least the dead letter's publish and the relay's batch waited.
	if after.Waits-before.Waits < 2 || after.Rounds == before.Rounds || after.Failed != 0 {
		t.Fatalf("syncs before %+v after %+v", before, after)
	}
}
