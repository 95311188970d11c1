package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/admin"
	"github.com/qyshook/qyshook/delivery"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/webhook"
)

// TestEndpointsThroughTheAPI: `qyshook endpoints add` refuses a private
// address without --allow-private, then adds the endpoint and prints its
// id and whsec_ secret; a fact published on QYS_LEDGER reaches the
// endpoint signed with that secret; test, show, list, rotate-secret,
// disable, enable and delete answer; every write is audited.
func TestEndpointsThroughTheAPI(t *testing.T) {
	n := natstest.NewEmbedded(t)
	l := testdb.Open(t, testdb.SQLite)
	var mu sync.Mutex
	var secret string
	var got []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := webhook.Verify(secret, r.Header, body, time.Now()); err != nil {
			t.Errorf("receiver: %v", err)
			w.WriteHeader(401)
			return
		}
		got = append(got, r.Header.Get(webhook.HeaderID))
		w.WriteHeader(204)
	}))
	t.Cleanup(recv.Close)
	srv := newOperatorAPI(t, l, n)
	st, err := delivery.New(delivery.Options{JS: n.JS, Names: n.Names, Store: l.(store.EndpointStore), Refresh: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = st.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	vars, _ := clientVars(t, srv.URL, opsOperatorToken)

	r := mustOpsRun(t, 2, vars, "endpoints", "add", "--tenant", "default", "--url", recv.URL, "--allow-http")
	if !strings.Contains(r.stderr, "private") || !strings.Contains(r.stderr, "--allow-private") {
		t.Fatalf("a loopback URL without --allow-private:\n%s", r)
	}
	r = mustOpsRun(t, 0, vars, "endpoints", "add", "--tenant", "default", "--url", recv.URL, "--types", "contract.COMPLETE",
		"--allow-private", "--allow-http")
	m := regexp.MustCompile(`(?m)^endpoint (ep_\w+)\nsecret   (whsec_\S+)$`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("add printed no id and secret:\n%s", r)
	}
	id := m[1]
	mu.Lock()
	secret = m[2]
	mu.Unlock()

	for {
		if _, ok, _ := l.(store.EndpointStore).DeliveryCursor(ctx, events.DurableDeliveryFanout); ok {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	body, _ := json.Marshal(events.Fact{Schema: events.SchemaLedgerV1, ID: "fact-cli-1", Tenant: "default",
		Kind: events.FactContractStatus, ContractID: "c1", Seq: 1, Status: "COMPLETE", OccurredAt: time.Now().UTC()})
	if _, err := n.JS.Publish(ctx, n.Names.LedgerContractSubject("default", "COMPLETE"), body, jetstream.WithMsgID("fact-cli-1")); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the fact never reached the endpoint")
		}
	}

	r = mustOpsRun(t, 0, vars, "endpoints", "test", id)
	if !strings.Contains(r.stdout, "204") {
		t.Fatalf("test:\n%s", r)
	}
	r = mustOpsRun(t, 0, vars, "endpoints", "show", id)
	if !strings.Contains(r.stdout, recv.URL) || strings.Contains(r.stdout, "whsec_") {
		t.Fatalf("show (must not print a secret):\n%s", r)
	}
	var list []map[string]any
	mustOpsJSON(t, mustOpsRun(t, 0, vars, "endpoints", "list", "--json"), &list)
	if len(list) != 1 || list[0]["id"] != id {
		t.Fatalf("list: %v", list)
	}
	r = mustOpsRun(t, 0, vars, "endpoints", "rotate-secret", id, "--overlap", "1h")
	if !strings.Contains(r.stdout, "whsec_") || !strings.Contains(r.stdout, "2 signatures") {
		t.Fatalf("rotate-secret:\n%s", r)
	}
	mustOpsRun(t, 0, vars, "endpoints", "disable", id)
	mustOpsRun(t, 0, vars, "endpoints", "enable", id)
	mustOpsRun(t, 0, vars, "endpoints", "attempts", id)
	mustOpsRun(t, 0, vars, "endpoints", "replay", id, "--since", "2026-01-01T00:00:00Z")
	mustOpsRun(t, 2, vars, "endpoints", "purge", id, "--all")
	mustOpsRun(t, 0, vars, "endpoints", "delete", id)
	mustOpsRun(t, 4, vars, "endpoints", "show", id) // not found

	audit, err := l.(store.AdminLog).Audit(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range audit {
		actions = append(actions, a.Action)
		if strings.Contains(string(a.Selector), "whsec_") {
			t.Fatalf("an audit entry holds a secret: %s", a.Selector)
		}
	}
	for _, want := range []string{"POST /endpoints", "POST /endpoints/{id}/rotate-secret", "POST /endpoints/{id}/disable", "DELETE /endpoints/{id}"} {
		if !strings.Contains(strings.Join(actions, "\n"), want) {
			t.Errorf("no audit entry %q in %v", want, actions)
		}
	}
}

// TestEndpointRemovedFromConfigDeletes: an endpoint the config file
// declared, then dropped, is shown as config-removed and disabled, and
// `endpoints delete` deletes it (before, the API refused: 409, config).
func TestEndpointRemovedFromConfigDeletes(t *testing.T) {
	n := natstest.NewEmbedded(t)
	l := testdb.Open(t, testdb.SQLite)
	es := l.(store.EndpointStore)
	ctx := context.Background()
	decl := config.Endpoint{ID: "erp", Tenant: "default", URL: "https://erp.example.com/hook",
		Secrets: []config.Secret{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}
	if err := app.SyncConfigEndpoints(ctx, es, []config.Endpoint{decl}); err != nil {
		t.Fatal(err)
	}
	vars, _ := clientVars(t, newOperatorAPI(t, l, n).URL, opsOperatorToken)
	if r := mustOpsRun(t, 1, vars, "endpoints", "delete", "erp"); !strings.Contains(r.stderr, "config file") {
		t.Fatalf("delete a config endpoint:\n%s", r)
	}
	if err := app.SyncConfigEndpoints(ctx, es, nil); err != nil {
		t.Fatal(err)
	}
	r := mustOpsRun(t, 0, vars, "endpoints", "show", "erp")
	if !strings.Contains(r.stdout, "config-removed") || !strings.Contains(r.stdout, "removed from the config file") {
		t.Fatalf("show an endpoint removed from the config:\n%s", r)
	}
	mustOpsRun(t, 0, vars, "endpoints", "delete", "erp")
	if _, err := es.Endpoint(ctx, "erp"); err == nil {
		t.Fatal("not deleted")
	}
}

// newOperatorAPI serves the admin API over l and n to an operator token.
func newOperatorAPI(t *testing.T, l store.Ledger, n *natstest.Env) *httptest.Server {
	t.Helper()
	api, err := admin.New(admin.Options{Tokens: []admin.Token{{Secret: opsOperatorToken, Role: admin.RoleOperator}},
		Ledger: l, JS: n.JS, Names: n.Names})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(func() { srv.Close(); api.Close() })
	return srv
}
