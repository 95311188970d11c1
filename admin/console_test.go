package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"html/template"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/docstore"
)

// consoleFixture is the console over a real SQLite ledger, a JetStream
// and a document store.
type consoleFixture struct {
	srv    *httptest.Server
	ledger store.Ledger
	nats   *natstest.Env
	docs   *docstore.Store
	con    *Console
}

func newConsoleFixture(tb testing.TB) *consoleFixture {
	tb.Helper()
	f := &consoleFixture{ledger: testdb.Open(tb, testdb.SQLite), nats: natstest.New(tb), docs: docstore.New(tb.TempDir())}
	a, err := New(Options{
		Tokens: []Token{{Secret: operatorToken, Role: RoleOperator}, {Secret: viewerToken, Role: RoleViewer}},
		Ledger: f.ledger, JS: f.nats.JS, Names: f.nats.Names,
	})
	if err != nil {
		tb.Fatal(err)
	}
	if f.con, err = NewConsole(ConsoleOptions{API: a, Docs: f.docs}); err != nil {
		tb.Fatal(err)
	}
	f.srv = httptest.NewServer(f.con)
	f.srv.Config.RegisterOnShutdown(f.con.CloseStreams)
	tb.Cleanup(f.srv.Close)
	return f
}

// client is a browser-like client: a cookie jar, no redirects followed.
func (f *consoleFixture) client(tb testing.TB) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (f *consoleFixture) login(tb testing.TB, c *http.Client, token string) *http.Response {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/console/login", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", f.srv.URL)
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func send(tb testing.TB, c *http.Client, method, u string, header map[string]string) (int, string, http.Header) {
	tb.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader("{}"))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// TestConsoleCatalogs: both catalogs have the same keys, and every key the
// templates and the script use is in them.
func TestConsoleCatalogs(t *testing.T) {
	cats, err := loadCatalogs()
	if err != nil {
		t.Fatal(err)
	}
	en, zh := slices.Sorted(maps.Keys(cats["en"])), slices.Sorted(maps.Keys(cats["zh"]))
	for _, k := range en {
		if _, ok := cats["zh"][k]; !ok {
			t.Errorf("key %q is in messages.en.json, not in messages.zh.json", k)
		}
	}
	for _, k := range zh {
		if _, ok := cats["en"][k]; !ok {
			t.Errorf("key %q is in messages.zh.json, not in messages.en.json", k)
		}
	}
	for l, m := range cats {
		for k, v := range m {
			if strings.TrimSpace(v) == "" {
				t.Errorf("%s: %q is empty", l, k)
			}
		}
	}
	used := map[string]bool{}
	entries, _ := consoleFS.ReadDir("templates")
	tplKey := regexp.MustCompile(`\.T "([a-z_.-]+)"`)
	for _, e := range entries {
		b, _ := consoleFS.ReadFile("templates/" + e.Name())
		for _, m := range tplKey.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
		}
	}
	js, _ := consoleFS.ReadFile("static/console.js")
	for _, m := range regexp.MustCompile(`T\('([a-z_.-]+)'\)`).FindAllStringSubmatch(string(js), -1) {
		used[m[1]] = true
	}
	for _, p := range append([]string{"login", "contract", "certification"}, consolePages...) {
		used["title."+p] = true
	}
	for _, p := range consolePages {
		used["nav."+p] = true
	}
	if len(used) < 50 {
		t.Fatalf("found only %d keys in use; the scan is broken", len(used))
	}
	for k := range used {
		if _, ok := cats["en"][k]; !ok {
			t.Errorf("key %q is used but not in the catalogs", k)
		}
	}
}

func TestPickLang(t *testing.T) {
	for _, tc := range []struct{ header, want string }{
		{"", "en"},
		{"zh-CN,zh;q=0.9,en;q=0.8", "zh"},
		{"en-US,en;q=0.9,zh-CN;q=0.8", "en"},
		{"fr-FR,zh-TW;q=0.5,en;q=0.4", "zh"},
		{"fr", "en"},
		{"en;q=0.2, zh;q=0.9", "zh"},
		{"zh;q=0, en;q=0.1", "en"},
		{"zh;q=abc", "en"},
	} {
		if got := pickLang(tc.header); got != tc.want {
			t.Errorf("pickLang(%q) = %q, want %q", tc.header, got, tc.want)
		}
	}
}

