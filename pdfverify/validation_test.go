package pdfverify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/pdfverify"
)

func collect(t *testing.T, b []byte) *pdfverify.ValidationData {
	t.Helper()
	v, err := pdfverify.Collect(context.Background(), bytes.NewReader(b), int64(len(b)), pdfverify.CollectOptions{})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	return v
}

// TestCollectKeepsChainsAndRevocationAnswers: for each signature, the
// signer certificate and the CA, and the fake CA's OCSP and CRL answers
// (good, verbatim); the material re-shows offline once the CA is gone,
// and openssl reads the kept answers as the CA's.
func TestCollectKeepsChainsAndRevocationAnswers(t *testing.T) {
	srv, _, b := signedContract(t)
	v := collect(t, b)
	if v.Schema != pdfverify.ValidationSchema || len(v.Signatures) != 2 {
		t.Fatalf("schema %q, %d signatures, want 2", v.Schema, len(v.Signatures))
	}
	for i, s := range v.Signatures {
		if len(s.Certificates) != 2 {
			t.Fatalf("signature %d (%s): %d certificates, want signer and CA", i+1, s.Signer, len(s.Certificates))
		}
		signer, ca := s.Certificates[0], s.Certificates[1]
		if signer.SelfSigned || !ca.SelfSigned || len(ca.OCSP)+len(ca.CRL) != 0 {
			t.Errorf("signature %d: signer self-signed %v, CA self-signed %v with %d answers", i+1, signer.SelfSigned, ca.SelfSigned, len(ca.OCSP)+len(ca.CRL))
		}
		if len(signer.OCSP) != 1 || signer.OCSP[0].Status != pdfverify.StatusGood || len(signer.OCSP[0].Raw) == 0 {
			t.Errorf("signature %d OCSP: %+v", i+1, signer.OCSP)
		}
		if len(signer.CRL) != 1 || signer.CRL[0].Status != pdfverify.StatusGood || len(signer.CRL[0].Raw) == 0 {
			t.Errorf("signature %d CRL: %+v", i+1, signer.CRL)
		}
	}
	// Stored and read back as JSON, with the fake gone: nothing to fetch.
	srv.Close()
	js, _ := json.Marshal(v)
	var back pdfverify.ValidationData
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if problems, worst := back.Reshow(); len(problems) > 0 || worst != pdfverify.StatusGood {
		t.Errorf("Reshow offline: %v, worst %s", problems, worst)
	}
	opensslChecks(t, v.Signatures[0].Certificates)
}

// opensslChecks has openssl verify the kept OCSP answer and CRL against
// the kept CA certificate.
func opensslChecks(t *testing.T, certs []pdfverify.CertificateMaterial) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ca := write("ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certs[1].DER}))
	leaf := write("leaf.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certs[0].DER}))
	resp := write("ocsp.der", certs[0].OCSP[0].Raw)
	out, err := exec.Command("openssl", "ocsp", "-respin", resp, "-issuer", ca, "-cert", leaf, "-CAfile", ca, "-no_nonce").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Response verify OK") || !strings.Contains(string(out), ": good") {
		t.Errorf("openssl ocsp: %v\n%s", err, out)
	}
	crl := write("crl.der", certs[0].CRL[0].Raw)
	out, err = exec.Command("openssl", "crl", "-inform", "DER", "-in", crl, "-CAfile", ca, "-noout").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "verify OK") {
		t.Errorf("openssl crl: %v\n%s", err, out)
	}
}

