package health_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/qyshook/qyshook/internal/embeddednats"
	"github.com/qyshook/qyshook/internal/health"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/testdb"
)

// response is a read HTTP answer.
type response struct {
	status      int
	contentType string
	body        string
}

func mustGet(tb testing.TB, h http.Handler, path string) response {
	tb.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		tb.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: string(b)}
}

// natsChecks are the checks both roles run, on env.
func natsChecks(env *natstest.Env, stream string) []health.Check {
	return []health.Check{health.NATSConnected(env.NC), health.Stream(env.JS, stream)}
}

func TestReady(t *testing.T) {
	env := natstest.New(t)
	h := health.Handler(health.Options{Checks: append(natsChecks(env, env.Names.CallbacksStream()),
		health.Database(testdb.Open(t, testdb.SQLite)))})
	for path, want := range map[string]string{"/healthz": `{"status":"ok"}`, "/readyz": `{"status":"ready"}`} {
		r := mustGet(t, h, path)
		if r.status != 200 || r.body != want || r.contentType != "application/json" {
			t.Errorf("GET %s: %d %s %q, want 200 %q", path, r.status, r.contentType, r.body, want)
		}
	}
}

func TestReadyzStreamUnavailable(t *testing.T) {
	env := natstest.New(t)
	h := health.Handler(health.Options{Checks: natsChecks(env, "NO_SUCH_STREAM_"+env.Names.Namespace)})
	if r := mustGet(t, h, "/readyz"); r.status != 503 || r.body != `{"status":"unavailable","reason":"stream_unavailable"}` {
		t.Fatalf("readyz %d %s", r.status, r.body)
	}
}

func TestReadyzNATSDisconnected(t *testing.T) {
	srv, err := embeddednats.Start(embeddednats.Options{StoreDir: t.TempDir(), ListenAddr: "127.0.0.1:-1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	h := health.Handler(health.Options{Checks: []health.Check{health.NATSConnected(nc)}})
	if r := mustGet(t, h, "/readyz"); r.status != 200 {
		t.Fatalf("readyz before shutdown %d %s", r.status, r.body)
	}
	srv.Shutdown()
	if r := mustGet(t, h, "/readyz"); r.status != 503 || !strings.Contains(r.body, `"reason":"nats_disconnected"`) {
		t.Fatalf("readyz %d %s", r.status, r.body)
	}
	if r := mustGet(t, h, "/healthz"); r.status != 200 {
		t.Fatalf("healthz %d while NATS is down", r.status)
	}
}

func TestReadyzDatabaseUnavailable(t *testing.T) {
	env := natstest.New(t)
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			ledger := testdb.Open(t, kind)
			h := health.Handler(health.Options{Checks: append(natsChecks(env, env.Names.CallbacksStream()), health.Database(ledger))})
			if r := mustGet(t, h, "/readyz"); r.status != 200 {
				t.Fatalf("readyz with an open ledger %d %s", r.status, r.body)
			}
			if err := ledger.Close(); err != nil {
				t.Fatal(err)
			}
			if r := mustGet(t, h, "/readyz"); r.status != 503 || !strings.Contains(r.body, `"reason":"database_unavailable"`) {
				t.Fatalf("readyz %d %s", r.status, r.body)
			}
		})
	}
}

// TestReadyzTimeout: a check that never answers by itself is cut by the
// timeout and reported, instead of holding the probe.
func TestReadyzTimeout(t *testing.T) {
	hang := health.Check{Reason: "hangs", Ready: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}
	h := health.Handler(health.Options{Checks: []health.Check{hang}, Timeout: 1})
	if r := mustGet(t, h, "/readyz"); r.status != 503 || !strings.Contains(r.body, `"reason":"hangs"`) {
		t.Fatalf("readyz %d %s", r.status, r.body)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "qyshook_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Inc()
	if r := mustGet(t, health.Handler(health.Options{Gatherer: reg}), "/metrics"); r.status != 200 || !strings.Contains(r.body, "qyshook_test_total 1") {
		t.Fatalf("metrics %d:\n%s", r.status, r.body)
	}
	if r := mustGet(t, health.Handler(health.Options{}), "/metrics"); r.status != 404 {
		t.Fatalf("metrics without a gatherer: %d, want 404", r.status)
	}
}

func TestProbesAreGetOnly(t *testing.T) {
	srv := httptest.NewServer(health.Handler(health.Options{}))
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/healthz", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST /healthz: %d, want 405", resp.StatusCode)
	}
}