func TestConsoleLoginAndLanguage(t *testing.T) {
	f := newConsoleFixture(t)
	c := f.client(t)
	if st, _, h := send(t, c, http.MethodGet, f.srv.URL+"/console/", nil); st != http.StatusSeeOther || h.Get("Location") != "/console/login?next=%2Fconsole%2F" {
		t.Fatalf("no session: %d to %q, want the login page", st, h.Get("Location"))
	}
	if st, _, h := send(t, c, http.MethodGet, f.srv.URL+"/", nil); st != http.StatusSeeOther || h.Get("Location") != "/console/" {
		t.Fatalf("/: %d to %q", st, h.Get("Location"))
	}
	// The browser's language picks; the switch's cookie overrides.
	if _, body, h := send(t, c, http.MethodGet, f.srv.URL+"/console/login", map[string]string{"Accept-Language": "zh-CN,zh;q=0.9"}); !strings.Contains(body, "登录") || h.Get("Content-Language") != "zh" {
		t.Errorf("zh browser: Content-Language %q, body without 登录", h.Get("Content-Language"))
	}
	if st, _, h := send(t, c, http.MethodGet, f.srv.URL+"/console/lang/en?back=/console/login", nil); st != http.StatusSeeOther || h.Get("Location") != "/console/login" {
		t.Fatalf("switch: %d to %q", st, h.Get("Location"))
	}
	if _, body, _ := send(t, c, http.MethodGet, f.srv.URL+"/console/login", map[string]string{"Accept-Language": "zh-CN"}); !strings.Contains(body, "Sign in") || strings.Contains(body, "登录</") {
		t.Errorf("the en switch did not override Accept-Language zh")
	}
	if _, _, h := send(t, c, http.MethodGet, f.srv.URL+"/console/lang/zh?back=//evil.example/", nil); h.Get("Location") != "/console/" {
		t.Errorf("switch back to another site: Location %q", h.Get("Location"))
	}
	if st, _, _ := send(t, c, http.MethodGet, f.srv.URL+"/console/lang/fr", nil); st != http.StatusNotFound {
		t.Errorf("unknown language: %d", st)
	}

	if resp := f.login(t, c, "wrong-token-0123456789"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong token: %d", resp.StatusCode)
	}
	// Another site's form cannot sign the browser in.
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/console/login", strings.NewReader("token="+operatorToken))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if resp, err := c.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site login: %v %v", resp.StatusCode, err)
	}

	// Behind a TLS proxy the cookie is Secure.
	req, _ = http.NewRequest(http.MethodPost, f.srv.URL+"/console/login", strings.NewReader("token="+viewerToken))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-Proto", "https")
	if resp, err := f.client(t).Do(req); err != nil || len(resp.Cookies()) != 1 || !resp.Cookies()[0].Secure {
		t.Errorf("login behind TLS: cookie not Secure (%v)", err)
	}

	resp := f.login(t, c, viewerToken)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == SessionCookie {
			session = ck
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Secure || session.Path != "/" {
		t.Fatalf("session cookie = %+v, want HttpOnly, SameSite=Strict, not Secure on plain HTTP", session)
	}
	st, body, h := send(t, c, http.MethodGet, f.srv.URL+"/console/", nil)
	if st != http.StatusOK || !strings.Contains(body, `data-role="viewer"`) || !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("overview: %d csp %q", st, h.Get("Content-Security-Policy"))
	}
	for _, p := range []string{"/console/contracts", "/console/certifications", "/console/dead-letters", "/console/replay", "/console/live", "/console/contracts/default/c1", "/console/static/console.js", "/console/static/console.css"} {
		if st, body, _ := send(t, c, http.MethodGet, f.srv.URL+p, nil); st != http.StatusOK || strings.Contains(body, "!title.") {
			t.Errorf("%s: %d", p, st)
		}
	}
	// Logout clears the cookie.
	req, _ = http.NewRequest(http.MethodPost, f.srv.URL+"/console/logout", nil)
	req.Header.Set("Origin", f.srv.URL)
	if resp, err := c.Do(req); err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %v", err)
	}
	if st, _, _ := send(t, c, http.MethodGet, f.srv.URL+"/console/contracts", nil); st != http.StatusSeeOther {
		t.Errorf("after logout: %d, want a redirect to the login page", st)
	}
}

