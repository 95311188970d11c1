package bundler

import (
	"archive/zip"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/evidence"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/receiptlog"
	"github.com/qyshook/qyshook/store"
)

// applyAs applies a confirmed contract event of id with status.
func applyAs(t *testing.T, l store.Ledger, eventID, id, status string) {
	t.Helper()
	_, err := l.ApplyContract(context.Background(), store.ContractChange{
		Event: store.Event{ID: eventID, Tenant: "default", Kind: "contract", Type: status, ContractID: id, Source: "callback",
			ReceivedAt: time.Now(), Payload: json.RawMessage(`{"contractId":"` + id + `"}`)},
		Contract: store.Contract{Tenant: "default", ID: id, Subject: "s " + id, Status: status, Confirmed: true,
			Detail: json.RawMessage(`{"id":"` + id + `","status":"` + status + `"}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// buildOne passes once and opens the contract's latest bundle; it also
// returns the zip's report.html.
func buildOne(t *testing.T, l store.Ledger, dir, id string) (*evidence.Contents, string) {
	t.Helper()
	ctx := context.Background()
	keys := signHead(t, l, time.Now())
	b, err := New(Options{Ledger: l.(Ledger), DataDir: dir, Signer: keys.Signer(), VerifierKey: keys.VerifierKey()})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := b.Pass(ctx); err != nil || r.Built != 1 {
		t.Fatalf("pass = %+v, %v; want one built", r, err)
	}
	bd, err := l.(store.EvidenceStore).Bundle(ctx, "default", id, 0)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(bd.Path)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := evidence.Open(f, bd.Size)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(f, bd.Size)
	if err != nil {
		t.Fatal(err)
	}
	rf, err := zr.Open(evidence.PathReport)
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	page, err := io.ReadAll(rf)
	if err != nil {
		t.Fatal(err)
	}
	return c, string(page)
}

// TestFoundEditedInBundle: a contract row edited by hand between two
// commits gets a found-edited leaf at the second; the bundle carries that
// leaf with its proof, its summary lists the finding as an
// edited_outside discrepancy, and the report shows it. Before the fix the
// leaf was carried silently and the report said "none found".
func TestFoundEditedInBundle(t *testing.T) {
	u := testdb.URL(t, testdb.SQLite)
	l := testdb.OpenURL(t, u)
	applyAs(t, l, "e1", "c1", "SIGNING")
	db, err := sql.Open("sqlite", strings.TrimPrefix(u, "sqlite://")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE contracts SET subject = 'edited by hand' WHERE id = 'c1'`); err != nil {
		t.Fatal(err)
	}
	applyAs(t, l, "e2", "c1", "REJECTED")
	c, page := buildOne(t, l, t.TempDir(), "c1")
	var foundIdx int64 = -1
	for _, lf := range c.Leaves {
		if pl, err := receiptlog.Parse(lf.Bytes); err == nil && pl.Found == receiptlog.FoundEdited && pl.Ref == "c1" {
			foundIdx = lf.Index
		}
	}
	if foundIdx < 0 {
		t.Fatal("the bundle does not carry the found-edited leaf")
	}
	var got *evidence.Discrepancy
	for i, d := range c.Summary.Discrepancies {
		if d.Kind == DiscrepancyEditedOutside {
			got = &c.Summary.Discrepancies[i]
		}
	}
	if got == nil || !strings.Contains(got.Detail, "contract c1") || !strings.Contains(got.Detail, "leaf ") {
		t.Fatalf("summary discrepancies %+v: want an edited_outside finding naming contract c1 and its leaf", c.Summary.Discrepancies)
	}
	if !strings.Contains(page, DiscrepancyEditedOutside) || strings.Contains(page, "none found") {
		t.Fatalf("the report does not show the finding:\n%s", page)
	}
}
