package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/docs"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
)

// contractPage decodes a listing into the detail type, so a test can see
// that rows come without detail, signatories and documents.
type contractPage = adminapi.Page[adminapi.ContractDetail]

func TestAuth(t *testing.T) {
	f := newFixture(t)
	MustApply(t, f.ledger, "default", "c1", "SIGNING", base)
	for _, tc := range []struct {
		name, header string
		status       int
	}{
		{"NoToken", "", http.StatusUnauthorized},
		{"WrongToken", "Bearer wrong-token-0123456789", http.StatusUnauthorized},
		{"PrefixOfToken", "Bearer " + operatorToken[:len(operatorToken)-1], http.StatusUnauthorized},
		{"NotBearer", "Basic " + operatorToken, http.StatusUnauthorized},
		{"TokenWithoutScheme", operatorToken, http.StatusUnauthorized},
		{"Viewer", "Bearer " + viewerToken, http.StatusOK},
		{"Operator", "Bearer " + operatorToken, http.StatusOK},
		{"LowerCaseScheme", "bearer " + operatorToken, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, f.srv.URL+adminapi.Prefix+"/contracts", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := f.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status == http.StatusUnauthorized {
				var e errorBody
				if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Error == nil || e.Error.Code != adminapi.CodeUnauthorized {
					t.Errorf("body = %+v, %v; want the error shape", e.Error, err)
				}
				if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate = %q", resp.Header.Get("WWW-Authenticate"))
				}
			}
		})
	}
	// Every route, the OpenAPI document included, needs a token.
	for _, p := range []string{"/openapi.json", "/contracts/default/c1", "/certifications?tenant=default",
		"/events?tenant=default&contract_id=c1", "/dead-letters", "/dead-letters/1", "/streams", "/no-such-route"} {
		f.wantError(t, http.MethodGet, "", p, http.StatusUnauthorized, adminapi.CodeUnauthorized)
	}
	f.wantError(t, http.MethodDelete, "", "/contracts", http.StatusUnauthorized, adminapi.CodeUnauthorized)
}

// TestOperatorRoute: a route that needs the operator role (as the write
// routes will) answers 403 to a viewer and runs for an operator.
func TestOperatorRoute(t *testing.T) {
	a, err := New(Options{
		Tokens: []Token{{Secret: operatorToken, Role: RoleOperator}, {Secret: viewerToken, Role: RoleViewer}},
		Ledger: testdb.Open(t, testdb.SQLite),
	})
	if err != nil {
		t.Fatal(err)
	}
	table := append(a.table(), route{http.MethodPost, "/write", RoleOperator, func(w http.ResponseWriter, r *http.Request) error {
		writeJSON(w, http.StatusOK, map[string]string{"role": string(roleOf(r))})
		return nil
	}})
	f := &fixture{srv: httptest.NewServer(a.buildRouter(table))}
	defer f.srv.Close()
	f.wantError(t, http.MethodPost, viewerToken, "/write", http.StatusForbidden, adminapi.CodeForbidden)
	f.wantError(t, http.MethodPost, "", "/write", http.StatusUnauthorized, adminapi.CodeUnauthorized)
	var got map[string]string
	if st := f.do(t, http.MethodPost, operatorToken, "/write", &got); st != http.StatusOK || got["role"] != "operator" {
		t.Errorf("operator: %d %v", st, got)
	}
}

func TestNew(t *testing.T) {
	l := testdb.Open(t, testdb.SQLite)
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"NoToken", Options{Ledger: l}},
		{"ShortToken", Options{Ledger: l, Tokens: []Token{{Secret: "short", Role: RoleOperator}}}},
		{"UnknownRole", Options{Ledger: l, Tokens: []Token{{Secret: operatorToken, Role: "admin"}}}},
		{"SameTokenTwice", Options{Ledger: l, Tokens: []Token{{Secret: operatorToken, Role: RoleOperator}, {Secret: operatorToken, Role: RoleViewer}}}},
		{"NoLedger", Options{Tokens: []Token{{Secret: operatorToken, Role: RoleOperator}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.o); err == nil {
				t.Error("New accepted invalid options")
			}
		})
	}
}

