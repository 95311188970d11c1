// Package natstest gives tests a JetStream: the external server named by
// QYSHOOK_TEST_NATS_URL when set (CI runs the machine's NATS 2.9), otherwise
// an embedded nats-server in a temporary directory. Each call gets its own
// random namespace, so parallel tests and runs never share streams.
package natstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/embeddednats"
	"github.com/qyshook/qyshook/internal/natsconn"
)

// Env is a JetStream for one test.
type Env struct {
	// URL is the server's client URL ("" for an in-process embedded server).
	URL string
	// Embedded is the embedded server, nil when external.
	Embedded *embeddednats.Server
	NC       *nats.Conn
	JS       jetstream.JetStream
	Names    events.Names
}

// ExternalURL returns QYSHOOK_TEST_NATS_URL.
func ExternalURL() string { return os.Getenv("QYSHOOK_TEST_NATS_URL") }

// RandomNamespace returns a fresh namespace token for a test.
func RandomNamespace() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "t" + hex.EncodeToString(b)
}

// New returns a JetStream with the streams provisioned (memory-light file
// storage settings suited to tests). Everything is cleaned up with tb.
func New(tb testing.TB) *Env {
	tb.Helper()
	return newEnv(tb, ExternalURL())
}

// NewEmbedded always uses an embedded server listening on a random
// loopback port (tests that stop and restart NATS need one they own).
func NewEmbedded(tb testing.TB) *Env {
	tb.Helper()
	return newEnv(tb, "")
}

// NewGrouped uses an in-process embedded server with the production
// default, grouped syncing where this machine allows it: JS waits for a
// sync of the store after each publish (natsconn). Env.URL is empty: no
// TCP client can join. Grouped reports whether syncs are grouped here.
func NewGrouped(tb testing.TB) (env *Env, grouped bool) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := natsconn.Connect(ctx, natsconn.Options{EmbeddedStoreDir: tb.TempDir(), Name: "natstest"})
	if err != nil {
		tb.Fatalf("natstest: %v", err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	names, err := events.NewNames(RandomNamespace())
	if err != nil {
		tb.Fatal(err)
	}
	env = &Env{Embedded: conn.Embedded, NC: conn.NC, JS: conn.JS, Names: names}
	if err := names.Provision(ctx, conn.JS, TestStreamSettings()); err != nil {
		tb.Fatalf("natstest: provision: %v", err)
	}
	return env, conn.Embedded.Syncer() != nil
}

func newEnv(tb testing.TB, url string) *Env {
	tb.Helper()
	env := &Env{}
	if url == "" {
		srv, err := embeddednats.Start(embeddednats.Options{StoreDir: tb.TempDir(), ListenAddr: "127.0.0.1:-1", ListenPublish: true})
		if err != nil {
			tb.Fatalf("natstest: %v", err)
		}
		tb.Cleanup(srv.Shutdown)
		env.Embedded = srv
		url = srv.ClientURL()
	}
	env.URL = url
	nc, err := nats.Connect(url, nats.Name("natstest"))
	if err != nil {
		tb.Fatalf("natstest: connect %s: %v", url, err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatalf("natstest: jetstream: %v", err)
	}
	names, err := events.NewNames(RandomNamespace())
	if err != nil {
		tb.Fatal(err)
	}
	env.NC, env.JS, env.Names = nc, js, names
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := names.Provision(ctx, js, TestStreamSettings()); err != nil {
		tb.Fatalf("natstest: provision: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, cfg := range names.StreamConfigs(TestStreamSettings()) {
			_ = js.DeleteStream(ctx, cfg.Name)
		}
	})
	return env
}

// TestStreamSettings are the stream limits for tests: short retention and
// no byte cap, which a shared server would reserve storage for per stream.
func TestStreamSettings() events.StreamSettings {
	return events.StreamSettings{MaxAge: time.Hour, CallbackMaxAge: time.Hour, MaxBytes: -1, DuplicateWindow: 10 * time.Minute}
}

// StreamMessages returns every message of a stream, oldest first.
func StreamMessages(ctx context.Context, js jetstream.JetStream, stream string) ([]*jetstream.RawStreamMsg, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, err
	}
	var out []*jetstream.RawStreamMsg
	if info.State.Msgs == 0 {
		return nil, nil
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			continue // deleted
		}
		out = append(out, m)
	}
	return out, nil
}
