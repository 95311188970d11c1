package admin

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
)

// Issue 21: the access holes an attacker found.

// TestConsoleSessionIsNotTheToken: the session cookie is a random value
// per sign-in, never the token; sign-out ends the session on the server
// (the old cookie, replayed, no longer works); a session expires on the
// server at SessionTTL whatever the browser keeps. Failed before: the
// cookie was the raw operator token and stayed valid after sign-out.
func TestConsoleSessionIsNotTheToken(t *testing.T) {
	f := newConsoleFixture(t)
	MustApply(t, f.ledger, "default", "c1", "SIGNING", base)
	c := f.client(t)
	resp := f.login(t, c, operatorToken)
	var value string
	for _, ck := range resp.Cookies() {
		if ck.Name == SessionCookie {
			value = ck.Value
		}
	}
	if value == "" || strings.Contains(value, operatorToken) {
		t.Fatalf("session cookie %q: want a random value, not the token", value)
	}
	if again := f.login(t, f.client(t), operatorToken); again.Cookies()[0].Value == value {
		t.Errorf("two sign-ins got the same session value")
	}
	replay := func() int {
		req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/api/v1/contracts/default/c1", nil)
		req.AddCookie(&http.Cookie{Name: SessionCookie, Value: value})
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := replay(); st != http.StatusOK {
		t.Fatalf("the session before sign-out: %d", st)
	}
	// The token itself as a cookie is no session.
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/api/v1/contracts", nil)
	req.AddCookie(&http.Cookie{Name: SessionCookie, Value: operatorToken})
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the raw token as a cookie: %v %v", resp.StatusCode, err)
	}
	req, _ = http.NewRequest(http.MethodPost, f.srv.URL+"/console/logout", nil)
	req.Header.Set("Origin", f.srv.URL)
	if _, err := c.Do(req); err != nil {
		t.Fatal(err)
	}
	if st := replay(); st != http.StatusUnauthorized {
		t.Errorf("the session replayed after sign-out: %d, want 401", st)
	}

	// Expiry on the server.
	a := f.con.o.API
	now := time.Now()
	a.sessions.now = func() time.Time { return now }
	v, err := a.sessions.start(hashedToken{role: RoleViewer}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := a.sessions.lookup(v); !ok {
		t.Fatal("a new session is unknown")
	}
	now = now.Add(time.Hour)
	if _, ok := a.sessions.lookup(v); ok {
		t.Errorf("a session outlived its expiry")
	}
}

// TestConsolePageIDWithSlash: the console's contract page of an id
// holding '/' is served (its script then calls the API at the escaped
// path, TestContractIDWithSlash).
func TestConsolePageIDWithSlash(t *testing.T) {
	f := newConsoleFixture(t)
	c := f.client(t)
	f.login(t, c, viewerToken)
	if st, _, _ := send(t, c, http.MethodGet, f.srv.URL+"/console/contracts/default/"+url.PathEscape("HT/2026/001"), nil); st != http.StatusOK {
		t.Errorf("contract page of HT/2026/001: %d", st)
	}
}

// syncWriter is a log sink safe for concurrent writes.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncWriter) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestFailedAuthCountedLoggedThrottled: wrong tokens are counted in
// qyshook_admin_auth_failures_total, logged at most once a minute per
// source with their count, and after MaxAuthFailures the source's
// failing attempts are answered 429 with Retry-After (a right token
// still gets in), until the window ends; failed and successful console
// sign-ins go to the audit trail. Failed before: nothing was counted,
// logged or slowed.
func TestFailedAuthCountedLoggedThrottled(t *testing.T) {
	logs := &syncWriter{}
	log := zerolog.New(logs)
	reg := prometheus.NewRegistry()
	ledger := testdb.Open(t, testdb.SQLite)
	n := natstest.New(t)
	a, err := New(Options{Tokens: []Token{{Secret: operatorToken, Role: RoleOperator}, {Secret: viewerToken, Role: RoleViewer}},
		Ledger: ledger, JS: n.JS, Names: n.Names, Logger: &log, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	con, err := NewConsole(ConsoleOptions{API: a})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(con)
	t.Cleanup(srv.Close)
	now := time.Now()
	var mu sync.Mutex
	a.failures.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	get := func(token string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/contracts", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	// One failed sign-in in the console, then wrong bearer tokens.
	form := url.Values{"token": {"wrong-sign-in-0123456789"}}.Encode()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/console/login", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong sign-in: %v %v", resp.StatusCode, err)
	}
	for i := 1; i < MaxAuthFailures; i++ {
		if st := get("wrong-token-0123456789").StatusCode; st != http.StatusUnauthorized {
			t.Fatalf("wrong token %d: %d", i, st)
		}
	}
	if got := testutil.ToFloat64(a.failures.metric.WithLabelValues(authUnknown)) + testutil.ToFloat64(a.failures.metric.WithLabelValues(authSignIn)); got != MaxAuthFailures {
		t.Errorf("failures counted %v, want %d", got, MaxAuthFailures)
	}
	if lines := strings.Count(logs.String(), "failed admin authentication"); lines != 1 {
		t.Errorf("%d log lines for %d failures in a minute, want 1:\n%s", lines, MaxAuthFailures, logs)
	}
	if strings.Contains(logs.String(), "wrong-token") || strings.Contains(logs.String(), "wrong-sign-in") {
		t.Errorf("a token reached the log")
	}
	// The source is throttled: a wrong token is answered 429, the right
	// one is accepted (TestThrottleSparesValidCredentials).
	resp := get("wrong-token-0123456789")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("throttled source with a wrong token: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if st := get(operatorToken).StatusCode; st != http.StatusOK {
		t.Errorf("throttled source with the right token: %d, want 200", st)
	}
	mu.Lock()
	now = now.Add(AuthFailureWindow)
	mu.Unlock()
	if st := get(operatorToken).StatusCode; st != http.StatusOK {
		t.Errorf("after the window: %d", st)
	}
	if st := get("wrong-token-0123456789").StatusCode; st != http.StatusUnauthorized {
		t.Errorf("a new failure: %d", st)
	}
	if lines := strings.Count(logs.String(), "failed admin authentication"); lines != 2 {
		t.Errorf("%d log lines after a minute, want 2:\n%s", lines, logs)
	}
	if mfs, err := reg.Gather(); err != nil || len(mfs) == 0 {
		t.Errorf("the metric is not registered: %v", err)
	}

	// A successful sign-in is audited too.
	req, _ = http.NewRequest(http.MethodPost, srv.URL+"/console/login", strings.NewReader(url.Values{"token": {viewerToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if resp, err := noRedirect.Do(req); err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %v %v", resp.StatusCode, err)
	}
	entries, err := ledger.(store.AdminLog).Audit(context.Background(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, e := range entries {
		if e.Action == "POST /console/login" {
			seen = append(seen, e.Who+" "+e.Outcome)
		}
	}
	if len(seen) != 2 || !strings.HasPrefix(seen[0], "viewer:") || !strings.Contains(seen[1], "anonymous refused") {
		t.Errorf("sign-ins in the audit trail: %q", seen)
	}
}

// TestDryRunAudited: a replay dry run is in the audit trail (failed
// before: only confirmed runs were).
func TestDryRunAudited(t *testing.T) {
	f := newFixture(t)
	sel := adminapi.ReplaySelector{Tenant: "default"}
	if st, raw := f.send(t, http.MethodPost, operatorToken, "/replays", adminapi.ReplayRequest{Selector: &sel, DryRun: true}); st != http.StatusOK {
		t.Fatalf("dry run: %d %s", st, raw)
	}
	entries, err := f.ledger.(store.AdminLog).Audit(context.Background(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Action != "POST /replays" || entries[0].Outcome != "dry run" || !strings.HasPrefix(entries[0].Who, "operator:") {
		t.Errorf("audit after a dry run: %+v", entries)
	}
}

// TestReconcileWindowBounded: a since more than 90 days back is refused
// with the bound in the message (failed before: 1970 was accepted).
func TestReconcileWindowBounded(t *testing.T) {
	ledger := testdb.Open(t, testdb.SQLite)
	n := natstest.New(t)
	a, err := New(Options{Tokens: []Token{{Secret: operatorToken, Role: RoleOperator}}, Ledger: ledger, JS: n.JS, Names: n.Names,
		Reconcile: func(context.Context, time.Time) (ReconcileResult, error) { return ReconcileResult{}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{srv: httptest.NewServer(a), ledger: ledger, nats: n}
	t.Cleanup(f.srv.Close)
	t.Cleanup(a.Close)
	st, raw := f.send(t, http.MethodPost, operatorToken, "/reconcile", adminapi.ReconcileRequest{Since: "1970-01-01T00:00:00Z"})
	if st != http.StatusBadRequest || !strings.Contains(string(raw), "90 days") {
		t.Errorf("since 1970: %d %s", st, raw)
	}
	ok := time.Now().Add(-89 * 24 * time.Hour).UTC().Format(time.RFC3339)
	if st, raw := f.send(t, http.MethodPost, operatorToken, "/reconcile", adminapi.ReconcileRequest{Since: ok}); st != http.StatusAccepted {
		t.Errorf("since 89 days back: %d %s", st, raw)
	}
}

// TestThrottleSparesValidCredentials reproduces "the failed-auth
// throttle locks out the operator and valid sessions": after another
// client at the same address failed MaxAuthFailures times, a console
// session opened before, the right bearer token and a sign-in with the
// right token are still accepted; only failing attempts are answered
// 429 (and still counted). Failed before: all of them got 429 for a
// minute, renewed by every further wrong guess.
func TestThrottleSparesValidCredentials(t *testing.T) {
	logs := &syncWriter{}
	log := zerolog.New(logs)
	ledger := testdb.Open(t, testdb.SQLite)
	n := natstest.New(t)
	a, err := New(Options{Tokens: []Token{{Secret: operatorToken, Role: RoleOperator}, {Secret: viewerToken, Role: RoleViewer}},
		Ledger: ledger, JS: n.JS, Names: n.Names, Logger: &log, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	con, err := NewConsole(ConsoleOptions{API: a})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(con)
	t.Cleanup(srv.Close)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	signIn := func(token string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/console/login", strings.NewReader(url.Values{"token": {token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	get := func(token, cookie string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/contracts", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: SessionCookie, Value: cookie})
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	// The operator signed in before.
	var session string
	for _, ck := range signIn(operatorToken).Cookies() {
		if ck.Name == SessionCookie {
			session = ck.Value
		}
	}
	if session == "" {
		t.Fatal("no session cookie")
	}
	// Someone else at the same address guesses.
	for i := 0; i < MaxAuthFailures; i++ {
		get("wrong-token-0123456789", "")
	}
	if resp := get("wrong-token-0123456789", ""); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a wrong token from a throttled source: %d Retry-After %q, want 429", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if st := get("", session).StatusCode; st != http.StatusOK {
		t.Errorf("a valid session from a throttled source: %d, want 200", st)
	}
	if st := get(viewerToken, "").StatusCode; st != http.StatusOK {
		t.Errorf("the right token from a throttled source: %d, want 200", st)
	}
	if st := signIn(operatorToken).StatusCode; st != http.StatusSeeOther {
		t.Errorf("a sign-in with the right token from a throttled source: %d, want 303", st)
	}
	if st := signIn("wrong-sign-in-0123456789").StatusCode; st != http.StatusTooManyRequests {
		t.Errorf("a wrong sign-in from a throttled source: %d, want 429", st)
	}
	// The refused attempts are still counted.
	if got := testutil.ToFloat64(a.failures.metric.WithLabelValues(authUnknown)) + testutil.ToFloat64(a.failures.metric.WithLabelValues(authSignIn)); got != MaxAuthFailures+2 {
		t.Errorf("failures counted %v, want %d", got, MaxAuthFailures+2)
	}
	if got := testutil.ToFloat64(a.failures.metric.WithLabelValues(authThrottled)); got != 2 {
		t.Errorf("throttled counted %v, want 2", got)
	}
}

// TestThrottleTableFull reproduces "a full throttle table never throttles
// a new source": with maxSources sources tracked and none expired, a new
// source failing 1,000 times is throttled and logged in a bounded number
// of lines. Failed before: the new source was never stored, so never
// throttled, and each of its failures logged a line.
func TestThrottleTableFull(t *testing.T) {
	logs := &syncWriter{}
	log := zerolog.New(logs)
	f, err := newAuthFailures(nil, &log)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	f.now = func() time.Time { return now }
	for i := 0; i < maxSources; i++ {
		f.fail(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), authUnknown, "/api/v1/contracts")
	}
	const src = "203.0.113.7"
	for i := 0; i < 1000; i++ {
		f.fail(src, authUnknown, "/api/v1/contracts")
	}
	if f.throttled(src) <= 0 {
		t.Errorf("a new source after 1,000 failures with the table full is not throttled")
	}
	if lines := strings.Count(logs.String(), `"source":"`+src+`"`); lines > 1 {
		t.Errorf("%d log lines for the new source's 1,000 failures within a minute, want 1", lines)
	}
	if len(f.sources) > maxSources {
		t.Errorf("%d sources tracked, more than %d", len(f.sources), maxSources)
	}
}
