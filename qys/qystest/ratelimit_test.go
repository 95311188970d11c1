package qystest_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
)

// burst sends n detail calls from 32 goroutines without client retries and
// returns how many answered rate limited.
func burst(t *testing.T, c *qys.Client, id string, n int) int {
	t.Helper()
	var mu sync.Mutex
	limited := 0
	var wg sync.WaitGroup
	calls := make(chan struct{}, n)
	for range n {
		calls <- struct{}{}
	}
	close(calls)
	for range 32 {
		wg.Go(func() {
			for range calls {
				_, err := c.ContractDetail(context.Background(), qys.ContractQuery{ContractID: id})
				switch {
				case errors.Is(err, qys.ErrRateLimited):
					mu.Lock()
					limited++
					mu.Unlock()
				case err != nil:
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	return limited
}

// TestLimitRate: a burst well over the enforced limit is partly answered
// 11990006 (counted in RateLimited, recorded with that code), each
// application has its own bucket, and turning the limit off ends it.
func TestLimitRate(t *testing.T) {
	srv := MustServer(t)
	id := MustContract(t, srv, nil)
	srv.LimitRate(20, qystest.RateAnswerCode)
	noRetry := qys.WithRetries(0, time.Millisecond, time.Millisecond)
	limited := burst(t, MustClient(t, srv, noRetry), id, 200)
	if limited == 0 || limited != srv.RateLimited() {
		t.Fatalf("limited = %d, RateLimited = %d; want equal and above zero", limited, srv.RateLimited())
	}
	coded := 0
	for _, r := range srv.Requests() {
		if r.Code == qys.CodeRateLimited && r.Status == http.StatusOK {
			coded++
		}
	}
	if coded != limited {
		t.Fatalf("requests answered 11990006 = %d, want %d", coded, limited)
	}

	// A second application has a bucket of its own.
	srv.AddApp("other-app", "other-secret")
	other, err := qys.NewClient(srv.URL, "other-app", "other-secret", noRetry)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.ContractDetail(context.Background(), qys.ContractQuery{ContractID: id}); err != nil {
		t.Fatalf("other app, first call: %v", err)
	}

	srv.LimitRate(0, qystest.RateAnswerCode)
	before := srv.RateLimited()
	if n := burst(t, MustClient(t, srv, noRetry), id, 100); n != 0 || srv.RateLimited() != before {
		t.Fatalf("limit off: %d limited", n)
	}
}

// TestLimitRateHTTP429: the gateway-style answer is HTTP 429 with
// Retry-After, which the client reads as ErrRateLimited.
func TestLimitRateHTTP429(t *testing.T) {
	srv := MustServer(t)
	id := MustContract(t, srv, nil)
	srv.LimitRate(1, qystest.RateAnswerHTTP429)
	c := MustClient(t, srv, qys.WithRetries(0, time.Millisecond, time.Millisecond))
	ctx := ctxTimeout(t, 5*time.Second)
	if _, err := c.ContractDetail(ctx, qys.ContractQuery{ContractID: id}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ContractDetail(ctx, qys.ContractQuery{ContractID: id}); !errors.Is(err, qys.ErrRateLimited) {
		t.Fatalf("second call: %v, want ErrRateLimited", err)
	}
	reqs := srv.Requests()
	last := reqs[len(reqs)-1]
	if last.Status != http.StatusTooManyRequests || srv.RateLimited() != 1 {
		t.Fatalf("last status %d, RateLimited %d", last.Status, srv.RateLimited())
	}
}

// TestBudgetUnderLimitRate: the same burst through a client with a budget
// under the enforced limit meets no refusal at all; without one (the
// control) it does. Counts only, never time.
func TestBudgetUnderLimitRate(t *testing.T) {
	srv := MustServer(t)
	id := MustContract(t, srv, nil)
	srv.LimitRate(25, qystest.RateAnswerCode)
	b, err := qys.NewBudget(qys.BudgetOptions{Rate: 20, InFlight: 8})
	if err != nil {
		t.Fatal(err)
	}
	noRetry := qys.WithRetries(0, time.Millisecond, time.Millisecond)
	if n := burst(t, MustClient(t, srv, noRetry, qys.WithBudget(b)), id, 50); n != 0 || srv.RateLimited() != 0 {
		t.Fatalf("with a budget of 20/s under a limit of 25/s: %d refused", n)
	}
	if s := b.Stats(); s.Waited == 0 || s.InFlight != 0 {
		t.Fatalf("budget stats %+v: want waits, nothing left in flight", s)
	}
	if n := burst(t, MustClient(t, srv, noRetry), id, 200); n == 0 {
		t.Fatal("control without a budget: no refusal; the test proves nothing")
	}
}