// TestConsoleCookieAuth: the API accepts the session cookie; a write with
// the cookie needs the CSRF header; a bearer token still works alone.
func TestConsoleCookieAuth(t *testing.T) {
	f := newConsoleFixture(t)
	MustApply(t, f.ledger, "default", "c1", "SIGNING", base)
	c := f.client(t)
	if st, _, _ := send(t, c, http.MethodGet, f.srv.URL+"/api/v1/contracts", nil); st != http.StatusUnauthorized {
		t.Fatalf("no cookie: %d", st)
	}
	f.login(t, c, viewerToken)
	st, body, _ := send(t, c, http.MethodGet, f.srv.URL+"/api/v1/contracts/default/c1", nil)
	if st != http.StatusOK || strings.Contains(body, "13812345678") || !strings.Contains(body, "138****5678") {
		t.Fatalf("viewer cookie: %d %s", st, body)
	}
	st, body, _ = send(t, c, http.MethodPost, f.srv.URL+"/api/v1/contracts", nil)
	if st != http.StatusForbidden || !strings.Contains(body, CSRFHeader) {
		t.Errorf("POST with the cookie, no CSRF header: %d %s", st, body)
	}
	// With the header the request reaches the API (no POST route here).
	if st, _, _ := send(t, c, http.MethodPost, f.srv.URL+"/api/v1/contracts", map[string]string{CSRFHeader: "1"}); st != http.StatusMethodNotAllowed {
		t.Errorf("POST with the header: %d, want the API's 405", st)
	}
	plain := &http.Client{}
	if st, _, _ := send(t, plain, http.MethodGet, f.srv.URL+"/api/v1/contracts", map[string]string{"Authorization": "Bearer " + operatorToken}); st != http.StatusOK {
		t.Errorf("bearer: %d", st)
	}
}

// TestConsoleDownload: the archived file of a document, found through the
// ledger row; operator only; a path in the request is never used.
func TestConsoleDownload(t *testing.T) {
	f := newConsoleFixture(t)
	ctx := context.Background()
	MustApply(t, f.ledger, "default", "c1", "COMPLETE", base)
	content := "%PDF-1.7 signed contract"
	rel, sum, size, err := f.docs.Put(ctx, "default", "c1", "c1-d1", ".pdf", strings.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := f.ledger.ArchiveDocument(ctx, "default", store.Document{ID: "c1-d1", ContractID: "c1", Title: "合同正文",
		SHA256: sum, Size: size, Path: rel, FetchedAt: &now}, nil); err != nil {
		t.Fatal(err)
	}
	u := f.srv.URL + "/console/contracts/default/c1/documents/c1-d1"
	op := f.client(t)
	f.login(t, op, operatorToken)
	st, body, h := send(t, op, http.MethodGet, u, nil)
	if st != http.StatusOK || body != content || h.Get("Content-Type") != "application/pdf" || !strings.Contains(h.Get("Content-Disposition"), "attachment") {
		t.Fatalf("operator download: %d %q %v", st, body, h)
	}
	if st, body, _ := send(t, &http.Client{}, http.MethodGet, u, map[string]string{"Authorization": "Bearer " + operatorToken}); st != http.StatusOK || body != content {
		t.Errorf("bearer download: %d", st)
	}
	vw := f.client(t)
	f.login(t, vw, viewerToken)
	if st, _, _ := send(t, vw, http.MethodGet, u, nil); st != http.StatusForbidden {
		t.Errorf("viewer download: %d, want 403", st)
	}
	if st, _, _ := send(t, &http.Client{}, http.MethodGet, u, nil); st != http.StatusUnauthorized {
		t.Errorf("anonymous download: %d, want 401", st)
	}
	for _, p := range []string{"/console/contracts/default/c1/documents/nope", "/console/contracts/default/c2/documents/c1-d1",
		"/console/contracts/default/c1/documents/..%2f..%2f" + url.PathEscape(rel)} {
		if st, _, _ := send(t, op, http.MethodGet, f.srv.URL+p, nil); st != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, st)
		}
	}
	MustApply(t, f.ledger, "default", "c2", "SIGNING", base)
	if st, body, _ := send(t, op, http.MethodGet, f.srv.URL+"/console/contracts/default/c2/documents/c2-d1", nil); st != http.StatusNotFound || !strings.Contains(body, "not archived") {
		t.Errorf("unarchived: %d %s", st, body)
	}
}

// sseReader reads Server-Sent Events.
type sseReader struct{ r *bufio.Reader }

