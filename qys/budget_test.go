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

// TestBudgetShrinksOnRateLimited: an episode the first probe ends (the
// platform refused a moment's burst) halves the rate, down to Rate/64 at
// most, and each cooldown without one doubles it back to Rate.
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
	shortEpisode := func() {
		t.Helper()
		qys.ReportRateLimited(b, 0)
		clock = clock.Add(qys.DefaultThrottlePause)
		tk, ok := qys.Send(b)
		if !ok {
			t.Fatal("no probe admitted once the window ended")
		}
		tk.Answer(nil, 0)
	}
	rateIs(64)
	for _, want := range []float64{32, 16, 8, 4, 2, 1, 1} {
		clock = clock.Add(time.Second)
		shortEpisode()
		rateIs(want)
	}
	if s := b.Stats(); s.Throttled != 7 || s.Episodes != 7 || s.Limited {
		t.Fatalf("stats = %+v, want 7 rate-limited answers in 7 episodes, none under way", s)
	}
	for _, want := range []float64{2, 4, 8, 16, 32, 64, 64} {
		clock = clock.Add(10 * time.Second)
		rateIs(want)
	}
}

// TestThrottleBurstIsOneWindow: a hundred requests under way when the
// platform starts refusing, answered rate limited over ten seconds, open
// one window (the first answer's), not one per answer: the computed pause
// ends a second after the first refusal. Before, every refusal pushed the
// pause to its own arrival plus a second, so the last one, ten seconds in,
// held every call of the tenant a second more, and a stream of refusals
// kept it paused for as long as they came. During the window nothing
// goes; after it, one probe at a time.
func TestThrottleBurstIsOneWindow(t *testing.T) {
	clock := time.Unix(1_700_000_000, 0)
	b := mustBudget(t, qys.WithBudgetClock(qys.BudgetOptions{}, func() time.Time { return clock }))
	var inFlight []*qys.Ticket
	for range 100 {
		tk, ok := qys.Send(b)
		if !ok {
			t.Fatal("a request was refused before any rate-limited answer")
		}
		inFlight = append(inFlight, tk)
	}
	for i, tk := range inFlight {
		clock = clock.Add(100 * time.Millisecond)
		tk.Answer(qys.RateLimitedAnswer, 0)
		s := b.Stats()
		if i == 0 && s.Pause != qys.DefaultThrottlePause {
			t.Fatalf("pause after the first refusal = %s, want %s", s.Pause, qys.DefaultThrottlePause)
		}
		if want := max(qys.DefaultThrottlePause-time.Duration(i)*100*time.Millisecond, 0); s.Pause != want {
			t.Fatalf("pause after refusal %d = %s, want %s (the first refusal's window only)", i+1, s.Pause, want)
		}
		if _, ok := qys.Send(b); ok && i < 10 {
			t.Fatalf("a request went %s into the window", time.Duration(i)*100*time.Millisecond)
		} else if ok {
			break // the probe: the refusals still arriving are from before it
		}
	}
	if s := b.Stats(); s.Episodes != 1 || !s.Limited {
		t.Fatalf("stats = %+v, want one episode under way", s)
	}
	if _, ok := qys.Send(b); ok {
		t.Fatal("a second request went while the probe was under way")
	}
}

