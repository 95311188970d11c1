package admin

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/bundler"
	"github.com/qyshook/qyshook/checkpoint"
	"github.com/qyshook/qyshook/evidence"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
)

// evidenceFixture is an API over a SQLite ledger holding one completed
// contract with a real bundle built by the evidence stage's library.
type evidenceFixture struct {
	srv     *httptest.Server
	ledger  store.Ledger
	dataDir string
	bundle  *store.Bundle
	vkey    string
}

func newEvidenceFixture(t *testing.T) *evidenceFixture {
	t.Helper()
	return newEvidenceFixtureWith(t, nil)
}

// newEvidenceFixtureWith is newEvidenceFixture with set applied to the
// API's options.
func newEvidenceFixtureWith(t *testing.T, set func(*Options)) *evidenceFixture {
	t.Helper()
	ctx := context.Background()
	f := &evidenceFixture{ledger: testdb.Open(t, testdb.SQLite), dataDir: t.TempDir()}
	MustApply(t, f.ledger, "default", "c1", "COMPLETE", base)
	keys, err := checkpoint.New(checkpoint.Options{Origin: "admin.test/log", KeyFile: filepath.Join(t.TempDir(), "k"), Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	head, err := f.ledger.(store.ReceiptLog).LogHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	note, err := keys.Sign(head)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.ledger.(store.CheckpointLog).AddCheckpoint(ctx, store.LogCheckpoint{Size: head.N, Root: hex.EncodeToString(head.Hash[:]),
		Note: note, Origin: keys.Origin(), KeyID: keys.KeyID()}, nil); err != nil {
		t.Fatal(err)
	}
	b, err := bundler.New(bundler.Options{Ledger: f.ledger.(bundler.Ledger), DataDir: f.dataDir, Signer: keys.Signer(), VerifierKey: keys.VerifierKey()})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := b.Pass(ctx); err != nil || res.Built != 1 {
		t.Fatalf("pass = %+v, %v", res, err)
	}
	if f.bundle, err = f.ledger.(store.EvidenceStore).Bundle(ctx, "default", "c1", 0); err != nil {
		t.Fatal(err)
	}
	f.vkey = keys.VerifierKey()
	root, err := os.OpenRoot(f.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	o := Options{
		Tokens: []Token{{Secret: operatorToken, Role: RoleOperator}, {Secret: viewerToken, Role: RoleViewer}},
		Ledger: f.ledger, OpenBundle: root.Open,
	}
	if set != nil {
		set(&o)
	}
	a, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(a)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *evidenceFixture) get(t *testing.T, token, path string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.srv.URL+adminapi.Prefix+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// audits lists the evidence exports audited, newest first.
func (f *evidenceFixture) audits(t *testing.T) []store.AuditEntry {
	t.Helper()
	all, err := f.ledger.(store.AdminLog).Audit(context.Background(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []store.AuditEntry
	for _, e := range all {
		if e.Action == "GET /contracts/{tenant}/{id}/evidence" {
			out = append(out, e)
		}
	}
	return out
}

// TestEvidenceExport: an operator gets the zip (it verifies, and the
// export is audited); a viewer gets only the report, as HTML, names and
// numbers masked and no document bytes (audited too); no token is 401;
// a missing bundle, a bad version and a zip changed on disk are named.
func TestEvidenceExport(t *testing.T) {
	f := newEvidenceFixture(t)
	resp, body := f.get(t, operatorToken, "/contracts/default/c1/evidence")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/zip" ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), `attachment; filename="evidence-default-c1-v1.zip"`) {
		t.Fatalf("operator: %d %v", resp.StatusCode, resp.Header)
	}
	res, err := evidence.Verify(context.Background(), bytes.NewReader(body), int64(len(body)), evidence.VerifyOptions{VerifierKeys: []string{f.vkey}})
	if err != nil || res.Problems != 0 {
		t.Fatalf("the exported zip: %+v, %v", res, err)
	}
	if got := f.audits(t); len(got) != 1 || got[0].Outcome != "ok" || !strings.HasPrefix(got[0].Who, "operator") ||
		!strings.Contains(string(got[0].Selector), `"version":1`) {
		t.Fatalf("audit after the operator's export: %+v", got)
	}

	resp, body = f.get(t, viewerToken, "/contracts/default/c1/evidence")
	page := string(body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("viewer: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if !strings.Contains(page, "张*") || strings.Contains(page, "张三") || strings.Contains(page, "上海某某科技有限公司") ||
		strings.Contains(page, "13812345678") || bytes.HasPrefix(body, []byte("PK")) {
		t.Fatalf("viewer's report is not masked, or is the zip:\n%s", page)
	}
	if got := f.audits(t); len(got) != 2 || !strings.HasPrefix(got[0].Who, "viewer") || !strings.Contains(string(got[0].Selector), `"report_only":true`) {
		t.Fatalf("audit after the viewer's report: %+v", got)
	}

	if resp, _ := f.get(t, "", "/contracts/default/c1/evidence"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous: %d, want 401", resp.StatusCode)
	}
	for path, want := range map[string]int{
		"/contracts/default/nope/evidence":         http.StatusNotFound,
		"/contracts/default/c1/evidence?version=2": http.StatusNotFound,
		"/contracts/default/c1/evidence?version=0": http.StatusBadRequest,
		"/contracts/default/c1/evidence?version=x": http.StatusBadRequest,
		"/contracts/default/c1/evidence?v=1":       http.StatusBadRequest,
	} {
		if resp, body := f.get(t, operatorToken, path); resp.StatusCode != want || !strings.Contains(string(body), `"message"`) {
			t.Errorf("%s: %d %s, want %d with a reason", path, resp.StatusCode, body, want)
		}
	}
	// The zip changed on disk: refused, named.
	p := filepath.Join(f.dataDir, filepath.FromSlash(f.bundle.Path))
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if resp, body := f.get(t, operatorToken, "/contracts/default/c1/evidence"); resp.StatusCode != http.StatusConflict ||
		!strings.Contains(string(body), "changed on disk") {
		t.Fatalf("changed zip: %d %s, want 409", resp.StatusCode, body)
	}
}

// failingAudit is an audit log whose AddAudit fails.
type failingAudit struct{ store.AdminLog }

func (failingAudit) AddAudit(context.Context, store.AuditEntry) (int64, error) {
	return 0, errors.New("audit table unwritable")
}

// TestEvidenceExportNotAudited: when the audit entry cannot be written
// the bundle is not served (503, no zip, no report), as the docs say.
// Before the fix the audit failure was only logged and the zip served.
func TestEvidenceExportNotAudited(t *testing.T) {
	f := newEvidenceFixtureWith(t, func(o *Options) { o.Log = failingAudit{o.Ledger.(store.AdminLog)} })
	for _, token := range []string{operatorToken, viewerToken} {
		resp, body := f.get(t, token, "/contracts/default/c1/evidence")
		if resp.StatusCode != http.StatusServiceUnavailable || bytes.HasPrefix(body, []byte("PK")) ||
			!strings.Contains(string(body), "audit") {
			t.Errorf("%s with an unwritable audit log: %d %.200s; want 503 naming the audit", token, resp.StatusCode, body)
		}
	}
}

// TestEvidenceRefusalsAudited: an export refused (no bundle: 404; the
// zip changed on disk: 409) is audited too, with the refusal as outcome.
func TestEvidenceRefusalsAudited(t *testing.T) {
	f := newEvidenceFixture(t)
	if resp, _ := f.get(t, operatorToken, "/contracts/default/nope/evidence"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("no bundle: %d", resp.StatusCode)
	}
	got := f.audits(t)
	if len(got) != 1 || !strings.HasPrefix(got[0].Outcome, adminapi.CodeNotFound) || !strings.Contains(string(got[0].Selector), `"nope"`) {
		t.Fatalf("audit after a 404: %+v", got)
	}
	p := filepath.Join(f.dataDir, filepath.FromSlash(f.bundle.Path))
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if resp, _ := f.get(t, viewerToken, "/contracts/default/c1/evidence"); resp.StatusCode != http.StatusConflict {
		t.Fatalf("changed zip: %d", resp.StatusCode)
	}
	got = f.audits(t)
	if len(got) != 2 || !strings.HasPrefix(got[0].Outcome, adminapi.CodeConflict) || !strings.HasPrefix(got[0].Who, "viewer") {
		t.Fatalf("audit after a 409: %+v", got)
	}
}
