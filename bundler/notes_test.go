package bundler

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
)

// TestFailedDocumentNoted: a contract whose signed PDF failed to archive
// for good gets its bundle without the PDF, and the summary's notes and
// the report say so, naming the document and the reason. Before the fix
// the report said "Signed PDFs: none" with no note.
func TestFailedDocumentNoted(t *testing.T) {
	ctx := context.Background()
	l := testdb.Open(t, testdb.SQLite)
	_, err := l.ApplyContract(ctx, store.ContractChange{
		Event: store.Event{ID: "e1", Tenant: "default", Kind: "contract", Type: "COMPLETE", ContractID: "c1", Source: "callback",
			ReceivedAt: time.Now(), Payload: json.RawMessage(`{"contractId":"c1"}`)},
		Contract: store.Contract{Tenant: "default", ID: "c1", Subject: "s", Status: "COMPLETE", Confirmed: true,
			Detail:    json.RawMessage(`{"id":"c1","status":"COMPLETE"}`),
			Documents: []store.Document{{ID: "d1", ContractID: "c1", Title: "合同"}}},
		ArchiveDocuments: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	claimed, err := l.ClaimDocuments(ctx, "a", 10, time.Minute)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim = %+v, %v", claimed, err)
	}
	if ok, err := l.FailDocument(ctx, store.DocumentFailure{Tenant: "default", ID: "d1", Owner: "a",
		Err: "document not found (HTTP 404)", Permanent: true}); err != nil || !ok {
		t.Fatalf("fail = %v, %v", ok, err)
	}
	c, page := buildOne(t, l, t.TempDir(), "c1")
	var note string
	for _, n := range c.Summary.Notes {
		if strings.Contains(n, "d1") {
			note = n
		}
	}
	if !strings.Contains(note, "archive failed: document not found (HTTP 404)") || !strings.Contains(note, "not in this bundle") {
		t.Fatalf("notes %q: want one naming document d1, its failure and that it is not in this bundle", c.Summary.Notes)
	}
	if !strings.Contains(page, "document d1: archive failed") {
		t.Fatalf("the report does not show the note:\n%s", page)
	}
}
