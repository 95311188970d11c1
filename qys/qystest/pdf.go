package qystest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/digitorus/pdf"
	"github.com/digitorus/pdfsign/sign"
	"github.com/go-pdf/fpdf"
)

// evidenceState holds the fake's signing CA and the evidence faults;
// guarded by Server.mu except for the CA, which is built once.
type evidenceState struct {
	caOnce  sync.Once
	ca      *x509.Certificate
	caKey   crypto.Signer
	caErr   error
	signers map[string]*signerCert // by tenant name

	tamperN   int
	companies map[string]CompanyAuth  // by request id
	persons   map[string]PersonalAuth // by auth id
}

type signerCert struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// oidDocumentSigning is the Document Signing EKU (RFC 9336), which
// digitorus/pdfsign/verify requires by default.
var oidDocumentSigning = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 36}

// CACertificate returns the fake's signing CA, generated on first use (an
// ECDSA P-256 root valid for ten years from the fake's clock). Completed
// contracts' generated documents are signed by certificates it issues.
func (s *Server) CACertificate() (*x509.Certificate, error) {
	ev := &s.ev
	ev.caOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			ev.caErr = err
			return
		}
		now := s.now()
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(1),
			Subject:               pkix.Name{CommonName: "qystest signing CA", Organization: []string{"qystest"}},
			NotBefore:             now.Add(-24 * time.Hour),
			NotAfter:              now.AddDate(10, 0, 0),
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
			BasicConstraintsValid: true,
			IsCA:                  true,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
		if err != nil {
			ev.caErr = err
			return
		}
		ev.ca, ev.caErr = x509.ParseCertificate(der)
		ev.caKey = key
	})
	return ev.ca, ev.caErr
}

// signerLocked returns (issuing once) the signing certificate of a tenant.
func (s *Server) signerLocked(name string) (*signerCert, error) {
	if sc := s.ev.signers[name]; sc != nil {
		return sc, nil
	}
	ca, err := s.CACertificate()
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:       serial.Add(serial, big.NewInt(2)),
		Subject:            pkix.Name{CommonName: name, Organization: []string{name}},
		NotBefore:          ca.NotBefore,
		NotAfter:           ca.NotAfter,
		KeyUsage:           x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtKeyUsage:        []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
		UnknownExtKeyUsage: []asn1.ObjectIdentifier{oidDocumentSigning},
		// The fake's own revocation services (revocation.go).
		OCSPServer:            []string{s.URL + CAOCSPPath},
		CRLDistributionPoints: []string{s.URL + CACRLPath},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), s.ev.caKey)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	if s.ev.signers == nil {
		s.ev.signers = map[string]*signerCert{}
	}
	sc := &signerCert{cert: cert, key: key}
	s.ev.signers[name] = sc
	return sc, nil
}

// renderPDF draws a one-page PDF for a document. Core fonts have no CJK
// glyphs, so non-ASCII text is replaced by '?'; ids stay readable.
func renderPDF(id, contractID, title string, at time.Time) ([]byte, error) {
	f := fpdf.New("P", "mm", "A4", "")
	f.SetCompression(false) // readable content streams (and simple tampering)
	f.SetCatalogSort(true)
	f.SetCreationDate(at)
	f.SetModificationDate(at)
	f.SetProducer("qystest", false)
	f.SetTitle(ascii(title), false)
	f.AddPage()
	f.SetFont("Helvetica", "B", 16)
	f.Cell(0, 10, "qystest contract document")
	f.Ln(12)
	f.SetFont("Helvetica", "", 12)
	for _, line := range []string{
		"Title: " + ascii(title),
		"Document id: " + id,
		"Contract id: " + contractID,
		"Generated: " + at.UTC().Format(time.RFC3339),
		"This file was produced by the fake QiYueSuo platform for tests.",
	} {
		f.Cell(0, 8, line)
		f.Ln(8)
	}
	var buf bytes.Buffer
	if err := f.Output(&buf); err != nil {
		return nil, fmt.Errorf("qystest: render pdf: %w", err)
	}
	return buf.Bytes(), nil
}

func ascii(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}

// signature is one signature to apply to a document.
type signature struct {
	name string
	at   time.Time
}

// signPDFLocked applies the signatures in order, each as an incremental
// update (PAdES-style detached CMS, adbe.pkcs7.detached via pdfsign).
func (s *Server) signPDFLocked(content []byte, sigs []signature) ([]byte, error) {
	for _, sg := range sigs {
		sc, err := s.signerLocked(sg.name)
		if err != nil {
			return nil, err
		}
		rdr, err := pdf.NewReader(bytes.NewReader(content), int64(len(content)))
		if err != nil {
			return nil, fmt.Errorf("qystest: sign: read pdf: %w", err)
		}
		var out bytes.Buffer
		err = sign.Sign(bytes.NewReader(content), &out, rdr, int64(len(content)), sign.SignData{
			Signature: sign.SignDataSignature{
				Info: sign.SignDataSignatureInfo{Name: sg.name, Reason: "契约锁电子签章 (qystest)",
					Location: "qystest", Date: sg.at},
				CertType:   sign.ApprovalSignature,
				DocMDPPerm: sign.AllowFillingExistingFormFieldsAndSignaturesPerms,
			},
			Signer:            sc.key,
			DigestAlgorithm:   crypto.SHA256,
			Certificate:       sc.cert,
			CertificateChains: [][]*x509.Certificate{{sc.cert, s.ev.ca}},
		})
		if err != nil {
			return nil, fmt.Errorf("qystest: sign for %s: %w", sg.name, err)
		}
		content = out.Bytes()
	}
	return content, nil
}

// tamper returns a copy of a PDF with one byte of its first content
// stream changed: the file still parses, but no signature digest matches.
func tamper(b []byte) []byte {
	out := bytes.Clone(b)
	i := bytes.Index(out, []byte("stream\n"))
	if i < 0 || i+20 >= len(out) {
		if len(out) > 0 {
			out[len(out)/2] ^= 0x01
		}
		return out
	}
	out[i+16] ^= 0x01
	return out
}
