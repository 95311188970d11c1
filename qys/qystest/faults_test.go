package qystest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/qyshook/qyshook/qys"
)

func TestFailNext(t *testing.T) {
	srv := MustServer(t)
	id := MustContract(t, srv, nil)
	c := MustClient(t, srv)
	ctx := ctxTimeout(t, 5*time.Second)

	srv.FailNext(2, 503)
	if _, err := c.ContractDetail(ctx, qys.ContractQuery{ContractID: id}); err != nil {
		t.Fatalf("after 2 failures: %v", err)
	}
	var statuses []int
	for _, r := range srv.Requests() {
		statuses = append(statuses, r.Status)
	}
	if len(statuses) != 3 || statuses[0] != 503 || statuses[2] != 200 {
		t.Fatalf("statuses = %v", statuses)
	}

	srv.FailNext(100, 502)
	_, err := c.ContractDetail(ctx, qys.ContractQuery{ContractID: id})
	if !errors.Is(err, qys.ErrServer) {
		t.Fatalf("exhausted: err = %v, want ErrServer", err)
	}
	srv.FailNext(0, 0)
}

func TestRateLimitNext(t *testing.T) {
	srv := MustServer(t)
	id := MustContract(t, srv, nil)
	c := MustClient(t, srv)
	ctx := ctxTimeout(t, 5*time.Second)

	srv.RateLimitNext(2)
	if _, err := c.ContractDetail(ctx, qys.ContractQuery{ContractID: id}); err != nil {
		t.Fatalf("after 2 rate limits: %v", err)
	}
	srv.RateLimitNext(100)
	if _, err := c.ContractDetail(ctx, qys.ContractQuery{ContractID: id}); !errors.Is(err, qys.ErrRateLimited) {
		t.Fatalf("exhausted: err = %v, want ErrRateLimited", err)
	}
	if n := srv.DetailCalls(id); n != 1 {
		t.Fatalf("DetailCalls = %d, want 1 (refused answers do not count)", n)
	}
}

func TestLatency(t *testing.T) {
	srv := MustServer(t)
	id := MustContract(t, srv, nil)
	srv.SetLatency(5 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := MustClient(t, srv).ContractDetail(ctx, qys.ContractQuery{ContractID: id})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
}

// TestThrottle: while on, every request is answered 429 / 11990006 with
// Retry-After; off, the next one is answered.
func TestThrottle(t *testing.T) {
	srv := MustServer(t)
	id := MustContract(t, srv, nil)
	c := MustClient(t, srv)
	ctx := ctxTimeout(t, 5*time.Second)

	srv.Throttle(true, 2*time.Second)
	_, err := c.ContractDetail(ctx, qys.ContractQuery{ContractID: id})
	var ae *qys.APIError
	if !errors.As(err, &ae) || !errors.Is(err, qys.ErrRateLimited) || ae.HTTPStatus != 429 {
		t.Fatalf("throttled: err = %v, want HTTP 429 rate limited", err)
	}
	n := srv.Throttled()
	if n == 0 {
		t.Fatal("Throttled() = 0")
	}
	for _, r := range srv.Requests() {
		if r.Status != 429 {
			t.Fatalf("request answered %d while throttled", r.Status)
		}
	}
	srv.Throttle(false, 0)
	if _, err := c.ContractDetail(ctx, qys.ContractQuery{ContractID: id}); err != nil {
		t.Fatalf("after the throttle: %v", err)
	}
	if srv.Throttled() != n {
		t.Fatalf("Throttled() = %d after the throttle, want %d", srv.Throttled(), n)
	}
}
