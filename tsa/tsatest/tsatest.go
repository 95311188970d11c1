// Package tsatest is a real RFC 3161 time-stamping authority for tests
// and the demo, httptest-shaped: a Responder is an http.Handler that
// answers time-stamp queries with tokens signed by its own certificate
// (extended key usage timeStamping, critical) under its own root, refuses
// malformed queries the way a real authority does (HTTP 200 with a
// TimeStampResp of status rejection and a failure reason), and can be
// told to go down, answer 500 or hang (SetFault) for fault tests.
//
// Where it differs from a production authority: its keys are made per
// responder (ECDSA P-256), it keeps no audit trail, its clock is the
// caller's (Options.Now) and it grants every well-formed query.
package tsatest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/digitorus/timestamp"
)

// Fault is what the responder does with the next queries.
type Fault string

// Faults of SetFault.
const (
	// FaultNone answers normally.
	FaultNone Fault = ""
	// FaultDown drops every connection without an answer.
	FaultDown Fault = "down"
	// Fault500 answers HTTP 500.
	Fault500 Fault = "500"
	// FaultHang holds every query until the client gives up (or the
	// fault is cleared).
	FaultHang Fault = "hang"
)

// ParseFault reads a fault name ("none", "down", "500", "hang").
func ParseFault(s string) (Fault, error) {
	switch s {
	case "", "none":
		return FaultNone, nil
	case string(FaultDown), string(Fault500), string(FaultHang):
		return Fault(s), nil
	}
	return "", fmt.Errorf("tsatest: fault %q: want none, down, 500 or hang", s)
}

// PolicyOID is the policy of the responder's tokens (an OID under the
// documentation arc 1.3.6.1.4.1.55555 — not registered to anyone).
var PolicyOID = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 55555, 3161, 1}

// Options configure a Responder.
type Options struct {
	// Now is the responder's clock (default time.Now).
	Now func() time.Time
	// Name is the common name of its certificates (default "qystest TSA").
	Name string
}

// Responder is a time-stamping authority. It is safe for concurrent use.
type Responder struct {
	// Root is the self-signed root certificate; Cert, issued by it, signs
	// the tokens.
	Root *x509.Certificate
	Cert *x509.Certificate

	key     crypto.Signer
	now     func() time.Time
	mu      sync.Mutex
	fault   Fault
	release chan struct{} // closed when a hang ends
	granted atomic.Int64
	queries atomic.Int64
}

// New makes a responder with a fresh root and signing certificate.
func New(o Options) (*Responder, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Name == "" {
		o.Name = "qystest TSA"
	}
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("tsatest: root key: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("tsatest: key: %w", err)
	}
	start := o.Now().Add(-time.Hour)
	rootTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: o.Name + " Root", Organization: []string{"qyshook test"}},
		NotBefore:             start,
		NotAfter:              start.AddDate(20, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, rootKey.Public(), rootKey)
	if err != nil {
		return nil, fmt.Errorf("tsatest: root: %w", err)
	}
	root, err := x509.ParseCertificate(rootDER)
	if err != nil {
		return nil, fmt.Errorf("tsatest: root: %w", err)
	}
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: o.Name, Organization: []string{"qyshook test"}},
		NotBefore:    start,
		NotAfter:     start.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		// The timeStamping extended key usage, critical (RFC 3161 §2.3);
		// crypto/x509 writes ExtKeyUsage non-critical, so it is given as
		// an extra extension instead.
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root, key.Public(), rootKey)
	if err != nil {
		return nil, fmt.Errorf("tsatest: certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("tsatest: certificate: %w", err)
	}
	return &Responder{Root: root, Cert: cert, key: key, now: o.Now, release: make(chan struct{})}, nil
}

// Roots returns a pool holding the responder's root.
func (r *Responder) Roots() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(r.Root)
	return p
}

// RootPEM returns the root certificate in PEM.
func (r *Responder) RootPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.Root.Raw})
}

// CertPEM returns the signing certificate in PEM.
func (r *Responder) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.Cert.Raw})
}

// SetFault sets what the responder does with the next queries; FaultNone
// also releases the queries a hang holds.
func (r *Responder) SetFault(f Fault) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fault == FaultHang && f != FaultHang {
		close(r.release)
		r.release = make(chan struct{})
	}
	r.fault = f
}

// Granted counts the tokens issued; Queries every query received.
func (r *Responder) Granted() int64 { return r.granted.Load() }

// Queries counts every query received, faults included.
func (r *Responder) Queries() int64 { return r.queries.Load() }

// ServeHTTP answers one time-stamp query.
func (r *Responder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.queries.Add(1)
	r.mu.Lock()
	fault, release := r.fault, r.release
	r.mu.Unlock()
	switch fault {
	case FaultDown:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler) // net/http closes the connection
	case Fault500:
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	case FaultHang:
		select {
		case <-req.Context().Done():
		case <-release:
			http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		}
		return
	}
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST a time-stamp query", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, 64<<10))
	if err != nil {
		return
	}
	resp, err := r.answer(req.Header.Get("Content-Type"), body)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	_, _ = w.Write(resp)
}

// answer builds the TimeStampResp for a query: a token, or a rejection.
func (r *Responder) answer(contentType string, body []byte) ([]byte, error) {
	if contentType != "application/timestamp-query" {
		return timestamp.CreateErrorResponse(timestamp.Rejection, timestamp.BadRequest)
	}
	q, err := timestamp.ParseRequest(body)
	if err != nil {
		return timestamp.CreateErrorResponse(timestamp.Rejection, timestamp.BadDataFormat)
	}
	if !q.HashAlgorithm.Available() || q.HashAlgorithm.Size() != len(q.HashedMessage) {
		return timestamp.CreateErrorResponse(timestamp.Rejection, timestamp.BadAlgorithm)
	}
	if q.TSAPolicyOID != nil && !q.TSAPolicyOID.Equal(PolicyOID) {
		return timestamp.CreateErrorResponse(timestamp.Rejection, timestamp.UnacceptedPolicy)
	}
	if len(q.Extensions) > 0 {
		return timestamp.CreateErrorResponse(timestamp.Rejection, timestamp.UnacceptedExtension)
	}
	ts := timestamp.Timestamp{
		HashAlgorithm:     q.HashAlgorithm,
		HashedMessage:     q.HashedMessage,
		Time:              r.now().UTC().Truncate(time.Second),
		Accuracy:          time.Second,
		Nonce:             q.Nonce,
		Policy:            PolicyOID,
		AddTSACertificate: q.Certificates,
	}
	if q.Certificates {
		ts.Certificates = []*x509.Certificate{r.Root}
	}
	resp, err := ts.CreateResponseWithOpts(r.Cert, r.key, crypto.SHA256)
	if err != nil {
		return nil, errors.Join(errors.New("tsatest: sign"), err)
	}
	r.granted.Add(1)
	return resp, nil
}
