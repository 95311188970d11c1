// Package verify_test runs the verifier examples (Go, Java, Python, PHP)
// and the Standard Webhooks project's JavaScript library against a live
// delivery of the delivery stage.
package verify_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/delivery"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/webhook"
)

// capture is one request as the endpoint received it.
type capture struct {
	header http.Header
	body   []byte
}

// liveDelivery runs the delivery stage to an endpoint signing with two
// secrets (a rotation's overlap) and returns the first request it got.
func liveDelivery(t *testing.T) (c capture, oldSecret, newSecret string) {
	t.Helper()
	env := natstest.NewEmbedded(t)
	es := testdb.Open(t, testdb.SQLite).(store.EndpointStore)
	var mu sync.Mutex
	var got []capture
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, capture{r.Header.Clone(), b})
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	oldSecret, _ = webhook.NewSecret()
	newSecret, _ = webhook.NewSecret()
	until := time.Now().Add(time.Hour)
	if err := es.SaveEndpoint(context.Background(), store.Endpoint{ID: "ep_examples", Tenant: "default", URL: srv.URL,
		Secrets:     []store.EndpointSecret{{Secret: oldSecret, CreatedAt: time.Now(), ExpiresAt: &until}, {Secret: newSecret, CreatedAt: time.Now()}},
		Concurrency: 1, AllowPrivate: true, AllowHTTP: true, Enabled: true, CreatedAt: time.Now().Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	st, err := delivery.New(delivery.Options{JS: env.JS, Names: env.Names, Store: es, Refresh: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = st.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	wait(t, func() bool { _, ok, _ := es.DeliveryCursor(ctx, events.DurableDeliveryFanout); return ok })
	body, _ := json.Marshal(events.Fact{Schema: events.SchemaLedgerV1, ID: "fact-examples-1", Tenant: "default",
		Kind: events.FactContractStatus, ContractID: "c1", Seq: 1, Status: "COMPLETE", Confirmed: true,
		BizID: "合同-001", OccurredAt: time.Now().UTC()})
	if _, err := env.JS.Publish(ctx, env.Names.LedgerContractSubject("default", "COMPLETE"), body, jetstream.WithMsgID("fact-examples-1")); err != nil {
		t.Fatal(err)
	}
	wait(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) > 0 })
	mu.Lock()
	defer mu.Unlock()
	if n := len(strings.Fields(got[0].header.Get(webhook.HeaderSignature))); n != 2 {
		t.Fatalf("%d signatures during the overlap, want 2", n)
	}
	return got[0], oldSecret, newSecret
}

func wait(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("gave up waiting")
		}
	}
}

// verifier is one example's command line, built in dir.
type verifier struct {
	name  string
	tool  string // the program that must be installed
	build func(t *testing.T, dir string) []string
}

var verifiers = []verifier{
	{"go", "go", func(t *testing.T, dir string) []string {
		bin := filepath.Join(dir, "verify-go")
		run(t, "go", "build", "-o", bin, "./go")
		return []string{bin}
	}},
	{"java", "javac", func(t *testing.T, dir string) []string {
		run(t, "javac", "-d", dir, "java/Verify.java")
		return []string{"java", "-cp", dir, "Verify"}
	}},
	{"python", "python3", func(*testing.T, string) []string { return []string{"python3", "python/verify.py"} }},
	{"php", "php", func(*testing.T, string) []string { return []string{"php", "php/verify.php"} }},
	{"standardwebhooks (npm)", "node", func(t *testing.T, _ string) []string {
		if _, err := os.Stat("node/node_modules/standardwebhooks"); err != nil {
			t.Skip("npm package standardwebhooks not installed: cd examples/verify/node && npm ci (.ci/run does)")
		}
		return []string{"node", "node/verify.js"}
	}},
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// TestVerifiersAcceptALiveDelivery: each verifier accepts the delivery
// with either secret of the overlap, and refuses it with another secret,
// with a changed body and with a changed webhook-id.
func TestVerifiersAcceptALiveDelivery(t *testing.T) {
	c, oldSecret, newSecret := liveDelivery(t)
	dir := t.TempDir()
	bodyFile := filepath.Join(dir, "body.json")
	tampered := filepath.Join(dir, "tampered.json")
	if err := os.WriteFile(bodyFile, c.body, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tampered, []byte(strings.Replace(string(c.body), "COMPLETE", "REJECTED", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	other, _ := webhook.NewSecret()
	id, ts, sig := c.header.Get(webhook.HeaderID), c.header.Get(webhook.HeaderTimestamp), c.header.Get(webhook.HeaderSignature)
	for _, v := range verifiers {
		t.Run(v.name, func(t *testing.T) {
			if _, err := exec.LookPath(v.tool); err != nil {
				t.Skipf("%s not installed (.ci/run installs it)", v.tool)
			}
			cmd := v.build(t, t.TempDir())
			for _, tc := range []struct {
				name                 string
				secret, id, bodyFile string
				valid                bool
			}{
				{"previous secret", oldSecret, id, bodyFile, true},
				{"new secret", newSecret, id, bodyFile, true},
				{"another secret", other, id, bodyFile, false},
				{"changed body", newSecret, id, tampered, false},
				{"changed webhook-id", newSecret, id + "x", bodyFile, false},
			} {
				args := append(append([]string{}, cmd[1:]...), tc.secret, tc.id, ts, sig, tc.bodyFile)
				out, err := exec.Command(cmd[0], args...).CombinedOutput()
				valid := err == nil && strings.TrimSpace(string(out)) == "valid"
				if valid != tc.valid {
					t.Errorf("%s: %s says %q (%v), want valid=%v", tc.name, v.name, strings.TrimSpace(string(out)), err, tc.valid)
				}
			}
		})
	}
}
