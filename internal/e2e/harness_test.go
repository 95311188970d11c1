package e2e_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/qys/qystest"
)

// stack is a configuration of qyshook pointed at test parts.
type stack struct {
	nats    *natstest.Env
	fake    *qystest.Server
	dbURL   string
	dataDir string
	secret  string
	env     map[string]string
}

func newStack(t *testing.T, dbURL string) *stack {
	t.Helper()
	s := &stack{nats: natstest.New(t), dbURL: dbURL, dataDir: t.TempDir(), secret: rand.Text()[:16]}
	s.fake = qystest.NewServer()
	t.Cleanup(s.fake.Close)
	s.env = map[string]string{
		"QYSHOOK_HTTP_ADDR":          "127.0.0.1:0",
		"QYSHOOK_NATS_URL":           s.nats.URL,
		"QYSHOOK_NATS_NAMESPACE":     s.nats.Names.Namespace,
		"QYSHOOK_DB":                 dbURL,
		"QYSHOOK_DATA_DIR":           s.dataDir,
		"QYSHOOK_CALLBACK_SECRET":    s.secret,
		"QYSHOOK_QYS_BASE_URL":       s.fake.URL,
		"QYSHOOK_QYS_APP_TOKEN":      s.fake.AppToken,
		"QYSHOOK_QYS_APP_SECRET":     s.fake.AppSecret,
		"QYSHOOK_RECONCILE_INTERVAL": "0",
		"QYSHOOK_DUPLICATE_WINDOW":   "10m",
		"QYSHOOK_STREAM_MAX_AGE":     "1h",
		"QYSHOOK_LOG_LEVEL":          "warn",
	}
	return s
}

func (s *stack) getenv(k string) string { return s.env[k] }

func (s *stack) config(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Load(s.getenv)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// run starts qyshook in-process with the roles and returns its address.
func (s *stack) run(t *testing.T, roles app.Roles) string {
	t.Helper()
	cfg := s.config(t)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- app.Run(ctx, cfg, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel), roles,
			app.RunOptions{OnReady: func(addr string) { ready <- addr }})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("app.Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("qyshook did not stop")
		}
	})
	select {
	case addr := <-ready:
		return addr
	case err := <-done:
		t.Fatalf("app.Run: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("qyshook did not start")
	}
	return ""
}
