package cli

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/admin"
	"github.com/qyshook/qyshook/bundler"
	"github.com/qyshook/qyshook/checkpoint"
	"github.com/qyshook/qyshook/evidence"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
)

// TestEvidenceExportThroughTheAPI: `evidence export` downloads the bundle
// an operator may have (it verifies) and the masked report a viewer gets;
// a contract without a bundle exits not-found; a missing --contract is a
// usage error.
func TestEvidenceExportThroughTheAPI(t *testing.T) {
	ctx := context.Background()
	_, l := opsLedger(t, testdb.SQLite)
	_, err := l.ApplyContract(ctx, store.ContractChange{
		Event: store.Event{ID: "e1", Tenant: "default", Kind: "contract", Type: "COMPLETE", ContractID: "c1", Source: "callback",
			ReceivedAt: time.Now(), Payload: json.RawMessage(`{"contractId":"c1"}`)},
		Contract: store.Contract{Tenant: "default", ID: "c1", Subject: "租赁合同", Status: "COMPLETE", Confirmed: true,
			Detail:      json.RawMessage(`{"id":"c1","status":"COMPLETE"}`),
			Signatories: []store.Signatory{{ID: "s1", TenantType: "PERSONAL", TenantName: "张三", Status: "SIGNED", SerialNo: 1}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := checkpoint.New(checkpoint.Options{Origin: "cli.test/log", KeyFile: filepath.Join(t.TempDir(), "k"), Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	head, err := l.(store.ReceiptLog).LogHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	note, err := keys.Sign(head)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.(store.CheckpointLog).AddCheckpoint(ctx, store.LogCheckpoint{Size: head.N, Root: hex.EncodeToString(head.Hash[:]),
		Note: note, Origin: keys.Origin(), KeyID: keys.KeyID()}, nil); err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	b, err := bundler.New(bundler.Options{Ledger: l.(bundler.Ledger), DataDir: dataDir, Signer: keys.Signer(), VerifierKey: keys.VerifierKey()})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := b.Pass(ctx); err != nil || res.Built != 1 {
		t.Fatalf("pass = %+v, %v", res, err)
	}
	root, err := os.OpenRoot(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	api, err := admin.New(admin.Options{Tokens: []admin.Token{{Secret: opsOperatorToken, Role: admin.RoleOperator},
		{Secret: opsViewerToken, Role: admin.RoleViewer}}, Ledger: l, OpenBundle: root.Open})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	defer srv.Close()
	defer api.Close()
	vars, _ := clientVars(t, srv.URL, opsOperatorToken)
	viewer, _ := clientVars(t, srv.URL, opsViewerToken)

	out := filepath.Join(t.TempDir(), "b.zip")
	r := mustOpsRun(t, ExitOK, vars, "evidence", "export", "--contract", "c1", "-o", out)
	if !strings.Contains(r.stdout, "bundle v1 of contract c1") || !strings.Contains(r.stdout, "qyshook evidence verify "+out) {
		t.Fatalf("export: %s", r)
	}
	z, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	res, err := evidence.Verify(ctx, bytes.NewReader(z), int64(len(z)), evidence.VerifyOptions{VerifierKeys: []string{keys.VerifierKey()}})
	if err != nil || res.Problems != 0 {
		t.Fatalf("exported bundle: %+v, %v", res, err)
	}

	dir := t.TempDir()
	rv := mustOpsRun(t, ExitOK, viewer, "evidence", "export", "--contract", "c1", "--version", "1", "-o", filepath.Join(dir, "r.html"))
	page, err := os.ReadFile(filepath.Join(dir, "r.html"))
	if err != nil || !strings.Contains(rv.stdout, "masked report") || !strings.Contains(string(page), "张*") ||
		strings.Contains(string(page), "张三") {
		t.Fatalf("viewer export: %s\n%s (%v)", rv, page, err)
	}
	if r := opsRun(t, vars, "evidence", "export", "--contract", "nope"); r.code != ExitNotFound ||
		!strings.Contains(r.stderr, "no evidence bundle") {
		t.Fatalf("no bundle: %s", r)
	}
	if r := opsRun(t, vars, "evidence", "export"); r.code != ExitUsage || !strings.Contains(r.stderr, "--contract is required") {
		t.Fatalf("no --contract: %s", r)
	}
}