func TestMaskingByRole(t *testing.T) {
	f := newFixture(t)
	MustApply(t, f.ledger, "default", "c1", "SIGNING", base)
	if _, err := f.ledger.AddDeadLetter(context.Background(), store.DeadLetter{
		EventID: "dl1", Tenant: "default", Consumer: "qyshook_ledger", Subject: "qys.callback.default.contract.X",
		StreamSeq: 7, Reason: "bad", Deliveries: 8, Payload: []byte(`{"raw":{"mobile":"13812345678","tenantName":"张三"}}`),
	}); err != nil {
		t.Fatal(err)
	}
	secrets := []string{"13812345678", "张三", "李四", "110101199003071234", "上海某某科技有限公司"}
	for _, p := range []string{"/contracts/default/c1", "/dead-letters/1", "/events?tenant=default&contract_id=c1"} {
		var viewer, operator json.RawMessage
		if st := f.get(t, viewerToken, p, &viewer); st != http.StatusOK {
			t.Fatalf("viewer %s: %d %s", p, st, viewer)
		}
		if st := f.get(t, operatorToken, p, &operator); st != http.StatusOK {
			t.Fatalf("operator %s: %d %s", p, st, operator)
		}
		var leaked, shown int
		for _, s := range secrets {
			if strings.Contains(string(viewer), s) {
				t.Errorf("viewer %s: leaks %s: %s", p, s, viewer)
				leaked++
			}
			if strings.Contains(string(operator), s) {
				shown++
			}
		}
		if shown == 0 {
			t.Errorf("operator %s: no personal data shown: %s", p, operator)
		}
		if !strings.Contains(string(viewer), "138****5678") {
			t.Errorf("viewer %s: no masked phone: %s", p, viewer)
		}
	}
	var c adminapi.ContractDetail
	f.get(t, viewerToken, "/contracts/default/c1", &c)
	if len(c.Signatories) != 2 || c.Signatories[0].TenantName != "张*" || c.Subject != "租赁合同 c1" {
		t.Errorf("viewer contract = %+v", c)
	}
	var list contractPage
	f.get(t, viewerToken, "/contracts", &list)
	if len(list.Items) != 1 || list.Items[0].Detail != nil || list.Items[0].Signatories != nil {
		t.Errorf("listing = %+v, want rows without detail and signatories", list.Items)
	}
}

func TestContractDetail(t *testing.T) {
	f := newFixture(t)
	MustApply(t, f.ledger, "default", "c1", "SIGNING", base)
	MustApply(t, f.ledger, "default", "c1", "COMPLETE", base.Add(time.Hour))
	var c adminapi.ContractDetail
	if st := f.get(t, operatorToken, "/contracts/default/c1", &c); st != http.StatusOK {
		t.Fatalf("status %d", st)
	}
	if c.Status != "COMPLETE" || len(c.Documents) != 1 || c.Documents[0].Title != "合同正文" || len(c.Signatories) != 2 {
		t.Errorf("contract = %+v", c)
	}
	var types []string
	for _, e := range c.Events {
		types = append(types, e.Type)
	}
	if !slices.Equal(types, []string{"SIGNING", "COMPLETE"}) {
		t.Errorf("events = %v, want SIGNING then COMPLETE", types)
	}
	if !json.Valid(c.Detail) || !strings.Contains(string(c.Detail), `"COMPLETE"`) {
		t.Errorf("detail = %s", c.Detail)
	}
}

// TestDocumentVerification: the contract view carries the archived PDF's
// signature check (verdict, signatures, when, problem) the ledger records.
func TestDocumentVerification(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	MustApply(t, f.ledger, "default", "c1", "COMPLETE", base)
	now := time.Now().UTC().Truncate(time.Second)
	if _, err := f.ledger.ArchiveDocument(ctx, "default", store.Document{ID: "c1-d1", ContractID: "c1", Title: "合同正文",
		SHA256: strings.Repeat("ab", 32), Size: 10, Path: "documents/x.pdf", FetchedAt: &now,
		VerifyVerdict: "invalid", VerifySignatures: 2, VerifiedAt: &now, VerifyProblem: "signature 2: digest mismatch"}, nil); err != nil {
		t.Fatal(err)
	}
	var c adminapi.ContractDetail
	if st := f.get(t, viewerToken, "/contracts/default/c1", &c); st != http.StatusOK || len(c.Documents) != 1 {
		t.Fatalf("status %d, documents %+v", st, c.Documents)
	}
	d := c.Documents[0]
	if d.VerifyVerdict != "invalid" || d.VerifySignatures != 2 || d.VerifiedAt == nil || !d.VerifiedAt.Equal(now) ||
		d.VerifyProblem != "signature 2: digest mismatch" {
		t.Errorf("document = %+v, want the recorded verification", d)
	}
}

