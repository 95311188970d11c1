package qystest

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"
)

// The fake CA's revocation services. The signer certificates it issues
// name them (OCSPServer, CRLDistributionPoints), so a validator that
// fetches revocation data gets real, signed answers:
//
//   - POST CAOCSPPath (or GET CAOCSPPath/<base64 request>): RFC 6960 OCSP (request and answer DER,
//     application/ocsp-request / application/ocsp-response), signed by
//     the CA itself; an unknown serial is "unknown".
//   - GET CACRLPath: an RFC 5280 CRL (DER) signed by the CA, valid for a
//     day, listing the revoked signers.
//
// Neither needs the open API's headers (a real CA's services do not).
const (
	caPrefix   = "/qystest/ca/"
	CAOCSPPath = caPrefix + "ocsp"
	CACRLPath  = caPrefix + "crl"
)

// revocation is the CA's revocation state; guarded by Server.mu.
type revocation struct {
	revoked     map[string]time.Time // serial (decimal) → revoked at
	unreachable bool
	crlNumber   int64
}

// RevokeSigner revokes the signing certificate of the named signer (a
// tenant name) as of now: OCSP answers "revoked" and the CRL lists it.
// It reports false when the fake never issued that signer a certificate.
func (s *Server) RevokeSigner(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc := s.ev.signers[name]
	if sc == nil {
		return false
	}
	if s.rev.revoked == nil {
		s.rev.revoked = map[string]time.Time{}
	}
	s.rev.revoked[sc.cert.SerialNumber.String()] = s.now().UTC().Truncate(time.Second)
	return true
}

// SetRevocationUnreachable makes the OCSP and CRL services answer 503
// (on) or serve again (off), as an unreachable CA would.
func (s *Server) SetRevocationUnreachable(on bool) {
	s.mu.Lock()
	s.rev.unreachable = on
	s.mu.Unlock()
}

func (s *Server) serveCA(w *recorder, r *http.Request) {
	s.mu.Lock()
	down := s.rev.unreachable
	s.mu.Unlock()
	if down {
		w.code = -1
		http.Error(w, "CA service unavailable", http.StatusServiceUnavailable)
		return
	}
	ca, err := s.CACertificate()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	switch {
	case r.URL.Path == CAOCSPPath && r.Method == http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.serveOCSP(w, body, ca)
	case strings.HasPrefix(r.URL.Path, CAOCSPPath+"/") && r.Method == http.MethodGet:
		// RFC 6960 A.1: GET {url}/{url-encoding of base-64 of the DER request}.
		enc, _ := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), CAOCSPPath+"/"))
		body, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			writeDER(w, "application/ocsp-response", ocsp.MalformedRequestErrorResponse)
			return
		}
		s.serveOCSP(w, body, ca)
	case r.URL.Path == CACRLPath && r.Method == http.MethodGet:
		s.serveCRL(w, ca)
	default:
		w.code = -1
		http.Error(w, "not found", http.StatusNotFound)
	}
}

func (s *Server) serveOCSP(w *recorder, body []byte, ca *x509.Certificate) {
	req, err := ocsp.ParseRequest(body)
	if err != nil {
		writeDER(w, "application/ocsp-response", ocsp.MalformedRequestErrorResponse)
		return
	}
	// x/crypto/ocsp writes producedAt as now truncated to the minute; a
	// thisUpdate after it makes NSS (pdfsig) reject the answer.
	now := s.now().UTC().Truncate(time.Minute)
	tmpl := ocsp.Response{SerialNumber: req.SerialNumber, Status: ocsp.Unknown,
		ThisUpdate: now, NextUpdate: now.Add(24 * time.Hour), IssuerHash: req.HashAlgorithm}
	s.mu.Lock()
	issued := false
	for _, sc := range s.ev.signers {
		if sc.cert.SerialNumber.Cmp(req.SerialNumber) == 0 {
			issued = true
		}
	}
	at, revoked := s.rev.revoked[req.SerialNumber.String()]
	s.mu.Unlock()
	switch {
	case revoked:
		tmpl.Status, tmpl.RevokedAt, tmpl.RevocationReason = ocsp.Revoked, at, ocsp.KeyCompromise
	case issued:
		tmpl.Status = ocsp.Good
	}
	der, err := ocsp.CreateResponse(ca, ca, tmpl, s.ev.caKey)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeDER(w, "application/ocsp-response", der)
}

func (s *Server) serveCRL(w *recorder, ca *x509.Certificate) {
	now := s.now().UTC().Truncate(time.Second)
	s.mu.Lock()
	s.rev.crlNumber++
	tmpl := &x509.RevocationList{Number: big.NewInt(s.rev.crlNumber), ThisUpdate: now, NextUpdate: now.Add(24 * time.Hour)}
	for serial, at := range s.rev.revoked {
		n, _ := new(big.Int).SetString(serial, 10)
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries,
			x509.RevocationListEntry{SerialNumber: n, RevocationTime: at, ReasonCode: ocsp.KeyCompromise})
	}
	s.mu.Unlock()
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca, s.ev.caKey)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeDER(w, "application/pkix-crl", der)
}

func writeDER(w *recorder, contentType string, b []byte) {
	w.code = -1
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
