package receiver_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/receiver"
)

func testLogger(testing.TB) zerolog.Logger { return zerolog.Nop() }

// testConfig is a loaded configuration on env's NATS (embedded when env is
// nil) with the test tenants.
func testConfig(tb testing.TB, env *natstest.Env) *config.Config {
	tb.Helper()
	vars := map[string]string{
		"QYSHOOK_HTTP_ADDR":       "127.0.0.1:0",
		"QYSHOOK_DATA_DIR":        tb.TempDir(),
		"QYSHOOK_CALLBACK_SECRET": secretA,
		"QYSHOOK_PUBLISH_TIMEOUT": "2s",
	}
	if env != nil {
		vars["QYSHOOK_NATS_URL"] = env.URL
		vars["QYSHOOK_NATS_NAMESPACE"] = env.Names.Namespace
	} else {
		vars["QYSHOOK_NATS_NAMESPACE"] = natstest.RandomNamespace()
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Tenants = testTenants()
	cfg.Stream = natstest.TestStreamSettings()
	return cfg
}

// TestMainEmbedded runs the standalone receiver on its own embedded
// JetStream (no NATS URL) and stores one callback.
func TestMainEmbedded(t *testing.T) {
	m := receiver.NewMain(testConfig(t, nil), testLogger(t))
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Conn().Embedded == nil {
		t.Fatal("no embedded server")
	}
	resp, err := http.Get(m.URL() + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", resp, err)
	}
	resp.Body.Close()
	out := mustBuild(t, senderA(secretA), contractPayload("main-1", "COMPLETE", "COMPLETE"), time.Now())
	got := postURL(t, m.URL()+"/callbacks/acme/contract", out.ContentType, out.Body)
	if got.status != 200 || got.body != "success" {
		t.Fatalf("%d %q", got.status, got.body)
	}
	names, _ := m.Config.Names()
	if msgs := storedEnvelopes(t, m.Conn().JS, names); len(msgs) != 1 {
		t.Fatalf("stored %d", len(msgs))
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if !m.Conn().NC.IsClosed() {
		t.Fatal("nats connection open after Close")
	}
}

func TestMainFailsOnBadStreamConfig(t *testing.T) {
	cfg := testConfig(t, nil)
	cfg.Stream.Replicas = 3 // a single server cannot replicate
	m := receiver.NewMain(cfg, testLogger(t))
	if err := m.Run(context.Background()); err == nil {
		_ = m.Close()
		t.Fatal("Run succeeded with replicas 3 on one server")
	}
}

func TestNewRequiresConnection(t *testing.T) {
	if _, err := receiver.New(receiver.Options{Tenants: testTenants()}); err == nil {
		t.Fatal("New without NATS succeeded")
	}
}
