package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/failures"
	"github.com/qyshook/qyshook/store"
)

// TestViewerMaskedOnce: every route that returns personal data gives a
// viewer none of it, and the answer is masked once. Before, the handlers
// masked each field (by key and by shape) and maskingWriter masked the
// whole answer by shape again, blind to what the first pass knew: a
// contract id inside JSON held in a string, kept whole by the first pass,
// came out masked as a card number ("312************0009").
func TestViewerMaskedOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const id = "3121362688600000009"
	MustApply(t, f.ledger, "default", "c1", "SIGNING", base)
	inner := `{"contractId":"` + id + `","mobile":"13812345678","note":"tel 13987654321"}`
	payload, _ := json.Marshal(map[string]any{"contractId": id, "businessData": inner, "idcard": "110101199003071234"})
	applyPayload(t, f, id, string(payload), "联系人13912345678的合同")
	if _, err := f.ledger.AddDeadLetter(ctx, store.DeadLetter{
		EventID: "dl1", Tenant: "default", Consumer: "qyshook_ledger", Subject: "qys.callback.default.contract.X",
		StreamSeq: 7, Reason: "api: no signer 13812345678", Deliveries: 8, Payload: payload,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ledger.ApplyCertificationChange(ctx, store.CertificationChange{
		Event: store.Event{ID: "ev-cert", Tenant: "default", Kind: "auth_personal", Type: "AUTH", Source: "callback",
			ReceivedAt: base, Payload: json.RawMessage(`{"name":"王五","mobile":"13812345678"}`)},
		Certification: store.Certification{Tenant: "default", RequestID: "r1", Kind: "personal", Status: "1",
			Success: true, Name: "王五", Detail: json.RawMessage(`{"name":"王五","mobile":"13812345678"}`), UpdatedAt: base},
	}); err != nil {
		t.Fatal(err)
	}
	secrets := []string{"13812345678", "13987654321", "13912345678", "110101199003071234", "张三", "李四", "王五", "上海某某科技有限公司"}
	for _, p := range []string{"/contracts/default/" + id, "/contracts/default/c1", "/contracts", "/events?tenant=default&contract_id=" + id,
		"/dead-letters", "/dead-letters/1", "/dead-letters/issues", "/certifications?tenant=default", "/certifications/default/r1"} {
		var viewer json.RawMessage
		if st := f.get(t, viewerToken, p, &viewer); st != http.StatusOK {
			t.Fatalf("viewer %s: %d %s", p, st, viewer)
		}
		for _, s := range secrets {
			if strings.Contains(string(viewer), s) {
				t.Errorf("viewer %s: leaks %s: %s", p, s, viewer)
			}
		}
	}
	var c struct {
		Events []struct {
			Payload map[string]any `json:"payload"`
		} `json:"events"`
	}
	f.get(t, viewerToken, "/contracts/default/"+id, &c)
	var got map[string]any
	for _, e := range c.Events {
		if s, ok := e.Payload["businessData"].(string); ok {
			if err := json.Unmarshal([]byte(s), &got); err != nil {
				t.Fatalf("businessData is no longer JSON: %q", s)
			}
		}
	}
	want := map[string]any{"contractId": id, "mobile": "138****5678", "note": "tel 139****4321"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("businessData.%s = %q, want %q (masked once; the id whole)", k, got[k], v)
		}
	}
}

// TestMaskHeldJSONTextInPlace: JSON held in a string is masked by shape
// in place, every other byte kept (a receipt-log leaf is checked against
// its hash as sent), identifiers whole.
func TestMaskHeldJSONTextInPlace(t *testing.T) {
	in := `{"b": 1,  "contract_id":"3121362688600000009", "t":"tel 13812345678","n":[13987654321, true, null],"o":{"x":"y"}}`
	want := `{"b": 1,  "contract_id":"3121362688600000009", "t":"tel 138****5678","n":[139****4321, true, null],"o":{"x":"y"}}`
	if got, ok := maskHeldJSONText(in); !ok || got != want {
		t.Errorf("maskHeldJSONText = %q, %v\nwant %q", got, ok, want)
	}
	for _, s := range []string{"plain 13812345678", `{"unterminated": "13812345678"`, "[1, 2"} {
		if _, ok := maskHeldJSONText(s); ok {
			t.Errorf("maskHeldJSONText(%q) took it for JSON", s)
		}
	}
}

// TestViewerOverviewMasked: the overview's "failing now" errors (free
// text from the platform) reach a viewer masked by shape, once, and an
// operator whole.
func TestViewerOverviewMasked(t *testing.T) {
	f := newFixture(t)
	tr := failures.New(0)
	tr.Failed("default", "api", "1001", "detail of 3121362688600000009: signer 13812345678 unknown")
	a, err := New(Options{
		Tokens: []Token{{Secret: operatorToken, Role: RoleOperator}, {Secret: viewerToken, Role: RoleViewer}},
		Ledger: f.ledger, JS: f.nats.JS, Names: f.nats.Names, Failures: tr,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a)
	defer srv.Close()
	f.srv = srv
	var viewer, operator adminapi.Overview
	if st := f.get(t, viewerToken, "/overview", &viewer); st != http.StatusOK || len(viewer.Failing) != 1 {
		t.Fatalf("viewer overview: %d %+v", st, viewer)
	}
	if got, want := viewer.Failing[0].LastError, "detail of 312************0009: signer 138****5678 unknown"; got != want {
		t.Errorf("viewer last_error %q, want %q", got, want)
	}
	f.get(t, operatorToken, "/overview", &operator)
	if len(operator.Failing) != 1 || !strings.Contains(operator.Failing[0].LastError, "13812345678") {
		t.Errorf("operator overview: %+v", operator.Failing)
	}
}
