package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
)

const (
	operatorToken = "operator-token-0123456789"
	viewerToken   = "viewer-token-0123456789ab"
)

// base is the update time of the first seeded contract.
var base = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// fixture is an API over a real SQLite ledger and a JetStream.
type fixture struct {
	srv    *httptest.Server
	ledger store.Ledger
	nats   *natstest.Env
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	return newFixtureKind(tb, testdb.SQLite)
}

func newFixtureKind(tb testing.TB, kind testdb.Kind) *fixture {
	tb.Helper()
	f := &fixture{ledger: testdb.Open(tb, kind), nats: natstest.New(tb)}
	a, err := New(Options{
		Tokens: []Token{{Secret: operatorToken, Role: RoleOperator}, {Secret: viewerToken, Role: RoleViewer}},
		Ledger: f.ledger, JS: f.nats.JS, Names: f.nats.Names,
	})
	if err != nil {
		tb.Fatal(err)
	}
	f.srv = httptest.NewServer(a)
	tb.Cleanup(f.srv.Close)
	return f
}

// MustApply applies a contract with one event and two signatories: a
// person 张三 (13812345678) and a company.
func MustApply(tb testing.TB, l store.Ledger, tenant, id, status string, updated time.Time) {
	tb.Helper()
	detail := fmt.Sprintf(`{"id":%q,"status":%q,"signatories":[{"tenantName":"张三","receiver":{"contact":"13812345678","name":"张三"}},{"tenantName":"上海某某科技有限公司","legalPerson":"李四"}]}`, id, status)
	ch := store.ContractChange{
		Event: store.Event{
			ID: "ev-" + tenant + "-" + id + "-" + status, Tenant: tenant, Kind: "contract", Type: status, ContractID: id,
			Source: "callback", ReceivedAt: updated,
			Payload: json.RawMessage(`{"contractId":"` + id + `","mobile":"13812345678","idCardNo":"110101199003071234"}`),
		},
		Contract: store.Contract{
			Tenant: tenant, ID: id, BizID: "biz-" + id, Subject: "租赁合同 " + id, Status: status, Confirmed: true,
			UpdatedAt: updated, Detail: json.RawMessage(detail),
			Signatories: []store.Signatory{
				{ID: id + "-p", TenantType: "PERSONAL", TenantName: "张三", Status: "WAITING", SerialNo: 1},
				{ID: id + "-c", TenantType: "COMPANY", TenantName: "上海某某科技有限公司", Status: "WAITING", SerialNo: 2},
			},
			Documents: []store.Document{{ID: id + "-d1", ContractID: id, Title: "合同正文"}},
		},
	}
	if _, err := l.ApplyContract(context.Background(), ch); err != nil {
		tb.Fatalf("apply %s: %v", id, err)
	}
}

// get calls path (below adminapi.Prefix) with token ("" for none) and decodes the
// JSON answer into out (when not nil). It returns the status.
func (f *fixture) get(tb testing.TB, token, path string, out any) int {
	tb.Helper()
	return f.do(tb, http.MethodGet, token, path, out)
}

func (f *fixture) do(tb testing.TB, method, token, path string, out any) int {
	tb.Helper()
	req, err := http.NewRequest(method, f.srv.URL+adminapi.Prefix+path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		tb.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			tb.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, body, err)
		}
	}
	return resp.StatusCode
}

// errorBody is the error shape.
type errorBody = adminapi.ErrorBody

// wantError checks a status and the error shape with code.
func (f *fixture) wantError(tb testing.TB, method, token, path string, status int, code string) string {
	tb.Helper()
	var e errorBody
	got := f.do(tb, method, token, path, &e)
	if got != status || e.Error == nil || e.Error.Code != code || e.Error.Message == "" {
		tb.Errorf("%s %s = %d %+v, want %d with code %s", method, path, got, e.Error, status, code)
		return ""
	}
	return e.Error.Message
}

func jetstreamConsumer(durable string) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{Durable: durable, AckPolicy: jetstream.AckExplicitPolicy}
}
