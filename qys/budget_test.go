package qys_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qyshook/qyshook/qys"
)

const detailOK = `{"code":0,"message":"SUCCESS","result":{"id":"1","status":"SIGNING"}}`

func mustBudget(tb testing.TB, o qys.BudgetOptions) *qys.Budget {
	tb.Helper()
	b, err := qys.NewBudget(o)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestBudgetBoundsInFlight: with InFlight 2, twenty concurrent calls never
// have more than two requests at the platform at once, and all succeed
// (they wait, they do not fail).
func TestBudgetBoundsInFlight(t *testing.T) {
	var now, peak atomic.Int64
	release := make(chan struct{})
	c, _ := MustClient(t, func(w http.ResponseWriter, r *http.Request) {
		n := now.Add(1)
		defer now.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		<-release
		writeJSON(w, 200, detailOK)
	}, qys.WithBudget(mustBudget(t, qys.BudgetOptions{InFlight: 2})))
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			_, err := c.ContractDetail(context.Background(), qys.ContractQuery{ContractID: "1"})
			errs <- err
		})
	}
	for range 20 { // let the requests through one at a time
		for now.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		release <- struct{}{}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if p := peak.Load(); p > 2 || p < 1 {
		t.Fatalf("peak in flight = %d, want 1..2", p)
	}
}

// TestBudgetWaitHonoursContext: a call that cannot get a place before its
// ctx ends fails with the ctx's error, saying it waited for the budget;
// nothing reaches the platform.
func TestBudgetWaitHonoursContext(t *testing.T) {
	var hits atomic.Int64
	b := mustBudget(t, qys.BudgetOptions{Rate: 1})
	c, _ := MustClient(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		writeJSON(w, 200, detailOK)
	}, qys.WithBudget(b))
	if _, err := c.ContractDetail(context.Background(), qys.ContractQuery{ContractID: "1"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := c.ContractDetail(ctx, qys.ContractQuery{ContractID: "1"})
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, qys.ErrBudgetWait) {
		t.Fatalf("err = %v, want a deadline while waiting for the budget", err)
	}
	if hits.Load() != 1 {
		t.Fatalf("platform saw %d requests, want 1", hits.Load())
	}
	if s := b.Stats(); s.Waited != 1 || s.InFlight != 0 {
		t.Fatalf("stats = %+v, want one wait and nothing in flight", s)
	}
}

// TestBudgetDownloadHoldsPlaceUntilRead: a download keeps its place until
// its body is read to the end, so with InFlight 1 another call waits
// until then, and a caller that calls again before Close does not wait on
// itself.
func TestBudgetDownloadHoldsPlaceUntilRead(t *testing.T) {
	b := mustBudget(t, qys.BudgetOptions{InFlight: 1})
	c, _ := MustClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/document/download" {
			w.Header().Set("Content-Type", "application/pdf")
			w.Header().Set("Content-Length", fmt.Sprint(len(pdf)))
			_, _ = w.Write(pdf)
			return
		}
		writeJSON(w, 200, detailOK)
	}, qys.WithBudget(b))
	d, err := c.DownloadDocument(context.Background(), "77")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Body.Close()
	if s := b.Stats(); s.InFlight != 1 {
		t.Fatalf("in flight while streaming = %d, want 1", s.InFlight)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.ContractDetail(ctx, qys.ContractQuery{ContractID: "1"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("detail during the download: %v, want it to wait", err)
	}
	if _, err := io.Copy(io.Discard, d.Body); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ContractDetail(context.Background(), qys.ContractQuery{ContractID: "1"}); err != nil {
		t.Fatalf("detail after the body was read, before Close: %v", err)
	}
	_ = d.Body.Close()
	_ = d.Body.Close() // a second Close gives nothing back twice
	if s := b.Stats(); s.InFlight != 0 {
		t.Fatalf("in flight after = %d, want 0", s.InFlight)
	}
}

// TestBudgetShrinksOnRateLimited: a rate-limited answer halves the rate
// (once per burst of such answers), down to Rate/64 at most, and each
// cooldown without one doubles it back to Rate.
func TestBudgetShrinksOnRateLimited(t *testing.T) {
	clock := time.Unix(1_700_000_000, 0)
	now := func() time.Time { return clock }
	b := mustBudget(t, qys.WithBudgetClock(qys.BudgetOptions{Rate: 64, Cooldown: 10 * time.Second}, now))
	rateIs := func(want float64) {
		t.Helper()
		if got := b.Stats().Rate; got != want {
			t.Fatalf("rate = %v, want %v", got, want)
		}
	}
	rateIs(64)
	qys.ReportRateLimited(b, 0)
	qys.ReportRateLimited(b, 0) // same burst
	rateIs(32)
	for _, want := range []float64{16, 8, 4, 2, 1, 1} {
		clock = clock.Add(2 * time.Second)
		qys.ReportRateLimited(b, 0)
		rateIs(want)
	}
	if s := b.Stats(); s.Throttled != 8 {
		t.Fatalf("throttled = %d, want 8", s.Throttled)
	}
	for _, want := range []float64{2, 4, 8, 16, 32, 64, 64} {
		clock = clock.Add(10 * time.Second)
		rateIs(want)
	}
}

// TestBudgetHonoursRetryAfter: after a 429 with Retry-After, the client's
// further calls wait for it (a call whose ctx ends sooner fails waiting
// for the budget and never reaches the platform), and a budget without a
// rate pauses too.
func TestBudgetHonoursRetryAfter(t *testing.T) {
	for _, o := range []qys.BudgetOptions{{}, {Rate: 1000}} {
		t.Run(fmt.Sprintf("rate%v", o.Rate), func(t *testing.T) {
			var hits atomic.Int64
			b := mustBudget(t, o)
			c, _ := MustClient(t, func(w http.ResponseWriter, r *http.Request) {
				if hits.Add(1) == 1 {
					w.Header().Set("Retry-After", "30")
					writeJSON(w, 429, `{"code":11990006,"message":"接口调用频繁"}`)
					return
				}
				writeJSON(w, 200, detailOK)
			}, qys.WithBudget(b), qys.WithRetries(0, time.Millisecond, time.Millisecond))
			_, err := c.ContractDetail(context.Background(), qys.ContractQuery{ContractID: "1"})
			if !errors.Is(err, qys.ErrRateLimited) {
				t.Fatalf("first call: %v", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			if _, err := c.ContractDetail(ctx, qys.ContractQuery{ContractID: "1"}); !errors.Is(err, context.DeadlineExceeded) ||
				!errors.Is(err, qys.ErrBudgetWait) {
				t.Fatalf("second call: %v, want to wait out Retry-After", err)
			}
			if hits.Load() != 1 || b.Stats().Throttled != 1 {
				t.Fatalf("hits = %d, stats = %+v", hits.Load(), b.Stats())
			}
		})
	}
}

// TestNewBudgetRefusesBadOptions: negative or non-finite settings and a
// nil budget are invalid options.
func TestNewBudgetRefusesBadOptions(t *testing.T) {
	for _, o := range []qys.BudgetOptions{{Rate: -1}, {InFlight: -1}, {Burst: -1}, {Cooldown: -time.Second}} {
		if _, err := qys.NewBudget(o); !errors.Is(err, qys.ErrInvalidOption) {
			t.Errorf("%+v: %v, want ErrInvalidOption", o, err)
		}
	}
	if _, err := qys.NewClient("http://x", "t", "s", qys.WithBudget(nil)); !errors.Is(err, qys.ErrInvalidOption) {
		t.Errorf("nil budget: %v", err)
	}
}
