package app_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/qys"
)

const secret = "0123456789abcdef"

// load builds a configuration; natsEnv nil means the embedded server.
func load(t *testing.T, natsEnv *natstest.Env, extra map[string]string) *config.Config {
	t.Helper()
	vars := map[string]string{
		"QYSHOOK_HTTP_ADDR":          "127.0.0.1:0",
		"QYSHOOK_DATA_DIR":           t.TempDir(),
		"QYSHOOK_CALLBACK_SECRET":    secret,
		"QYSHOOK_PUBLISH_TIMEOUT":    "2s",
		"QYSHOOK_RECONCILE_INTERVAL": "0",
		"QYSHOOK_STREAM_MAX_AGE":     "1h",
		"QYSHOOK_DUPLICATE_WINDOW":   "10m",
	}
	if natsEnv != nil {
		vars["QYSHOOK_NATS_URL"] = natsEnv.URL
		vars["QYSHOOK_NATS_NAMESPACE"] = natsEnv.Names.Namespace
	} else {
		vars["QYSHOOK_NATS_NAMESPACE"] = natstest.RandomNamespace()
	}
	for k, v := range extra {
		vars[k] = v
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// start runs app.Run and returns its address and a stop function that
// returns Run's error.
func start(t *testing.T, cfg *config.Config, roles app.Roles) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- app.Run(ctx, cfg, zerolog.Nop(), roles, app.RunOptions{OnReady: func(a string) { ready <- a }})
	}()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			t.Fatal("app.Run did not stop")
			return nil
		}
	}
	t.Cleanup(func() { _ = stop() })
	select {
	case addr := <-ready:
		return addr, stop
	case err := <-done:
		t.Fatalf("app.Run: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("app.Run did not start")
	}
	return "", nil
}