// TestCollectRecordsRevokedAndUnreachable: a revoked signer reads revoked
// in both answers; a CA that does not answer is recorded unreachable
// with the HTTP status, never an error.
func TestCollectRecordsRevokedAndUnreachable(t *testing.T) {
	srv, _, b := signedContract(t)
	if !srv.RevokeSigner("甲公司") {
		t.Fatal("RevokeSigner")
	}
	v := collect(t, b)
	for _, s := range v.Signatures {
		want := pdfverify.StatusGood
		if s.Signer == "甲公司" {
			want = pdfverify.StatusRevoked
		}
		c := s.Certificates[0]
		if c.OCSP[0].Status != want || c.CRL[0].Status != want || (want == pdfverify.StatusRevoked && c.OCSP[0].RevokedAt.IsZero()) {
			t.Errorf("%s: OCSP %s, CRL %s, want %s", s.Signer, c.OCSP[0].Status, c.CRL[0].Status, want)
		}
	}
	if _, worst := v.Reshow(); worst != pdfverify.StatusRevoked {
		t.Errorf("Reshow worst %s, want revoked", worst)
	}

	srv.SetRevocationUnreachable(true)
	v = collect(t, b)
	for _, s := range v.Signatures {
		c := s.Certificates[0]
		if c.OCSP[0].Status != pdfverify.StatusUnreachable || c.OCSP[0].HTTPStatus != 503 || c.OCSP[0].Error == "" ||
			c.CRL[0].Status != pdfverify.StatusUnreachable || len(c.CRL[0].Raw) != 0 {
			t.Errorf("%s with the CA down: OCSP %+v, CRL %+v", s.Signer, c.OCSP[0], c.CRL[0])
		}
	}
	if _, worst := v.Reshow(); worst != pdfverify.StatusUnreachable {
		t.Errorf("Reshow worst %s, want unreachable", worst)
	}
}

// TestReshowDetectsAChangedAnswer: a byte changed in a kept answer or
// certificate, or a status edited, is reported.
func TestReshowDetectsAChangedAnswer(t *testing.T) {
	_, _, b := signedContract(t)
	clone := func() *pdfverify.ValidationData {
		v := collect(t, b)
		return v
	}
	for name, modify := range map[string]func(v *pdfverify.ValidationData){
		"OCSPByte": func(v *pdfverify.ValidationData) { r := v.Signatures[0].Certificates[0].OCSP[0].Raw; r[len(r)-5] ^= 1 },
		"CRLByte":  func(v *pdfverify.ValidationData) { r := v.Signatures[1].Certificates[0].CRL[0].Raw; r[len(r)-5] ^= 1 },
		"Status": func(v *pdfverify.ValidationData) {
			v.Signatures[0].Certificates[0].OCSP[0].Status = pdfverify.StatusRevoked
		},
		"CertByte":   func(v *pdfverify.ValidationData) { v.Signatures[0].Certificates[1].DER[40] ^= 1 },
		"SchemaName": func(v *pdfverify.ValidationData) { v.Schema = "v0" },
	} {
		t.Run(name, func(t *testing.T) {
			v := clone()
			modify(v)
			if problems, _ := v.Reshow(); len(problems) == 0 {
				t.Error("not detected")
			}
		})
	}
}

// TestCollectUnsignedAndBadInput: an unsigned PDF has no material; a nil
// reader is an error.
func TestCollectUnsignedAndBadInput(t *testing.T) {
	v := collect(t, []byte("%PDF-1.4\n%%EOF\n"))
	if len(v.Signatures) != 0 {
		t.Errorf("unsigned: %d signatures", len(v.Signatures))
	}
	if _, err := pdfverify.Collect(context.Background(), nil, 0, pdfverify.CollectOptions{}); err == nil {
		t.Error("nil reader accepted")
	}
}

// FuzzReshow: stored material of any shape is read without panicking.
func FuzzReshow(f *testing.F) {
	f.Add([]byte(`{"schema":"qyshook.validation.v1","signatures":[{"certificates":[{"der":"AAAA","sha256":"x"}]}]}`))
	f.Add([]byte(`{"schema":"qyshook.validation.v1","signatures":[{"certificates":[]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var v pdfverify.ValidationData
		if json.Unmarshal(b, &v) != nil {
			return
		}
		_, _ = v.Reshow()
	})
}
