package pdfverify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"
)

// ValidationSchema names the format of ValidationData; a change that is
// not additive gets a new name.
const ValidationSchema = "qyshook.validation.v1"

// Revocation statuses of a RevocationAnswer.
const (
	// StatusGood: a verified answer says the certificate is not revoked.
	StatusGood = "good"
	// StatusRevoked: a verified answer says it is revoked (RevokedAt).
	StatusRevoked = "revoked"
	// StatusUnknown: a verified OCSP answer says the responder does not
	// know the certificate.
	StatusUnknown = "unknown"
	// StatusUnreachable: no answer (network error, timeout, an HTTP
	// status other than 200); Error says which.
	StatusUnreachable = "unreachable"
	// StatusInvalid: an answer came (Raw) but does not parse, or its
	// signature does not verify against the certificate's issuer, or an
	// OCSP responder refused the request.
	StatusInvalid = "invalid"
	// StatusNoIssuer: the signature does not carry the certificate's
	// issuer, so no answer can be asked for or checked.
	StatusNoIssuer = "no-issuer"
)

// ValidationData is what a PDF's signature verification rests on, fetched
// when the file is archived: for each signature the certificates it
// carries and, for each certificate that has an issuer among them, the
// OCSP and CRL answers of the services the certificate names, verbatim
// (Raw, DER) or the reason there is none. Kept beside the file, it lets
// the verdict be shown again offline years later (Reshow), when
// short-lived certificates' revocation services are gone.
type ValidationData struct {
	Schema      string              `json:"schema"`
	CollectedAt time.Time           `json:"collected_at"`
	Signatures  []SignatureMaterial `json:"signatures"`
}

// SignatureMaterial is the material of one signature, in file order.
type SignatureMaterial struct {
	Signer      string    `json:"signer"`
	SigningTime time.Time `json:"signing_time,omitzero"`
	// Certificates are the certificates the CMS signature carries, the
	// signer's first as the library lists them.
	Certificates []CertificateMaterial `json:"certificates"`
}

// CertificateMaterial is one certificate with its revocation answers.
type CertificateMaterial struct {
	Subject string `json:"subject"`
	Issuer  string `json:"issuer"`
	Serial  string `json:"serial"` // decimal
	SHA256  string `json:"sha256"` // of DER
	DER     []byte `json:"der"`    // base64 in JSON
	// SelfSigned certificates (roots) have no revocation answers.
	SelfSigned bool               `json:"self_signed,omitempty"`
	OCSP       []RevocationAnswer `json:"ocsp,omitempty"`
	CRL        []RevocationAnswer `json:"crl,omitempty"`
}

