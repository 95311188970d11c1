package qystest

import (
	"net/http"

	"github.com/qyshook/qyshook/tsa/tsatest"
)

// TSAPath is where the fake serves its RFC 3161 time-stamping authority
// (POST application/timestamp-query): s.URL + TSAPath is a
// QYSHOOK_TSA_URLS entry. 契约锁 runs no such service; the fake carries
// one so tests and the demo anchor checkpoints for real.
const TSAPath = "/tsa"

// TSA returns the fake's time-stamping authority: its root certificate
// (Root, RootPEM) and its faults (SetFault: down, 500, hang).
func (s *Server) TSA() *tsatest.Responder { return s.tsa }

// TSAURL is the authority's URL.
func (s *Server) TSAURL() string { return s.URL + TSAPath }

// newTSA makes the fake's authority on the fake's clock.
func newTSA(c config) *tsatest.Responder {
	r, err := tsatest.New(tsatest.Options{Now: c.now, Name: "qystest TSA"})
	if err != nil {
		panic("qystest: time-stamping authority: " + err.Error()) // only a failing random source
	}
	return r
}

// withTSA serves the authority at TSAPath in front of h.
func (s *Server) withTSA(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == TSAPath {
			s.tsa.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}