func TestNotFound(t *testing.T) {
	f := newFixture(t)
	for _, p := range []string{"/contracts/default/missing", "/contracts/bad%20tenant/x", "/dead-letters/42",
		"/nothing", "/contracts/default", "/../../etc/passwd"} {
		f.wantError(t, http.MethodGet, viewerToken, p, http.StatusNotFound, adminapi.CodeNotFound)
	}
	f.wantError(t, http.MethodDelete, viewerToken, "/contracts", http.StatusMethodNotAllowed, adminapi.CodeMethodNotAllowed)
	f.wantError(t, http.MethodPost, operatorToken, "/streams", http.StatusMethodNotAllowed, adminapi.CodeMethodNotAllowed)
	f.wantError(t, http.MethodGet, viewerToken, "/dead-letters/abc", http.StatusBadRequest, adminapi.CodeBadRequest)
}

// TestContractsPagination: pages of every size visit every row once, in
// order, including rows sharing one update time.
func TestContractsPagination(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			f := newFixtureKind(t, kind)
			var want []string
			for i := range 11 {
				at := base.Add(time.Duration(i/3) * time.Minute) // three rows per instant
				tenant := []string{"a", "b"}[i%2]
				MustApply(t, f.ledger, tenant, fmt.Sprintf("c%02d", i), "SIGNING", at)
			}
			var all contractPage
			f.get(t, operatorToken, "/contracts?limit=500", &all)
			for _, c := range all.Items {
				want = append(want, c.Tenant+"/"+c.ID)
			}
			if len(want) != 11 || all.NextCursor != "" {
				t.Fatalf("one page = %v (next %q)", want, all.NextCursor)
			}
			for _, size := range []int{1, 2, 3, 5, 10, 11} {
				var seen []string
				cur := ""
				for pages := 0; ; pages++ {
					if pages > 20 {
						t.Fatal("pagination does not end")
					}
					var p contractPage
					path := fmt.Sprintf("/contracts?limit=%d", size)
					if cur != "" {
						path += "&cursor=" + cur
					}
					if st := f.get(t, viewerToken, path, &p); st != http.StatusOK {
						t.Fatalf("%s: %d", path, st)
					}
					for _, c := range p.Items {
						seen = append(seen, c.Tenant+"/"+c.ID)
					}
					if p.NextCursor == "" {
						break
					}
					cur = p.NextCursor
				}
				if !slices.Equal(seen, want) {
					t.Errorf("limit %d: pages = %v, want %v", size, seen, want)
				}
			}
		})
	}
}

func TestContractFilters(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) { testContractFilters(t, newFixtureKind(t, kind)) })
	}
}

