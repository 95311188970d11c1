package tsa

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"slices"
	"time"

	"github.com/digitorus/pkcs7"
	"github.com/digitorus/timestamp"
)

// oidExtKeyUsage is the extended key usage extension (RFC 5280 §4.2.1.12).
var oidExtKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 37}

// Verified is what Verify established about a token.
type Verified struct {
	// Time is the authority's genTime.
	Time time.Time
	// Serial is the token's serial number (decimal).
	Serial string
	// Signer is the certificate that signed the token.
	Signer *x509.Certificate
	// Chain is the verified chain, signer first, root last.
	Chain []*x509.Certificate
	// Pinned is true when the chain reached one of the given roots, false
	// when only a root the token (or certs) carried vouched for it.
	Pinned bool
}

// Verify checks a stored token offline: its CMS signature, its signer's
// certificate (a critical extended key usage of timeStamping only, as RFC
// 3161 §2.3 asks) and chain at the token's time, and that it stamps data
// (the message imprint). The chain must reach one of roots when roots is
// non-nil; otherwise a self-signed certificate among the token's and
// certs stands as the root (Verified.Pinned is false). certs are
// certificates stored beside the token (used when the token carries none).
// Failures wrap ErrBadToken.
func Verify(token, data []byte, roots *x509.CertPool, certs []*x509.Certificate) (*Verified, error) {
	p7, err := pkcs7.Parse(token)
	if err != nil {
		return nil, fmt.Errorf("%w: not a CMS SignedData: %v", ErrBadToken, err)
	}
	all := append(slices.Clone(p7.Certificates), certs...)
	if len(p7.Certificates) == 0 {
		p7.Certificates = all
	}
	ts, err := timestamp.Parse(token) // checks the signature of a token carrying certificates
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadToken, err)
	}
	if ts == nil {
		return nil, fmt.Errorf("%w: no TSTInfo", ErrBadToken)
	}
	if len(p7.Signers) != 1 {
		return nil, fmt.Errorf("%w: %d signers, want 1", ErrBadToken, len(p7.Signers))
	}
	signer := p7.GetOnlySigner()
	if signer == nil {
		return nil, fmt.Errorf("%w: the signer's certificate is missing", ErrBadToken)
	}
	if err := checkTimeStamping(signer); err != nil {
		return nil, err
	}
	inter := x509.NewCertPool()
	pool, pinned := roots, roots != nil
	if pool == nil {
		pool = x509.NewCertPool()
		for _, c := range all {
			if bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil {
				pool.AddCert(c)
			}
		}
	}
	for _, c := range all {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{Roots: pool, Intermediates: inter, CurrentTime: ts.Time,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}}
	if err := p7.VerifyWithOpts(opts); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadToken, err)
	}
	chains, err := signer.Verify(opts)
	if err != nil || len(chains) == 0 {
		return nil, fmt.Errorf("%w: certificate chain: %v", ErrBadToken, err)
	}
	if !ts.HashAlgorithm.Available() {
		return nil, fmt.Errorf("%w: imprint hash %v unavailable", ErrBadToken, ts.HashAlgorithm)
	}
	h := ts.HashAlgorithm.New()
	h.Write(data)
	if !bytes.Equal(h.Sum(nil), ts.HashedMessage) {
		return nil, fmt.Errorf("%w: the message imprint is not the data's", ErrBadToken)
	}
	v := &Verified{Time: ts.Time, Signer: signer, Chain: chains[0], Pinned: pinned}
	if ts.SerialNumber != nil {
		v.Serial = ts.SerialNumber.String()
	}
	return v, nil
}

// checkTimeStamping checks that c's extended key usage is timeStamping
// alone, in a critical extension (RFC 3161 §2.3).
func checkTimeStamping(c *x509.Certificate) error {
	if len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping || len(c.UnknownExtKeyUsage) > 0 {
		return fmt.Errorf("%w: the signer's extended key usage is not timeStamping alone", ErrBadToken)
	}
	for _, e := range c.Extensions {
		if e.Id.Equal(oidExtKeyUsage) && e.Critical {
			return nil
		}
	}
	return fmt.Errorf("%w: the signer's extended key usage is not critical", ErrBadToken)
}

// ParseCerts parses stored DER certificates.
func ParseCerts(ders [][]byte) ([]*x509.Certificate, error) {
	out := make([]*x509.Certificate, 0, len(ders))
	for i, d := range ders {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			return nil, fmt.Errorf("tsa: certificate %d: %w", i, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// isStatusError reports whether body is a TimeStampResp whose status is
// not granted (a refusal, rather than garbage).
func isStatusError(body []byte) bool {
	var resp struct {
		Status struct {
			Status       int
			StatusString []string       `asn1:"optional,utf8"`
			FailInfo     asn1.BitString `asn1:"optional"`
		}
		Token asn1.RawValue `asn1:"optional"`
	}
	rest, err := asn1.Unmarshal(body, &resp)
	return err == nil && len(rest) == 0 && resp.Status.Status > 1
}
