package natsconn_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/embeddednats"
	"github.com/qyshook/qyshook/internal/natsconn"
)

func TestConnectEmbedded(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := natsconn.Connect(ctx, natsconn.Options{EmbeddedStoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if c.Embedded == nil || !c.NC.IsConnected() {
		t.Fatalf("embedded=%v connected=%v", c.Embedded != nil, c.NC.IsConnected())
	}
	if _, err := c.JS.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.JS.Publish(ctx, "s.1", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if !c.NC.IsClosed() {
		t.Fatal("connection not closed")
	}
}

func TestConnectEmbeddedNeedsStoreDir(t *testing.T) {
	if _, err := natsconn.Connect(context.Background(), natsconn.Options{}); err == nil {
		t.Fatal("want error without store dir")
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func TestConnectRetriesUntilServerStarts(t *testing.T) {
	addr := freeAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := natsconn.Connect(ctx, natsconn.Options{URL: "nats://" + addr, ReconnectWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("Connect with the server down: %v", err)
	}
	defer c.Close()
	if c.NC.IsConnected() {
		t.Fatal("connected to nothing")
	}
	srv, err := embeddednats.Start(embeddednats.Options{StoreDir: t.TempDir(), ListenAddr: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	srv.Shutdown()
	deadline := time.Now().Add(5 * time.Second)
	for c.NC.IsConnected() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if c.NC.IsConnected() {
		t.Fatal("still connected after server shutdown")
	}
	srv2, err := embeddednats.Start(embeddednats.Options{StoreDir: t.TempDir(), ListenAddr: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer srv2.Shutdown()
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatalf("no reconnect: %v", err)
	}
}

// TestGroupedPublishesWaitForSync: on the embedded server's default
// (grouped sync), Publish and PublishMsg return only after a sync of the
// store that began after their PubAck, and the API offers Sync to
// asynchronous publishers; with nats-server syncing by itself (each
// write, interval) nothing waits.
func TestGroupedPublishesWaitForSync(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := natsconn.Connect(ctx, natsconn.Options{EmbeddedStoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	gs := c.Embedded.Syncer()
	if gs == nil {
		t.Skip("grouped sync needs Linux")
	}
	if _, err := c.JS.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}}); err != nil {
		t.Fatal(err)
	}
	before := gs.Stats()
	if _, err := c.JS.Publish(ctx, "s.1", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.JS.PublishMsg(ctx, &nats.Msg{Subject: "s.2", Data: []byte("y")}); err != nil {
		t.Fatal(err)
	}
	if err := events.SyncAcked(ctx, c.JS); err != nil {
		t.Fatal(err)
	}
	after := gs.Stats()
	if after.Waits-before.Waits != 3 || after.Rounds-before.Rounds != 3 {
		t.Fatalf("waits %d rounds %d, want 3 each (serial publishes)", after.Waits-before.Waits, after.Rounds-before.Rounds)
	}

	each, err := natsconn.Connect(ctx, natsconn.Options{EmbeddedStoreDir: t.TempDir(), EmbeddedSyncInterval: embeddednats.SyncEachWrite})
	if err != nil {
		t.Fatal(err)
	}
	defer each.Close()
	if each.Embedded.Syncer() != nil || !each.Embedded.SyncAlways() {
		t.Fatal("each-write: grouped, or not synced")
	}
	if _, ok := each.JS.(natsconn.Syncer); ok {
		t.Fatal("each-write: the JetStream API waits for a group sync")
	}
}