// TestThrottleResumesWhenPlatformAnswers: a long episode (ten windows of
// refused probes) ends with the first probe answered: nothing is paused
// any more and the rate is the one set, not shrunk, because the platform
// refused even one request per window, which our rate did not cause.
// Before, each refusal a second apart halved the rate, to Rate/64 after a
// burst, and it took six cooldowns (three minutes by default) to grow back.
// Any answer counts, a server error too; a probe that got no answer (its
// ctx ended) only lets the next one go.
func TestThrottleResumesWhenPlatformAnswers(t *testing.T) {
	clock := time.Unix(1_700_000_000, 0)
	b := mustBudget(t, qys.WithBudgetClock(qys.BudgetOptions{Rate: 64}, func() time.Time { return clock }))
	qys.ReportRateLimited(b, 0)
	for i := range 10 {
		clock = clock.Add(qys.DefaultThrottlePause)
		tk, ok := qys.Send(b)
		if !ok {
			t.Fatalf("window %d: no probe admitted", i)
		}
		tk.Answer(qys.RateLimitedAnswer, 0)
	}
	clock = clock.Add(qys.DefaultThrottlePause)
	tk, ok := qys.Send(b)
	if !ok {
		t.Fatal("no probe admitted")
	}
	tk.Answer(context.Canceled, 0) // no answer
	if s := b.Stats(); !s.Limited {
		t.Fatalf("stats = %+v: a probe without an answer ended the episode", s)
	}
	tk, ok = qys.Send(b)
	if !ok {
		t.Fatal("the next probe was not admitted after one without an answer")
	}
	tk.Answer(&qys.APIError{HTTPStatus: 500}, 0) // answering again, if badly
	s := b.Stats()
	if s.Limited || s.Pause != 0 || s.Rate != 64 || s.Episodes != 1 || s.Throttled != 11 {
		t.Fatalf("stats = %+v, want the episode over, no pause, the rate at 64, 11 refusals in 1 episode", s)
	}
	for range 5 {
		if _, ok := qys.Send(b); !ok {
			t.Fatal("a request waited after the platform answered again")
		}
	}
}

// TestThrottleWindowBoundedRetryAfter: a Retry-After opens a window of its
// length, at most MaxThrottlePause, so a probe asks again within it.
func TestThrottleWindowBoundedRetryAfter(t *testing.T) {
	clock := time.Unix(1_700_000_000, 0)
	b := mustBudget(t, qys.WithBudgetClock(qys.BudgetOptions{}, func() time.Time { return clock }))
	qys.ReportRateLimited(b, 3*time.Second)
	if p := b.Stats().Pause; p != 3*time.Second {
		t.Fatalf("pause = %s, want Retry-After's 3s", p)
	}
	clock = clock.Add(3 * time.Second)
	tk, _ := qys.Send(b)
	tk.Answer(qys.RateLimitedAnswer, time.Hour)
	if p := b.Stats().Pause; p != qys.MaxThrottlePause {
		t.Fatalf("pause = %s, want at most %s", p, qys.MaxThrottlePause)
	}
}

// TestBudgetStopEndsWaits: a call waiting out a window gives up when the
// ctx's stop channel closes (StopBudgetWaits), with ErrBudgetWait and
// ErrBudgetStopped, without reaching the platform, though its ctx lives.
func TestBudgetStopEndsWaits(t *testing.T) {
	var hits atomic.Int64
	b := mustBudget(t, qys.BudgetOptions{})
	c, _ := MustClient(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Retry-After", "4")
		writeJSON(w, 429, `{"code":11990006,"message":"接口调用频繁"}`)
	}, qys.WithBudget(b), qys.WithRetries(0, time.Millisecond, time.Millisecond))
	if _, err := c.ContractDetail(context.Background(), qys.ContractQuery{ContractID: "1"}); !errors.Is(err, qys.ErrRateLimited) {
		t.Fatalf("first call: %v", err)
	}
	stop := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		_, err := c.ContractDetail(qys.StopBudgetWaits(context.Background(), stop), qys.ContractQuery{ContractID: "1"})
		errc <- err
	}()
	for b.Stats().InFlight == 0 && len(errc) == 0 { // counted while it waits for the window
		time.Sleep(time.Millisecond)
	}
	close(stop)
	err := <-errc
	if !errors.Is(err, qys.ErrBudgetWait) || !errors.Is(err, qys.ErrBudgetStopped) {
		t.Fatalf("err = %v, want ErrBudgetWait and ErrBudgetStopped", err)
	}
	if hits.Load() != 1 {
		t.Fatalf("platform saw %d requests, want 1", hits.Load())
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
	for _, o := range []qys.BudgetOptions{{Rate: -1}, {InFlight: -1}, {Burst: -1}, {Cooldown: -time.Second}, {Pause: -1}, {Pause: time.Minute}} {
		if _, err := qys.NewBudget(o); !errors.Is(err, qys.ErrInvalidOption) {
			t.Errorf("%+v: %v, want ErrInvalidOption", o, err)
		}
	}
	if _, err := qys.NewClient("http://x", "t", "s", qys.WithBudget(nil)); !errors.Is(err, qys.ErrInvalidOption) {
		t.Errorf("nil budget: %v", err)
	}
}
