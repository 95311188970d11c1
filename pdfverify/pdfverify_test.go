package pdfverify_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/qyshook/qyshook/pdfverify"
	"github.com/qyshook/qyshook/qys/qystest"
)

// signedContract completes a contract with two company signatories and
// one person, and returns the fake and its document's signed bytes.
func signedContract(t *testing.T) (*qystest.Server, string, []byte) {
	t.Helper()
	srv := qystest.NewServer()
	t.Cleanup(srv.Close)
	id := srv.AddContract(qystest.ContractSpec{Subject: "采购合同", TenantName: "发起方有限公司",
		Signatories: []qystest.SignatorySpec{
			{TenantType: qystest.TenantCompany, TenantName: "甲公司"},
			{TenantType: qystest.TenantPersonal, TenantName: "张三"},
			{TenantType: qystest.TenantCompany, TenantName: "乙公司"},
		}})
	if err := srv.Send(id); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := srv.Sign(id, i); err != nil {
			t.Fatal(err)
		}
	}
	ct, _ := srv.Contract(id)
	if len(ct.Documents) != 1 {
		t.Fatalf("documents: %+v", ct.Documents)
	}
	docID := ct.Documents[0].ID.String()
	if !srv.DocumentSigned(docID) {
		t.Fatal("the fake did not sign the completed contract's document")
	}
	b, err := io.ReadAll(srv.DocumentContent(docID))
	if err != nil {
		t.Fatal(err)
	}
	return srv, docID, b
}

func verifyBytes(t *testing.T, b []byte, opts pdfverify.Options) *pdfverify.Result {
	t.Helper()
	res, err := pdfverify.Verify(context.Background(), bytes.NewReader(b), int64(len(b)), opts)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return res
}

func TestSignedFakePDFVerifies(t *testing.T) {
	srv, _, b := signedContract(t)
	ca, err := srv.CACertificate()
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	res := verifyBytes(t, b, pdfverify.Options{Roots: roots})
	if res.Verdict != pdfverify.Valid {
		t.Fatalf("verdict %s (%s): %+v", res.Verdict, res.Problem, res.Signatures)
	}
	if len(res.Signatures) != 2 {
		t.Fatalf("want one signature per company signatory (2), got %d", len(res.Signatures))
	}
	names := map[string]bool{}
	for i, s := range res.Signatures {
		names[s.Signer] = true
		if !s.DigestValid || !s.Trusted || s.SigningTime.IsZero() {
			t.Errorf("signature %d: %+v", i, s)
		}
		// Only the last signature covers the whole file (incremental updates).
		if s.CoversWholeFile != (i == len(res.Signatures)-1) {
			t.Errorf("signature %d covers whole file = %v", i, s.CoversWholeFile)
		}
	}
	if !names["甲公司"] || !names["乙公司"] {
		t.Errorf("signers %v", names)
	}
	// Without the fake's CA among the roots the signers are not trusted.
	if res := verifyBytes(t, b, pdfverify.Options{Roots: x509.NewCertPool()}); res.Verdict != pdfverify.Invalid {
		t.Errorf("empty root pool: verdict %s", res.Verdict)
	}
}

func TestTamperedPDFFails(t *testing.T) {
	srv, docID, _ := signedContract(t)
	res := verifyBytes(t, srv.TamperedContent(docID), pdfverify.Options{})
	if res.Verdict != pdfverify.Invalid {
		t.Fatalf("tampered: verdict %s", res.Verdict)
	}
	for i, s := range res.Signatures {
		if s.DigestValid {
			t.Errorf("signature %d of a tampered file has a valid digest", i)
		}
	}
}

func TestAppendedBytesFail(t *testing.T) {
	_, _, b := signedContract(t)
	b = append(b, []byte("\n% appended after signing\n%%EOF\n")...)
	res := verifyBytes(t, b, pdfverify.Options{})
	if res.Verdict != pdfverify.Invalid {
		t.Fatalf("appended: verdict %s %+v", res.Verdict, res.Signatures)
	}
	for _, s := range res.Signatures {
		if s.CoversWholeFile {
			t.Errorf("a signature claims to cover a file with appended bytes")
		}
	}
}