// TestReadyzStoreFailed: the Store check passes on a healthy embedded
// server and reports nats_store_failed, code only (never the server's
// error text), once the server cannot vouch for its stores (here: shut
// down; a kept write error is TestEmbeddedStoreRecoversWithoutRestart's).
func TestReadyzStoreFailed(t *testing.T) {
	srv, err := embeddednats.Start(embeddednats.Options{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	h := health.Handler(health.Options{Checks: []health.Check{health.Store(srv.StoreError)}})
	if r := mustGet(t, h, "/readyz"); r.status != 200 {
		t.Fatalf("readyz on a healthy store %d %s", r.status, r.body)
	}
	srv.Shutdown()
	if r := mustGet(t, h, "/readyz"); r.status != 503 || r.body != `{"status":"unavailable","reason":"nats_store_failed"}` {
		t.Fatalf("readyz after shutdown %d %s", r.status, r.body)
	}
}

// TestReadyzDetails: Options.Details appear in every /readyz answer, ready
// or not.
func TestReadyzDetails(t *testing.T) {
	fail := true
	h := health.Handler(health.Options{Details: map[string]string{"nats_sync": "grouped"},
		Checks: []health.Check{{Reason: "x_failed", Ready: func(context.Context) error {
			if fail {
				return errors.New("not ready")
			}
			return nil
		}}}})
	if r := mustGet(t, h, "/readyz"); r.status != 503 || r.body != `{"status":"unavailable","reason":"x_failed","details":{"nats_sync":"grouped"}}` {
		t.Fatalf("readyz %d %s", r.status, r.body)
	}
	fail = false
	if r := mustGet(t, h, "/readyz"); r.status != 200 || r.body != `{"status":"ready","details":{"nats_sync":"grouped"}}` {
		t.Fatalf("readyz %d %s", r.status, r.body)
	}
}

// TestMoreDetails: details computed per answer join the constant ones and
// never change the status (the degraded note while the platform fails).
func TestMoreDetails(t *testing.T) {
	more := map[string]string{}
	h := health.Handler(health.Options{Details: map[string]string{"nats_sync": "grouped"}, MoreDetails: func() map[string]string { return more }})
	if r := mustGet(t, h, health.RouteReadyz); r.status != http.StatusOK || r.body != `{"status":"ready","details":{"nats_sync":"grouped"}}` {
		t.Errorf("without more: %d %s", r.status, r.body)
	}
	more["degraded"] = "platform API failing for 12 s"
	if r := mustGet(t, h, health.RouteReadyz); r.status != http.StatusOK ||
		r.body != `{"status":"ready","details":{"degraded":"platform API failing for 12 s","nats_sync":"grouped"}}` {
		t.Errorf("degraded: %d %s", r.status, r.body)
	}
}

// TestReadyzWarnings: a failing warning is listed and leaves the process
// ready; once it passes it is gone.
func TestReadyzWarnings(t *testing.T) {
	delayed := true
	h := health.Handler(health.Options{Warnings: []health.Check{{Reason: "anchoring_delayed", Ready: func(context.Context) error {
		if delayed {
			return errors.New("delayed")
		}
		return nil
	}}}})
	if r := mustGet(t, h, "/readyz"); r.status != 200 || r.body != `{"status":"ready","warnings":["anchoring_delayed"]}` {
		t.Fatalf("readyz %d %s", r.status, r.body)
	}
	delayed = false
	if r := mustGet(t, h, "/readyz"); r.status != 200 || r.body != `{"status":"ready"}` {
		t.Fatalf("readyz %d %s", r.status, r.body)
	}
}
