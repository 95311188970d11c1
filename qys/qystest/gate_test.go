package qystest_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
)

// TestHoldDetail: a held answer carries the contract as it was when the
// request arrived, even when it changed while held; other requests pass.
func TestHoldDetail(t *testing.T) {
	srv := MustServer(t)
	client := MustClient(t, srv)
	id := MustContract(t, srv, func(s *qystest.ContractSpec) { s.Status = lifecycle.Signing })
	gate := srv.HoldDetail(id)
	type answer struct {
		c   *qys.Contract
		err error
	}
	held := make(chan answer, 1)
	go func() {
		c, err := client.ContractDetail(ctxTimeout(t, time.Minute), qys.ContractQuery{ContractID: id})
		held <- answer{c, err}
	}()
	<-gate.Held()
	if err := srv.SetStatus(id, lifecycle.Complete); err != nil {
		t.Fatal(err)
	}
	c, err := client.ContractDetail(ctxTimeout(t, time.Minute), qys.ContractQuery{ContractID: id})
	if err != nil || c.Status != lifecycle.Complete {
		t.Fatalf("request past the gate: %v, %v", c, err)
	}
	select {
	case a := <-held:
		t.Fatalf("held request answered before Release: %+v", a)
	default:
	}
	gate.Release()
	a := <-held
	if a.err != nil || a.c.Status != lifecycle.Signing {
		t.Fatalf("held answer: %+v, want the SIGNING snapshot", a)
	}
}

func TestHoldDetailFail(t *testing.T) {
	srv := MustServer(t)
	client := MustClient(t, srv, qys.WithRetries(0, time.Millisecond, time.Millisecond))
	id := MustContract(t, srv, nil)
	gate := srv.HoldDetail(id)
	done := make(chan error, 1)
	go func() {
		_, err := client.ContractDetail(ctxTimeout(t, time.Minute), qys.ContractQuery{ContractID: id})
		done <- err
	}()
	<-gate.Held()
	gate.Fail(http.StatusBadGateway)
	if err := <-done; !errors.Is(err, qys.ErrServer) {
		t.Fatalf("failed gate: err = %v, want qys.ErrServer", err)
	}
}