// RevocationAnswer is one OCSP or CRL fetch.
type RevocationAnswer struct {
	URL        string    `json:"url"`
	FetchedAt  time.Time `json:"fetched_at"`
	Status     string    `json:"status"`
	Error      string    `json:"error,omitempty"`
	HTTPStatus int       `json:"http_status,omitempty"`
	ThisUpdate time.Time `json:"this_update,omitzero"`
	NextUpdate time.Time `json:"next_update,omitzero"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
	// Raw is the answer's body exactly as received (DER), when one came.
	Raw []byte `json:"raw,omitempty"`
}

// CollectOptions configure Collect.
type CollectOptions struct {
	// HTTPClient fetches the answers (default: a client with Timeout).
	HTTPClient *http.Client
	// Timeout bounds each fetch (default 10 s).
	Timeout time.Duration
	// MaxAnswer bounds an answer's size (default 16 MiB); a larger one is
	// recorded unreachable.
	MaxAnswer int64
	// MaxSize bounds the file (default DefaultMaxSize).
	MaxSize int64
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Collect gathers the ValidationData of the PDF r of size bytes: the
// certificates of every signature the library can read and the OCSP and
// CRL answers of each non-root certificate, fetched now. A service that
// does not answer is recorded (StatusUnreachable), never an error; errors
// are I/O failures and a file larger than MaxSize.
func Collect(ctx context.Context, r io.ReaderAt, size int64, o CollectOptions) (*ValidationData, error) {
	if r == nil || size < 0 {
		return nil, errors.New("pdfverify: nil reader or negative size")
	}
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultMaxSize
	}
	if size > o.MaxSize {
		return nil, fmt.Errorf("pdfverify: file of %d bytes is larger than the limit of %d", size, o.MaxSize)
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: o.Timeout}
	}
	if o.MaxAnswer <= 0 {
		o.MaxAnswer = 16 << 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	buf := make([]byte, size)
	if _, err := r.ReadAt(buf, 0); err != nil && !(errors.Is(err, io.EOF) && size == 0) {
		return nil, fmt.Errorf("pdfverify: read: %w", err)
	}
	v := &ValidationData{Schema: ValidationSchema, CollectedAt: o.Now().UTC(), Signatures: []SignatureMaterial{}}
	resp, err := verifyCMS(buf)
	if err != nil || resp == nil {
		return v, nil // no readable signature: nothing to collect (the verdict says why)
	}
	c := collector{o: o, ocsp: map[string]RevocationAnswer{}, crl: map[string][]byte{}, crlAnswer: map[string]RevocationAnswer{}}
	for _, s := range resp.Signers {
		m := SignatureMaterial{Signer: s.Name, Certificates: []CertificateMaterial{}}
		if s.SignatureTime != nil {
			m.SigningTime = s.SignatureTime.UTC()
		}
		var certs []*x509.Certificate
		for _, lc := range s.Certificates {
			if lc.Certificate != nil {
				certs = append(certs, lc.Certificate)
			}
		}
		for _, cert := range certs {
			m.Certificates = append(m.Certificates, c.material(ctx, cert, issuerOf(cert, certs)))
		}
		v.Signatures = append(v.Signatures, m)
	}
	return v, nil
}

// issuerOf finds the certificate among certs whose key signed cert.
func issuerOf(cert *x509.Certificate, certs []*x509.Certificate) *x509.Certificate {
	for _, c := range certs {
		if bytes.Equal(c.RawSubject, cert.RawIssuer) && cert.CheckSignatureFrom(c) == nil {
			return c
		}
	}
	return nil
}

func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawSubject, c.RawIssuer) && c.CheckSignatureFrom(c) == nil
}

type collector struct {
	o         CollectOptions
	ocsp      map[string]RevocationAnswer // by url + serial
	crl       map[string][]byte           // by url: raw answer
	crlAnswer map[string]RevocationAnswer // by url: the fetch (status of the fetch itself)
}

func (c *collector) material(ctx context.Context, cert, issuer *x509.Certificate) CertificateMaterial {
	sum := sha256.Sum256(cert.Raw)
	m := CertificateMaterial{Subject: cert.Subject.String(), Issuer: cert.Issuer.String(),
		Serial: cert.SerialNumber.String(), SHA256: hex.EncodeToString(sum[:]), DER: cert.Raw}
	if selfSigned(cert) {
		m.SelfSigned = true
		return m
	}
	for _, u := range cert.OCSPServer {
		key := u + "\x00" + m.Serial
		a, ok := c.ocsp[key]
		if !ok {
			a = c.fetchOCSP(ctx, u, cert, issuer)
			c.ocsp[key] = a
		}
		m.OCSP = append(m.OCSP, a)
	}
	for _, u := range cert.CRLDistributionPoints {
		m.CRL = append(m.CRL, c.fetchCRL(ctx, u, cert, issuer))
	}
	return m
}

func (c *collector) fetchOCSP(ctx context.Context, u string, cert, issuer *x509.Certificate) RevocationAnswer {
	a := RevocationAnswer{URL: u, FetchedAt: c.o.Now().UTC()}
	if issuer == nil {
		a.Status, a.Error = StatusNoIssuer, "the signature does not carry the issuer certificate"
		return a
	}
	req, err := ocsp.CreateRequest(cert, issuer, &ocsp.RequestOptions{})
	if err != nil {
		a.Status, a.Error = StatusInvalid, "build the request: "+err.Error()
		return a
	}
	raw, status, err := c.do(ctx, http.MethodPost, u, req, "application/ocsp-request")
	a.HTTPStatus = status
	if err != nil {
		a.Status, a.Error = StatusUnreachable, err.Error()
		return a
	}
	a.Raw = raw
	readOCSP(&a, cert, issuer)
	return a
}

// readOCSP fills the status of an OCSP answer from its Raw bytes.
func readOCSP(a *RevocationAnswer, cert, issuer *x509.Certificate) {
	resp, err := ocsp.ParseResponseForCert(a.Raw, cert, issuer)
	if err != nil {
		a.Status, a.Error = StatusInvalid, "OCSP answer: "+err.Error()
		return
	}
	a.ThisUpdate, a.NextUpdate, a.Error = resp.ThisUpdate.UTC(), resp.NextUpdate.UTC(), ""
	switch resp.Status {
	case ocsp.Good:
		a.Status = StatusGood
	case ocsp.Revoked:
		a.Status, a.RevokedAt = StatusRevoked, resp.RevokedAt.UTC()
	default:
		a.Status = StatusUnknown
	}
}

func (c *collector) fetchCRL(ctx context.Context, u string, cert, issuer *x509.Certificate) RevocationAnswer {
	a, ok := c.crlAnswer[u]
	if !ok {
		a = RevocationAnswer{URL: u, FetchedAt: c.o.Now().UTC()}
		raw, status, err := c.do(ctx, http.MethodGet, u, nil, "")
		a.HTTPStatus = status
		if err != nil {
			a.Status, a.Error = StatusUnreachable, err.Error()
		} else {
			a.Raw = raw
		}
		c.crlAnswer[u] = a
	}
	if a.Status == StatusUnreachable {
		return a
	}
	if issuer == nil {
		a.Status, a.Error = StatusNoIssuer, "the signature does not carry the issuer certificate"
		return a
	}
	readCRL(&a, cert, issuer)
	return a
}

// readCRL fills the status of a CRL answer from its Raw bytes: the list
// must parse and be signed by the issuer.
func readCRL(a *RevocationAnswer, cert, issuer *x509.Certificate) {
	crl, err := x509.ParseRevocationList(a.Raw)
	if err == nil {
		err = crl.CheckSignatureFrom(issuer)
	}
	if err != nil {
		a.Status, a.Error = StatusInvalid, "CRL: "+err.Error()
		return
	}
	a.ThisUpdate, a.NextUpdate, a.Status, a.Error = crl.ThisUpdate.UTC(), crl.NextUpdate.UTC(), StatusGood, ""
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
			a.Status, a.RevokedAt = StatusRevoked, e.RevocationTime.UTC()
		}
	}
}

func (c *collector) do(ctx context.Context, method, u string, body []byte, contentType string) ([]byte, int, error) {
	ctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return nil, 0, fmt.Errorf("not an http(s) URL")
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, 0, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.o.HTTPClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.o.MaxAnswer+1))
	if err != nil {
		return nil, resp.StatusCode, err
	}
	if int64(len(b)) > c.o.MaxAnswer {
		return nil, resp.StatusCode, fmt.Errorf("answer larger than %d bytes", c.o.MaxAnswer)
	}
	return b, resp.StatusCode, nil
}

// Reshow checks stored ValidationData again without any network: every
// certificate parses and matches its hash, and every stored answer still
// parses and verifies against the issuer carried beside it, with the
// status recorded. It returns the problems found (none: the material
// shows what it showed when collected) and the worst revocation status
// over the signer certificates (good, revoked, unknown, unreachable, …).
func (v *ValidationData) Reshow() (problems []string, worst string) {
	worst = StatusGood
	rank := map[string]int{StatusGood: 0, StatusUnknown: 1, StatusUnreachable: 2, StatusNoIssuer: 3, StatusInvalid: 4, StatusRevoked: 5}
	if v.Schema != ValidationSchema {
		return []string{fmt.Sprintf("unknown schema %q", v.Schema)}, StatusInvalid
	}
	for i, s := range v.Signatures {
		var certs []*x509.Certificate
		for j, m := range s.Certificates {
			c, err := x509.ParseCertificate(m.DER)
			sum := sha256.Sum256(m.DER)
			if err != nil || hex.EncodeToString(sum[:]) != m.SHA256 || c.SerialNumber.String() != m.Serial {
				problems = append(problems, fmt.Sprintf("signature %d certificate %d: does not parse or match its hash", i+1, j+1))
				return problems, StatusInvalid
			}
			certs = append(certs, c)
		}
		for j, m := range s.Certificates {
			cert, issuer := certs[j], issuerOf(certs[j], certs)
			for _, kind := range []struct {
				name    string
				answers []RevocationAnswer
				read    func(*RevocationAnswer, *x509.Certificate, *x509.Certificate)
			}{{"OCSP", m.OCSP, readOCSP}, {"CRL", m.CRL, readCRL}} {
				for _, a := range kind.answers {
					again := a
					if a.Raw != nil && issuer != nil {
						kind.read(&again, cert, issuer)
					}
					if again.Status != a.Status || !again.RevokedAt.Equal(a.RevokedAt) {
						problems = append(problems, fmt.Sprintf("signature %d certificate %d: %s answer from %s reads %s now, recorded %s",
							i+1, j+1, kind.name, a.URL, again.Status, a.Status))
					}
					if !m.SelfSigned && rank[again.Status] > rank[worst] {
						worst = again.Status
					}
				}
			}
		}
	}
	return problems, worst
}
