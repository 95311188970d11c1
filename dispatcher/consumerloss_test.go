package dispatcher_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/embeddednats"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/stagetest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/store"
)

// ownEmbedded starts an embedded server on dir (in-process clients only)
// with the test streams provisioned under names.
func ownEmbedded(t *testing.T, dir string, names events.Names) *natstest.Env {
	t.Helper()
	srv, err := embeddednats.Start(embeddednats.Options{StoreDir: dir, SyncInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := srv.Connect()
	if err != nil {
		srv.Shutdown()
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := names.Provision(ctx, js, natstest.TestStreamSettings()); err != nil {
		t.Fatal(err)
	}
	return &natstest.Env{Embedded: srv, NC: nc, JS: js, Names: names}
}

// eventsPerContract waits until each of ids has want events in the ledger
// and fails when one has more (a redelivery recorded twice).
func eventsPerContract(t *testing.T, l store.Ledger, ids []string, want int, what string) {
	t.Helper()
	stagetest.Eventually(t, what, func() bool {
		for _, id := range ids {
			evs, err := l.Events(context.Background(), "default", id)
			if err != nil || len(evs) < want {
				return false
			}
			if len(evs) > want {
				t.Fatalf("contract %s: %d events in the ledger, want %d (a redelivery recorded twice)", id, len(evs), want)
			}
		}
		return true
	})
}

// TestRecreatesConsumerWithCorruptState: a power cut left the dispatcher's
// consumer state file (o.dat) as zeros; nats-server starts without the
// consumer but keeps its directory, and creating it again fails ("error
// creating store for consumer") for as long as the directory is there.
// The dispatcher drops the broken state (Options.DropBrokenConsumer),
// recreates its consumer, and applies what was not applied yet; the
// redelivery of what was is absorbed by the ledger (recorded once).
func TestRecreatesConsumerWithCorruptState(t *testing.T) {
	l := testdb.Open(t, testdb.SQLite)
	dir := t.TempDir()
	names, err := events.NewNames(natstest.RandomNamespace())
	if err != nil {
		t.Fatal(err)
	}

	env := ownEmbedded(t, dir, names)
	h := stagetest.NewOn(t, env, l, stagetest.WithoutAPI())
	var ids []string
	for i := 0; i < 5; i++ {
		id := fmt.Sprint(1000 + i)
		ids = append(ids, id)
		h.PublishContract(id, "SEAL", lifecycle.Signing)
	}
	h.Start()
	eventsPerContract(t, l, ids, 1, "first events applied")
	stagetest.Eventually(t, "all acked", h.Settled)
	h.Stop()
	// Published while no dispatcher runs: still to apply after the cut.
	for _, id := range ids {
		h.PublishContract(id, "COMPLETE", lifecycle.Complete)
	}
	env.NC.Close()
	env.Embedded.Shutdown()

	odat := filepath.Join(dir, "jetstream", "$G", "streams", names.CallbacksStream(), "obs",
		names.Durable(events.DurableLedger), "o.dat")
	st, err := os.Stat(odat)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(odat, make([]byte, max(st.Size(), 80)), 0o600); err != nil {
		t.Fatal(err)
	}

	env2 := ownEmbedded(t, dir, names)
	t.Cleanup(env2.Embedded.Shutdown)
	t.Cleanup(env2.NC.Close)
	h2 := stagetest.NewOn(t, env2, l, stagetest.WithoutAPI())
	h2.Config.DropBrokenConsumer = env2.Embedded.DropConsumerStore
	h2.Start()
	eventsPerContract(t, l, ids, 2, "events published before the cut applied after it")
	stagetest.Eventually(t, "all acked", h2.Settled)
	eventsPerContract(t, l, ids, 2, "nothing recorded twice once settled")
	// The recreated consumer starts from the stream's first message: the
	// five events applied before the cut come again, as duplicates.
	if n := counterValue(h2, "qyshook_dispatcher_events_applied_total", "duplicate"); n != 5 {
		t.Fatalf("duplicates absorbed by the ledger: %v, want 5 (the events applied before the cut)", n)
	}
	if n := counterValue(h2, "qyshook_dispatcher_consumer_recreated_total", ""); n != 1 {
		t.Fatalf("consumer recreations counted: %v, want 1", n)
	}
}

// TestRecreatesDeletedConsumerWhileRunning: the dispatcher's consumer
// deleted under a running dispatcher is recreated, and callbacks
// published after are applied.
func TestRecreatesDeletedConsumerWhileRunning(t *testing.T) {
	l := testdb.Open(t, testdb.SQLite)
	h := stagetest.New(t, l, stagetest.WithoutAPI())
	h.PublishContract("2000", "SEAL", lifecycle.Signing)
	h.Start()
	eventsPerContract(t, l, []string{"2000"}, 1, "first event applied")
	stagetest.Eventually(t, "all acked", h.Settled)
	ctx := context.Background()
	if err := h.NATS.JS.DeleteConsumer(ctx, h.NATS.Names.CallbacksStream(), h.NATS.Names.Durable(events.DurableLedger)); err != nil {
		t.Fatal(err)
	}
	h.PublishContract("2001", "SEAL", lifecycle.Signing)
	eventsPerContract(t, l, []string{"2000", "2001"}, 1, "event published after the deletion applied")
}