func testContractFilters(t *testing.T, f *fixture) {
	MustApply(t, f.ledger, "a", "c1", "SIGNING", base)
	MustApply(t, f.ledger, "a", "c2", "COMPLETE", base.Add(time.Hour))
	MustApply(t, f.ledger, "b", "c3", "SIGNING", base.Add(2*time.Hour))
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{"c3", "c2", "c1"}},
		{"tenant=a", []string{"c2", "c1"}},
		{"status=SIGNING", []string{"c3", "c1"}},
		{"status=SIGNING,COMPLETE&tenant=a", []string{"c2", "c1"}},
		{"status=SIGNING&status=COMPLETE&tenant=a", []string{"c2", "c1"}},
		{"id=c2", []string{"c2"}},
		{"biz_id=biz-c3", []string{"c3"}},
		{"subject=" + "%E5%90%88%E5%90%8C" + "%20c1", []string{"c1"}}, // 合同 c1
		{"updated_since=2025-06-01T01:00:00Z", []string{"c3", "c2"}},
		{"updated_before=2025-06-01T09:00:00%2B08:00", []string{"c1"}},
		{"updated_since=2025-06-01T00:30:00Z&updated_before=2025-06-01T01:30:00Z", []string{"c2"}},
		{"tenant=nobody", nil},
	} {
		t.Run(tc.query, func(t *testing.T) {
			var p contractPage
			if st := f.get(t, viewerToken, "/contracts?"+tc.query, &p); st != http.StatusOK {
				t.Fatalf("status %d", st)
			}
			var got []string
			for _, c := range p.Items {
				got = append(got, c.ID)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("contracts = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBadRequests(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct{ path, mentions string }{
		{"/contracts?stauts=SIGNING", "stauts"},
		{"/contracts?limit=0", "limit"},
		{"/contracts?limit=501", "limit"},
		{"/contracts?limit=x", "limit"},
		{"/contracts?status=signing", "status"},
		{"/contracts?tenant=a%20b", "tenant"},
		{"/contracts?tenant=a&tenant=b", "tenant"},
		{"/contracts?updated_since=yesterday", "updated_since"},
		{"/contracts?updated_since=2025-06-02T00:00:00Z&updated_before=2025-06-01T00:00:00Z", "updated_since"},
		{"/contracts?cursor=garbage", "cursor"},
		{"/contracts?cursor=" + (cursor{List: keyDeadLetters, Num: 1}).encode(), "cursor"},
		{"/contracts?subject=" + strings.Repeat("x", maxParamLen+1), "subject"},
		{"/certifications", "tenant"},
		{"/certifications?tenant=default&kind=robot", "kind"},
		{"/events?tenant=default", "contract_id"},
		{"/events?contract_id=c1", "tenant"},
		{"/dead-letters?limit=-1", "limit"},
		{"/dead-letters/0", "id"},
		{"/streams?x=1", "x"},
		{"/contracts/default/c1?verbose=1", "verbose"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			msg := f.wantError(t, http.MethodGet, viewerToken, tc.path, http.StatusBadRequest, adminapi.CodeBadRequest)
			if !strings.Contains(msg, tc.mentions) {
				t.Errorf("message %q does not name %q", msg, tc.mentions)
			}
		})
	}
}

func TestCertificationsAndDeadLetters(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i := range 5 {
		ev := store.Event{ID: fmt.Sprintf("auth-%d", i), Tenant: "default", Kind: "auth.personal", Type: "PERSONAL",
			Source: "callback", Payload: json.RawMessage(`{}`)}
		c := store.Certification{Tenant: "default", RequestID: fmt.Sprintf("r%d", i), Kind: "personal",
			Status: "SUCCESS", Success: true, Name: "王五", UpdatedAt: base.Add(time.Duration(i/2) * time.Hour)}
		if err := f.ledger.ApplyCertification(ctx, ev, c); err != nil {
			t.Fatal(err)
		}
		if _, err := f.ledger.AddDeadLetter(ctx, store.DeadLetter{EventID: fmt.Sprintf("dl%d", i), Tenant: []string{"a", "b"}[i%2],
			Consumer: "qyshook_ledger", StreamSeq: uint64(i + 1), Reason: "bad", Payload: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	certs := pages[adminapi.Certification](t, f, "/certifications?tenant=default&limit=2")
	var ids []string
	for _, c := range certs {
		ids = append(ids, c.RequestID)
		if c.Name != "王*" {
			t.Errorf("viewer sees name %q", c.Name)
		}
	}
	if !slices.Equal(ids, []string{"r4", "r2", "r3", "r0", "r1"}) {
		t.Errorf("certifications = %v", ids)
	}
	dls := pages[adminapi.DeadLetter](t, f, "/dead-letters?limit=2")
	if len(dls) != 5 || dls[0].EventID != "dl0" || dls[4].EventID != "dl4" || dls[0].Payload != nil {
		t.Errorf("dead letters = %+v", dls)
	}
	if b := pages[adminapi.DeadLetter](t, f, "/dead-letters?tenant=b&limit=1"); len(b) != 2 || b[0].EventID != "dl1" || b[1].EventID != "dl3" {
		t.Errorf("tenant b dead letters = %+v", b)
	}
	MustApply(t, f.ledger, "default", "c1", "SIGNING", base)
	MustApply(t, f.ledger, "default", "c1", "COMPLETE", base.Add(time.Minute))
	MustApply(t, f.ledger, "default", "c1", "INVALIDED", base.Add(2*time.Minute))
	evs := pages[adminapi.Event](t, f, "/events?tenant=default&contract_id=c1&limit=2")
	if len(evs) != 3 || evs[0].Type != "SIGNING" || evs[2].Type != "INVALIDED" {
		t.Errorf("events = %+v", evs)
	}
}

// pages follows next_cursor from path and returns every item.
func pages[T any](t *testing.T, f *fixture, path string) []T {
	t.Helper()
	var out []T
	next := path
	for range 50 {
		var p adminapi.Page[T]
		if st := f.get(t, viewerToken, next, &p); st != http.StatusOK {
			t.Fatalf("%s: %d", next, st)
		}
		out = append(out, p.Items...)
		if p.NextCursor == "" {
			return out
		}
		next = path + "&cursor=" + p.NextCursor
	}
	t.Fatalf("%s: pagination does not end", path)
	return nil
}

func TestStreams(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	subj := f.nats.Names.CallbackSubject("default", "contract", "SIGNED")
	for i := range 3 {
		if _, err := f.nats.JS.Publish(ctx, subj, []byte(fmt.Sprintf(`{"n":%d}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	durable := f.nats.Names.Durable("qyshook_ledger")
	cons, err := f.nats.JS.CreateConsumer(ctx, f.nats.Names.CallbacksStream(), jetstreamConsumer(durable))
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.FetchNoWait(1)
	if err != nil {
		t.Fatal(err)
	}
	for range batch.Messages() { // delivered, not acknowledged
	}
	var p struct{ Items []adminapi.Stream }
	if st := f.get(t, viewerToken, "/streams", &p); st != http.StatusOK {
		t.Fatalf("status %d", st)
	}
	if len(p.Items) != 3 {
		t.Fatalf("streams = %+v", p.Items)
	}
	cb := p.Items[0]
	if cb.Name != f.nats.Names.CallbacksStream() || cb.Messages != 3 || cb.Bytes == 0 || cb.LastSeq != 3 || len(cb.Consumers) != 1 {
		t.Fatalf("callbacks stream = %+v", cb)
	}
	if c := cb.Consumers[0]; c.Name != durable || c.Pending != 2 || c.AckPending != 1 {
		t.Errorf("consumer = %+v, want 2 pending and 1 awaiting ack", c)
	}
	if p.Items[1].Name != f.nats.Names.LedgerStream() || p.Items[2].Name != f.nats.Names.DLQStream() {
		t.Errorf("streams = %+v", p.Items)
	}
}

func TestStreamsWithoutJetStream(t *testing.T) {
	a, err := New(Options{Tokens: []Token{{Secret: viewerToken, Role: RoleViewer}}, Ledger: testdb.Open(t, testdb.SQLite)})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{srv: httptest.NewServer(a)}
	defer f.srv.Close()
	f.wantError(t, http.MethodGet, viewerToken, "/streams", http.StatusServiceUnavailable, adminapi.CodeUnavailable)
}

// TestOpenAPICoversRoutes: every route the router serves is in
// docs/admin-openapi.json, with its method, and every path there is served.
func TestOpenAPICoversRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(docs.AdminOpenAPI, &doc); err != nil {
		t.Fatalf("docs/admin-openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q, want 3.x", doc.OpenAPI)
	}
	var described []string
	for p, ops := range doc.Paths {
		for m := range ops {
			described = append(described, strings.ToUpper(m)+" "+adminapi.Prefix+p)
		}
	}
	a, err := New(Options{Tokens: []Token{{Secret: viewerToken, Role: RoleViewer}}, Ledger: testdb.Open(t, testdb.SQLite)})
	if err != nil {
		t.Fatal(err)
	}
	var served []string
	err = chi.Walk(a.router, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		served = append(served, method+" "+strings.TrimSuffix(strings.ReplaceAll(route, "/*/", "/"), "/"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(described)
	slices.Sort(served)
	if !slices.Equal(described, served) {
		t.Errorf("OpenAPI describes\n  %v\nrouter serves\n  %v", described, served)
	}
	f := &fixture{srv: httptest.NewServer(a)}
	defer f.srv.Close()
	var got map[string]any
	if st := f.get(t, viewerToken, "/openapi.json", &got); st != http.StatusOK || got["openapi"] != doc.OpenAPI {
		t.Errorf("served openapi.json: %d %v", st, got["openapi"])
	}
}
