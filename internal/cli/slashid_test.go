package cli

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/admin"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
)

// TestContractsShowIDWithSlash: `contracts show` opens a contract whose
// id holds '/' through the admin API (issue 21: it was listed but 404ed).
func TestContractsShowIDWithSlash(t *testing.T) {
	l := testdb.Open(t, testdb.SQLite)
	const id = "HT/2026/001"
	now := time.Now().UTC().Truncate(time.Second)
	if _, err := l.ApplyContract(context.Background(), store.ContractChange{
		Event: store.Event{ID: "ev-slash", Tenant: "default", Kind: "contract", Type: "SIGNING", ContractID: id,
			Source: "callback", ReceivedAt: now, Payload: json.RawMessage(`{"contractId":"HT/2026/001"}`)},
		Contract: store.Contract{Tenant: "default", ID: id, Subject: "斜杠合同", Status: "SIGNING", UpdatedAt: now},
	}); err != nil {
		t.Fatal(err)
	}
	api, err := admin.New(admin.Options{Tokens: []admin.Token{{Secret: opsOperatorToken, Role: admin.RoleOperator}}, Ledger: l})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	vars, _ := clientVars(t, srv.URL, opsOperatorToken)
	if r := mustOpsRun(t, ExitOK, vars, "contracts", "list"); !strings.Contains(r.stdout, id) {
		t.Errorf("contracts list:\n%s", r)
	}
	if r := mustOpsRun(t, ExitOK, vars, "contracts", "show", id); !strings.Contains(r.stdout, "斜杠合同") {
		t.Errorf("contracts show %s:\n%s", id, r)
	}
}
