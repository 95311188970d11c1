package receiver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/receiver"
)

const (
	secretA = "0123456789abcdef" // tenant acme
	secretB = "fedcba9876543210" // tenant beta
	tokenB  = "callback-token"   // tenant onprem (format B)
)

var window = qys.Window{Past: 72 * time.Hour, Future: 5 * time.Minute}

// testTenants are acme and beta (format A) and onprem (format B).
func testTenants(tb testing.TB) map[string]*qys.Verifier {
	tb.Helper()
	return map[string]*qys.Verifier{
		"acme":   mustVerifier(tb, qys.VerifierConfig{Format: qys.FormatA, Cipher: qys.CipherECB, Secrets: []string{secretA}, Window: window}),
		"beta":   mustVerifier(tb, qys.VerifierConfig{Format: qys.FormatA, Cipher: qys.CipherECB, Secrets: []string{secretB}, Window: window}),
		"onprem": mustVerifier(tb, qys.VerifierConfig{Format: qys.FormatB, Cipher: qys.CipherECB, Secrets: []string{secretA}, Token: tokenB, Window: window}),
	}
}

func mustVerifier(tb testing.TB, cfg qys.VerifierConfig) *qys.Verifier {
	tb.Helper()
	v, err := qys.NewVerifier(cfg)
	if err != nil {
		tb.Fatalf("NewVerifier: %v", err)
	}
	return v
}

// harness is a Receiver on real HTTP over a real JetStream, with its
// registry on /metrics. The probes (/healthz, /readyz) are internal/health's.
type harness struct {
	nats *natstest.Env
	rc   *receiver.Receiver
	http *httptest.Server
	reg  *prometheus.Registry
	logs *syncBuffer
}

// newHarness starts a receiver on env (natstest.New when nil).
func newHarness(tb testing.TB, env *natstest.Env, modify ...func(*receiver.Options)) *harness {
	tb.Helper()
	if env == nil {
		env = natstest.New(tb)
	}
	h := &harness{nats: env, reg: prometheus.NewRegistry(), logs: &syncBuffer{}}
	o := receiver.Options{
		Tenants: testTenants(tb), Publisher: env.JS, Names: env.Names,
		Logger:     zerolog.New(h.logs).Level(zerolog.InfoLevel),
		Registerer: h.reg, PublishTimeout: 2 * time.Second,
	}
	for _, m := range modify {
		m(&o)
	}
	rc, err := receiver.New(o)
	if err != nil {
		tb.Fatalf("receiver.New: %v", err)
	}
	h.rc = rc
	// The receiver's own metrics, served as internal/app serves them.
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(h.reg, promhttp.HandlerOpts{}))
	mux.Handle("/", rc)
	h.http = httptest.NewServer(mux)
	tb.Cleanup(h.http.Close)
	return h
}

// contractPayload is a format-A contract callback's decrypted content.
func contractPayload(contractID, callbackType, status string) map[string]any {
	return map[string]any{
		"contractId": contractID, "callbackType": callbackType, "contractStatus": status,
		"tenantType": "COMPANY", "tenantName": "某某科技有限公司", "tenantId": "2422042838839468036",
		"contact": "13800000000", "businessData": "order-42",
	}
}

// mustBuild encodes payload as a signed, encrypted format-A callback.
func mustBuild(tb testing.TB, cfg qys.SenderConfig, payload any, ts time.Time) *qys.Outgoing {
	tb.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		tb.Fatal(err)
	}
	out, err := qys.BuildCallback(cfg, b, ts)
	if err != nil {
		tb.Fatalf("BuildCallback: %v", err)
	}
	return out
}

func senderA(secret string) qys.SenderConfig {
	return qys.SenderConfig{Format: qys.FormatA, Secret: secret, Encrypt: true, Cipher: qys.CipherECB}
}

// response is a read HTTP answer.
type response struct {
	status      int
	contentType string
	body        string
}

func (h *harness) post(tb testing.TB, path, contentType string, body []byte) response {
	tb.Helper()
	return postURL(tb, h.http.URL+path, contentType, body)
}

func postURL(tb testing.TB, url, contentType string, body []byte) response {
	tb.Helper()
	resp, err := http.Post(url, contentType, bytes.NewReader(body))
	if err != nil {
		tb.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: string(b)}
}

func (h *harness) get(tb testing.TB, path string) response {
	tb.Helper()
	resp, err := http.Get(h.http.URL + path)
	if err != nil {
		tb.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: string(b)}
}

// streamMsgs returns the number of messages on the callbacks stream.
func streamMsgs(tb testing.TB, env *natstest.Env) uint64 {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := env.JS.Stream(ctx, env.Names.CallbacksStream())
	if err != nil {
		tb.Fatalf("stream: %v", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		tb.Fatalf("stream info: %v", err)
	}
	return info.State.Msgs
}

// storedEnvelopes returns every message of the callbacks stream.
func storedEnvelopes(tb testing.TB, js jetstream.JetStream, names events.Names) []*jetstream.RawStreamMsg {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, names.CallbacksStream())
	if err != nil {
		tb.Fatalf("stream: %v", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			tb.Fatalf("get msg %d: %v", seq, err)
		}
		out = append(out, m)
	}
	return out
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func contains(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}