func callback(t *testing.T, contractID string) *qys.Outgoing {
	t.Helper()
	out, err := qys.BuildCallback(qys.SenderConfig{Format: qys.FormatA, Secret: secret, Encrypt: true},
		[]byte(`{"contractId":"`+contractID+`","callbackType":"COMPLETE","contractStatus":"COMPLETE"}`), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func get(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestReceiverOnEmbeddedNATS runs the receiver role on its own embedded
// JetStream (no NATS URL) and stores a callback.
func TestReceiverOnEmbeddedNATS(t *testing.T) {
	addr, stop := start(t, load(t, nil, nil), app.Roles{Receiver: true})
	base := "http://" + addr
	if code := get(t, base+"/readyz"); code != 200 {
		t.Fatalf("readyz %d", code)
	}
	out := callback(t, "embedded-1")
	resp, err := http.Post(base+"/callbacks/default/contract", out.ContentType, bytes.NewReader(out.Body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "success" {
		t.Fatalf("callback answered %d %q", resp.StatusCode, b)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("listener still open after shutdown")
	}
}

// TestDispatcherRoleHealth serves the dispatcher's health and metrics.
func TestDispatcherRoleHealth(t *testing.T) {
	env := natstest.New(t)
	addr, _ := start(t, load(t, env, map[string]string{"QYSHOOK_DB": "sqlite://" + t.TempDir() + "/l.db"}), app.Roles{Dispatcher: true})
	base := "http://" + addr
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200, "/callbacks/default/contract": 404} {
		if code := get(t, base+path); code != want {
			t.Fatalf("GET %s: %d, want %d", path, code, want)
		}
	}
}

// TestReceiverRoleProbes: the receiver role serves the probes of
// internal/health beside the callback routes, with /readyz checking the
// configured callbacks stream and /metrics the receiver's own counters.
func TestReceiverRoleProbes(t *testing.T) {
	env := natstest.New(t)
	addr, _ := start(t, load(t, env, nil), app.Roles{Receiver: true})
	base := "http://" + addr
	out := callback(t, "probes-1")
	resp, err := http.Post(base+"/callbacks/default/contract", out.ContentType, bytes.NewReader(out.Body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if code, body := getBody(t, base+"/metrics"); code != 200 || !strings.Contains(body, `qyshook_receiver_requests_total{outcome="success",route="contract",tenant="default"} 1`) {
		t.Fatalf("metrics %d:\n%s", code, body)
	}
	if code, body := getBody(t, base+"/readyz"); code != 200 || !strings.HasPrefix(body, `{"status":"ready","details":{"nats_sync":"`) {
		t.Fatalf("readyz %d %s, want ready with the sync mode in its details", code, body)
	}
	if _, body := getBody(t, base+"/metrics"); !strings.Contains(body, "qyshook_nats_sync_mode{mode=") {
		t.Fatalf("no qyshook_nats_sync_mode in the metrics:\n%s", body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := env.JS.DeleteStream(ctx, env.Names.CallbacksStream()); err != nil {
		t.Fatal(err)
	}
	if code, body := getBody(t, base+"/readyz"); code != 503 || !strings.HasPrefix(body, `{"status":"unavailable","reason":"stream_unavailable","details":{"nats_sync":"`) {
		t.Fatalf("readyz without the stream %d %s", code, body)
	}
	if code, body := getBody(t, base+"/healthz"); code != 200 || body != `{"status":"ok"}` {
		t.Fatalf("healthz %d %s", code, body)
	}
}

func getBody(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestBadStreamConfigStopsStartup(t *testing.T) {
	cfg := load(t, nil, map[string]string{"QYSHOOK_STREAM_REPLICAS": "3"}) // one server cannot replicate
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := app.Run(ctx, cfg, zerolog.Nop(), app.Roles{Receiver: true}, app.RunOptions{}); err == nil {
		t.Fatal("Run succeeded with replicas 3 on one server")
	}
}

// slowBody is a request body whose second half arrives only when released.
type slowBody struct {
	first, rest []byte
	release     chan struct{}
	sentFirst   chan struct{}
	state       int
}

func (b *slowBody) Read(p []byte) (int, error) {
	switch b.state {
	case 0:
		b.state = 1
		n := copy(p, b.first)
		close(b.sentFirst)
		return n, nil
	case 1:
		<-b.release
		b.state = 2
		return copy(p, b.rest), nil
	}
	return 0, io.EOF
}

// TestShutdownDrainsInFlight stops qyshook while a callback is in flight:
// it is still answered success and stored, because the HTTP server drains
// before the NATS connection closes.
func TestShutdownDrainsInFlight(t *testing.T) {
	env := natstest.New(t)
	addr, stop := start(t, load(t, env, nil), app.Roles{Receiver: true})
	out := callback(t, "inflight-1")
	half := len(out.Body) / 2
	body := &slowBody{first: out.Body[:half], rest: out.Body[half:], release: make(chan struct{}), sentFirst: make(chan struct{})}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/callbacks/default/contract", struct{ io.Reader }{body})
	req.ContentLength = int64(len(out.Body))
	req.Header.Set("Content-Type", out.ContentType)
	type answer struct {
		status int
		body   string
	}
	answered := make(chan answer, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- answer{body: err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answered <- answer{resp.StatusCode, string(b)}
	}()
	<-body.sentFirst
	time.Sleep(100 * time.Millisecond) // the request is now in flight
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	time.Sleep(300 * time.Millisecond)
	select {
	case err := <-stopped:
		t.Fatalf("shutdown finished (%v) before the in-flight request", err)
	default:
	}
	close(body.release)
	if got := <-answered; got.status != 200 || got.body != "success" {
		t.Fatalf("in-flight request answered %d %q, want 200 success", got.status, got.body)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	st, err := env.JS.Stream(context.Background(), env.Names.CallbacksStream())
	if err != nil {
		t.Fatal(err)
	}
	if info, err := st.Info(context.Background()); err != nil || info.State.Msgs != 1 {
		t.Fatalf("stored %v, %v; want 1", info.State.Msgs, err)
	}
}
