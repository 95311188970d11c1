package qystest_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/internal/pdfsigtest"
	"github.com/qyshook/qyshook/qys/qystest"
)

// TestPDFSigTrustsTheWrittenCA: poppler's pdfsig, given the CA the fake
// writes (what sim and demo export), reports each signature of a signed
// document valid and trusted; without it the same file is not trusted,
// a tampered copy does not validate, and a revoked signer (through the
// fake's OCSP service, which pdfsig asks) is reported revoked.
func TestPDFSigTrustsTheWrittenCA(t *testing.T) {
	srv := MustServer(t)
	id := MustContract(t, srv, func(s *qystest.ContractSpec) {
		s.Signatories = []qystest.SignatorySpec{
			{TenantType: qystest.TenantCompany, TenantName: "Alpha Co", Contact: "13900000001"},
			{TenantType: qystest.TenantCompany, TenantName: "Beta Co", Contact: "13900000002"},
		}
		s.Documents = []qystest.DocumentSpec{{Title: "contract"}}
	})
	if err := srv.Send(id); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := srv.Sign(id, i); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	caPath, err := srv.WriteCACertificate(dir)
	if err != nil || filepath.Base(caPath) != qystest.CAFileName {
		t.Fatalf("WriteCACertificate: %q, %v", caPath, err)
	}
	ct, _ := srv.Contract(id)
	body, _ := io.ReadAll(srv.DocumentContent(ct.Documents[0].ID.String()))
	pdfPath := filepath.Join(dir, "signed.pdf")
	if err := os.WriteFile(pdfPath, body, 0o600); err != nil {
		t.Fatal(err)
	}

	nss := pdfsigtest.Trust(t, caPath)
	sigs, out := pdfsigtest.Check(t, nss, pdfPath)
	if len(sigs) != 2 {
		t.Fatalf("pdfsig found %d signatures, want 2:\n%s", len(sigs), out)
	}
	for i, want := range []string{"Alpha Co", "Beta Co"} {
		if !sigs[i].Valid() || sigs[i].Signer != want {
			t.Errorf("signature %d: %v, want valid and trusted by %s\n%s", i+1, sigs[i], want, out)
		}
	}
	if !sigs[1].WholeFile {
		t.Errorf("the last signature does not cover the whole file:\n%s", out)
	}

	// The fake's OCSP service answers pdfsig (which asks it): once a
	// signer is revoked, pdfsig says so.
	if !srv.RevokeSigner("Alpha Co") {
		t.Fatal("RevokeSigner: Alpha Co has no certificate")
	}
	sigs, out = pdfsigtest.Check(t, nss, pdfPath)
	if len(sigs) != 2 || sigs[0].Valid() || !strings.Contains(sigs[0].Certificate, "Revoked") || !sigs[1].Valid() {
		t.Errorf("after revoking Alpha Co:\n%s", out)
	}

	// The control: another fake's CA does not make these signatures trusted.
	other := MustServer(t)
	otherCA, err := other.WriteCACertificate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sigs, out = pdfsigtest.Check(t, pdfsigtest.Trust(t, otherCA), pdfPath)
	for i, s := range sigs {
		if s.Valid() || !strings.Contains(s.Validation, "Valid") {
			t.Errorf("signature %d under another CA: %v\n%s", i+1, s, out)
		}
	}
	// And a changed byte breaks the signature, whatever the trust.
	tampered := []byte(strings.Replace(string(body), "qystest contract document", "qystest contract documenT", 1))
	bad := filepath.Join(dir, "tampered.pdf")
	if err := os.WriteFile(bad, tampered, 0o600); err != nil {
		t.Fatal(err)
	}
	sigs, out = pdfsigtest.Check(t, nss, bad)
	if len(sigs) != 2 {
		t.Fatalf("tampered: %d signatures:\n%s", len(sigs), out)
	}
	for i, s := range sigs {
		if s.Validation == "Signature is Valid." {
			t.Errorf("tampered signature %d still valid:\n%s", i+1, out)
		}
	}
}