func TestTruncatedPDFFails(t *testing.T) {
	_, _, b := signedContract(t)
	for _, n := range []int{len(b) - 1, len(b) / 2, 10} {
		res := verifyBytes(t, b[:n], pdfverify.Options{})
		if res.Verdict != pdfverify.Invalid {
			t.Errorf("truncated to %d: verdict %s", n, res.Verdict)
		}
	}
}

func TestUnsignedPDFReportsNoSignatures(t *testing.T) {
	srv := qystest.NewServer()
	t.Cleanup(srv.Close)
	id := srv.AddContract(qystest.ContractSpec{Subject: "draft"})
	ct, _ := srv.Contract(id)
	b, err := io.ReadAll(srv.DocumentContent(ct.Documents[0].ID.String()))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %q", b[:min(len(b), 16)])
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "unsigned.pdf")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := pdfverify.VerifyFile(context.Background(), p, pdfverify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != pdfverify.NoSignatures || len(res.Signatures) != 0 {
		t.Fatalf("unsigned: verdict %s, %d signatures", res.Verdict, len(res.Signatures))
	}
}

func TestOnlineCheck(t *testing.T) {
	srv, docID, b := signedContract(t)
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	res := verifyBytes(t, b, pdfverify.Options{Online: c})
	if res.Verdict != pdfverify.Valid || res.Online == nil || !res.Online.Valid || len(res.Online.Raw) == 0 {
		t.Fatalf("online valid: %+v %+v", res, res.Online)
	}
	res = verifyBytes(t, srv.TamperedContent(docID), pdfverify.Options{Online: c})
	if res.Verdict != pdfverify.Invalid || res.Online == nil || res.Online.Valid {
		t.Fatalf("online tampered: %+v %+v", res, res.Online)
	}
}

func TestMissingFileIsAnError(t *testing.T) {
	if _, err := pdfverify.VerifyFile(context.Background(), filepath.Join(t.TempDir(), "nope.pdf"), pdfverify.Options{}); err == nil {
		t.Fatal("no error for a missing file")
	}
}

// A signature whose CMS cannot be parsed is skipped silently by
// pdfsign/verify; pdfverify counts signature dictionaries itself, so the
// file is invalid, not "fewer signatures".
func TestUnparsableSignatureIsInvalid(t *testing.T) {
	_, _, b := signedContract(t)
	b = bytes.Clone(b)
	i := bytes.LastIndex(b, []byte("/Contents<30"))
	if i < 0 {
		t.Fatal("no /Contents<30 in the signed file")
	}
	b[i+len("/Contents<")] = '0' // the CMS no longer starts with a SEQUENCE
	res := verifyBytes(t, b, pdfverify.Options{})
	if res.Verdict != pdfverify.Invalid || len(res.Signatures) != 2 {
		t.Fatalf("verdict %s, %d signatures", res.Verdict, len(res.Signatures))
	}
	if s := res.Signatures[1]; s.DigestValid || s.Problem == "" {
		t.Errorf("broken signature: %+v", s)
	}
	if s := res.Signatures[0]; !s.DigestValid {
		t.Errorf("intact first signature: %+v", s)
	}
}

func TestMalformedInputIsInvalidNotPanic(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":       {},
		"header only": []byte("%PDF-1.7\n%%EOF\n"),
		"garbage":     bytes.Repeat([]byte{0xff, 0x00, '%'}, 500),
		"bad xref":    []byte("%PDF-1.7\n1 0 obj\n<<>>\nendobj\nstartxref\n999999\n%%EOF\n"),
	} {
		res := verifyBytes(t, b, pdfverify.Options{})
		if res.Verdict != pdfverify.Invalid {
			t.Errorf("%s: verdict %s", name, res.Verdict)
		}
	}
}