func (s sseReader) next(tb testing.TB) (event string, data adminapi.LiveEvent) {
	tb.Helper()
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			tb.Fatalf("event stream: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "event: "):
			event = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			if err := json.Unmarshal([]byte(line[len("data: "):]), &data); err != nil {
				tb.Fatalf("data %q: %v", line, err)
			}
		case line == "" && event != "":
			return event, data
		}
	}
}

// TestLiveEvents: a callback and a fact appended after the stream opens
// arrive as events; older messages do not; a viewer sees names masked;
// an open stream ends when the server shuts down.
func TestLiveEvents(t *testing.T) {
	f := newConsoleFixture(t)
	ctx := context.Background()
	js, n := f.nats.JS, f.nats.Names
	publishCallback := func(id string) {
		env := events.Envelope{Schema: "qyshook.callback.v1", ID: id, Tenant: "default", Kind: "contract", Type: "SIGN",
			ContractID: "c-" + id, ContractStatus: "SIGNING", Actor: &events.Actor{TenantType: "PERSONAL", TenantName: "张三"},
			ReceivedAt: time.Now().UTC(), Format: "A", Source: "callback", Payload: json.RawMessage(`{}`)}
		b, _ := env.Encode()
		if _, err := js.Publish(ctx, n.CallbackSubject("default", "contract", "SIGN"), b); err != nil {
			t.Fatal(err)
		}
	}
	publishCallback("old")
	for _, tc := range []struct {
		token, actor string
	}{{viewerToken, "张*"}, {operatorToken, "张三"}} {
		c := f.client(t)
		f.login(t, c, tc.token)
		req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/api/v1/events/live", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("live: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		r := sseReader{bufio.NewReader(resp.Body)}
		// The ": live" comment is written once both consumers exist.
		if line, _ := r.r.ReadString('\n'); line != ": live\n" {
			t.Fatalf("first line %q", line)
		}
		publishCallback("new-" + tc.token[:4])
		ev, d := r.next(t)
		if ev != "callback" || d.ContractID != "c-new-"+tc.token[:4] || d.Status != "SIGNING" || d.Actor != tc.actor || d.Tenant != "default" {
			t.Errorf("callback event %s %+v, want c-new-… with actor %s", ev, d, tc.actor)
		}
		fact := events.Fact{Schema: "qyshook.fact.v1", ID: "f-" + tc.token[:4], Tenant: "default", Kind: "contract.status", ContractID: "c9",
			Seq: 1, Status: "COMPLETE", OccurredAt: time.Now().UTC()}
		b, _ := json.Marshal(fact)
		if _, err := js.Publish(ctx, n.LedgerContractSubject("default", "COMPLETE"), b); err != nil {
			t.Fatal(err)
		}
		ev, d = r.next(t)
		if ev != "fact" || d.ContractID != "c9" || d.Status != "COMPLETE" {
			t.Errorf("fact event %s %+v", ev, d)
		}
		resp.Body.Close()
	}
	// Shutdown ends an open stream instead of waiting for it.
	c := f.client(t)
	f.login(t, c, viewerToken)
	resp, err := c.Get(f.srv.URL + "/api/v1/events/live")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	done := make(chan error, 1)
	go func() { _, err := io.ReadAll(resp.Body); done <- err }()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := f.srv.Config.Shutdown(sctx); err != nil {
		t.Errorf("Shutdown with a live stream open = %v", err)
	}
	<-done
}

