package qystest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/tsa"
)

// TestTSA: the fake's authority stamps for real (the token verifies
// against its root), and the control API takes it down and back.
func TestTSA(t *testing.T) {
	s := qystest.NewServer(qystest.WithControlAPI())
	defer s.Close()
	c, err := tsa.New(tsa.Options{URLs: []string{s.TSAURL()}, Roots: s.TSA().Roots()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := c.Stamp(ctx, s.TSAURL(), []byte("checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tsa.Verify(st.Token, []byte("checkpoint"), s.TSA().Roots(), nil); err != nil {
		t.Fatal(err)
	}
	control := func(q string) int {
		resp, err := http.Post(s.URL+qystest.ControlPrefix+"tsa"+q, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := control("?fault=500"); st != http.StatusOK {
		t.Fatalf("fault=500: %d", st)
	}
	if _, err := c.Stamp(ctx, s.TSAURL(), []byte("x")); !errors.Is(err, tsa.ErrRefused) {
		t.Fatalf("during the fault: %v", err)
	}
	if st := control("?fault=sideways"); st != http.StatusBadRequest {
		t.Fatalf("an unknown fault: %d", st)
	}
	if st := control("?fault=none"); st != http.StatusOK {
		t.Fatalf("fault=none: %d", st)
	}
	if _, err := c.Stamp(ctx, s.TSAURL(), []byte("x")); err != nil {
		t.Fatalf("after the fault: %v", err)
	}
	resp, err := http.Get(s.URL + qystest.ControlPrefix + "tsa/root.pem")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !bytes.Equal(body, s.TSA().RootPEM()) {
		t.Fatalf("root.pem: %q", body)
	}
}
