package tsa_test

import (
	"context"
	"testing"

	"github.com/qyshook/qyshook/tsa"
)

// BenchmarkStamp: one time-stamp from the test responder over loopback
// (request, answer checked and verified).
func BenchmarkStamp(b *testing.B) {
	r, srv := mustResponder(b)
	c := mustClient(b, tsa.Options{URLs: []string{srv.URL}, Roots: r.Roots()})
	for b.Loop() {
		if _, err := c.Stamp(context.Background(), srv.URL, []byte("checkpoint")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify: one stored token checked offline.
func BenchmarkVerify(b *testing.B) {
	r, srv := mustResponder(b)
	c := mustClient(b, tsa.Options{URLs: []string{srv.URL}})
	st, err := c.Stamp(context.Background(), srv.URL, []byte("checkpoint"))
	if err != nil {
		b.Fatal(err)
	}
	roots := r.Roots()
	for b.Loop() {
		if _, err := tsa.Verify(st.Token, []byte("checkpoint"), roots, nil); err != nil {
			b.Fatal(err)
		}
	}
}