// TestContractFacts: the facts route lists the facts of one contract only.
func TestContractFacts(t *testing.T) {
	f := newConsoleFixture(t)
	ctx := context.Background()
	js, n := f.nats.JS, f.nats.Names
	for i, fc := range []events.Fact{
		{ID: "a1", Tenant: "default", Kind: "contract.status", ContractID: "c1", Seq: 1, Status: "SIGNING"},
		{ID: "b1", Tenant: "default", Kind: "contract.status", ContractID: "c2", Seq: 1, Status: "SIGNING"},
		{ID: "a2", Tenant: "default", Kind: "contract.status", ContractID: "c1", Seq: 2, Status: "COMPLETE", PreviousStatus: "SIGNING", Confirmed: true},
		{ID: "a3", Tenant: "default", Kind: "documents.archived", ContractID: "c1", Seq: 3, Documents: []events.FactDocument{{ID: "d1", SHA256: "ab", Size: 3, Path: "documents/x"}}},
		{ID: "o1", Tenant: "other", Kind: "contract.status", ContractID: "c1", Seq: 1, Status: "SIGNING"},
	} {
		b, _ := json.Marshal(fc)
		subj := n.LedgerContractSubject(fc.Tenant, "S")
		if i == 3 {
			subj = n.LedgerDocumentsSubject(fc.Tenant)
		}
		if _, err := js.Publish(ctx, subj, b); err != nil {
			t.Fatal(err)
		}
	}
	c := f.client(t)
	f.login(t, c, viewerToken)
	st, body, _ := send(t, c, http.MethodGet, f.srv.URL+"/api/v1/contracts/default/c1/facts", nil)
	var pg adminapi.Page[adminapi.Fact]
	if err := json.Unmarshal([]byte(body), &pg); err != nil || st != http.StatusOK {
		t.Fatalf("%d %s %v", st, body, err)
	}
	var ids []string
	for _, it := range pg.Items {
		ids = append(ids, it.ID)
	}
	if !slices.Equal(ids, []string{"a1", "a2", "a3"}) || !pg.Items[1].Confirmed || len(pg.Items[2].Documents) != 1 {
		t.Errorf("facts = %v (%+v), want a1 a2 a3", ids, pg.Items)
	}
	if st, body, _ := send(t, c, http.MethodGet, f.srv.URL+"/api/v1/contracts/default/none/facts", nil); st != http.StatusOK || !strings.Contains(body, `"items":[]`) {
		t.Errorf("no facts: %d %s", st, body)
	}
}

// TestLiveOutlivesTimeouts: a live stream keeps going past the API's
// per-request timeout and the listener's read and write timeouts (the
// admin listener has 30 s, 30 s and 60 s); here all three are 200 ms and
// an event published after a second still arrives.
func TestLiveOutlivesTimeouts(t *testing.T) {
	env := natstest.New(t)
	a, err := New(Options{
		Tokens: []Token{{Secret: viewerToken, Role: RoleViewer}}, Ledger: testdb.Open(t, testdb.SQLite),
		JS: env.JS, Names: env.Names, Timeout: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	con, err := NewConsole(ConsoleOptions{API: a})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(con)
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = 200*time.Millisecond, 200*time.Millisecond
	srv.Start()
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/events/live", nil)
	req.Header.Set("Authorization", "Bearer "+viewerToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := sseReader{bufio.NewReader(resp.Body)}
	if line, _ := r.r.ReadString('\n'); line != ": live\n" {
		t.Fatalf("first line %q", line)
	}
	time.Sleep(time.Second) // past every timeout
	b, _ := json.Marshal(events.Fact{ID: "late", Tenant: "default", Kind: "contract.status", ContractID: "c-late", Status: "COMPLETE"})
	if _, err := env.JS.Publish(context.Background(), env.Names.LedgerContractSubject("default", "COMPLETE"), b); err != nil {
		t.Fatal(err)
	}
	if ev, d := r.next(t); ev != "fact" || d.ContractID != "c-late" {
		t.Errorf("after the timeouts: %s %+v", ev, d)
	}
}

// TestConsoleSessionExpiry reproduces "an expired session lands on the
// sign-in page with no message and no way back": the redirect now says
// the session expired and keeps the page, the login page shows the
// message, and signing in returns to that page (never to another site).
func TestConsoleSessionExpiry(t *testing.T) {
	f := newConsoleFixture(t)
	c := f.client(t)
	page := "/console/contracts?status=SIGNING"
	st, _, h := send(t, c, http.MethodGet, f.srv.URL+page, map[string]string{"Cookie": SessionCookie + "=expired-or-revoked-value-0123"})
	loc := h.Get("Location")
	if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/console/login?") || !strings.Contains(loc, "expired=1") ||
		!strings.Contains(loc, "next="+url.QueryEscape(page)) {
		t.Fatalf("an expired session: %d to %q", st, loc)
	}
	_, body, _ := send(t, c, http.MethodGet, f.srv.URL+loc, nil)
	if !strings.Contains(body, `id="login-notice"`) || !strings.Contains(body, "session has expired") ||
		!strings.Contains(body, `name="next" value="`+template.HTMLEscapeString(page)+`"`) {
		t.Errorf("login page after expiry: no notice or next field")
	}
	for next, want := range map[string]string{page: page, "//evil.example/": "/console/", "https://evil.example/": "/console/", "": "/console/"} {
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/console/login", strings.NewReader(url.Values{"token": {viewerToken}, "next": {next}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", f.srv.URL)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || got != want {
			t.Errorf("sign in with next %q: %d to %q, want %q", next, resp.StatusCode, got, want)
		}
	}
}
