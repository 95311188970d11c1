package bundler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/store"
)

// TestSignedTimesFilled: the report's columns the stage used to leave
// empty are filled: each party's signed time from the confirming detail
// answer's signatories (completeTime, UTC+8), and each signed PDF's
// signers and their signing times from the archived file itself (read
// offline). Before the fix both were empty.
func TestSignedTimesFilled(t *testing.T) {
	ctx := context.Background()
	srv := qystest.NewServer()
	t.Cleanup(srv.Close)
	id := srv.AddContract(qystest.ContractSpec{Subject: "采购合同", TenantName: "发起方有限公司",
		Signatories: []qystest.SignatorySpec{
			{TenantType: qystest.TenantCompany, TenantName: "甲公司"},
			{TenantType: qystest.TenantCompany, TenantName: "乙公司"},
		}})
	if err := srv.Send(id); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := srv.Sign(id, i); err != nil {
			t.Fatal(err)
		}
	}
	ct, _ := srv.Contract(id)
	docID := ct.Documents[0].ID.String()
	pdf, err := io.ReadAll(srv.DocumentContent(docID))
	if err != nil {
		t.Fatal(err)
	}
	detail := qys.Contract{ID: qys.ID(id), Status: "COMPLETE", TenantName: "发起方有限公司", Signatories: []qys.Signatory{
		{ID: "s1", TenantType: "COMPANY", TenantName: "甲公司", Status: "SIGNED", SerialNo: 1, CompleteTime: "2026-12-07 18:00:00"},
		{ID: "s2", TenantType: "COMPANY", TenantName: "乙公司", Status: "SIGNED", SerialNo: 2, CompleteTime: "2026-12-07 18:30:05"},
	}}
	dj, _ := json.Marshal(detail)

	l := testdb.Open(t, testdb.SQLite)
	if _, err := l.ApplyContract(ctx, store.ContractChange{
		Event: store.Event{ID: "e1", Tenant: "default", Kind: "contract", Type: "COMPLETE", ContractID: id, Source: "callback",
			ReceivedAt: time.Now(), Payload: json.RawMessage(`{"contractId":"` + id + `"}`)},
		Contract: store.Contract{Tenant: "default", ID: id, Subject: "采购合同", Status: "COMPLETE", Confirmed: true, Detail: dj,
			Signatories: []store.Signatory{
				{ID: "s1", TenantType: "COMPANY", TenantName: "甲公司", Status: "SIGNED", SerialNo: 1},
				{ID: "s2", TenantType: "COMPANY", TenantName: "乙公司", Status: "SIGNED", SerialNo: 2},
			},
			Documents: []store.Document{{ID: docID, ContractID: id, Title: "合同"}}},
	}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rel := "documents/sha256/x.pdf"
	if err := os.MkdirAll(filepath.Join(dir, "documents", "sha256"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(rel)), pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(pdf)
	now := time.Now().UTC()
	if _, err := l.ArchiveDocument(ctx, "default", store.Document{ID: docID, ContractID: id, Title: "合同",
		SHA256: hex.EncodeToString(sum[:]), Size: int64(len(pdf)), Path: rel, FetchedAt: &now,
		VerifyVerdict: "valid", VerifySignatures: 2, VerifiedAt: &now}, nil); err != nil {
		t.Fatal(err)
	}
	c, _ := buildOne(t, l, dir, id)
	want := map[string]time.Time{
		"甲公司": time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC),
		"乙公司": time.Date(2026, 12, 7, 10, 30, 5, 0, time.UTC),
	}
	if len(c.Summary.Parties) != 2 {
		t.Fatalf("parties %+v", c.Summary.Parties)
	}
	for _, p := range c.Summary.Parties {
		if !p.SignedAt.Equal(want[p.Name]) {
			t.Errorf("party %s signed at %v, want %v", p.Name, p.SignedAt, want[p.Name])
		}
	}
	if len(c.Summary.PDFs) != 1 || len(c.Summary.PDFs[0].Signers) != 2 {
		t.Fatalf("PDF verdicts %+v: want the archived PDF's two signers", c.Summary.PDFs)
	}
	for _, s := range c.Summary.PDFs[0].Signers {
		if s.Name == "" || s.SigningTime.IsZero() {
			t.Errorf("signer %+v: want a name and a signing time", s)
		}
	}
}
