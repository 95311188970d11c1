package qystest_test

import (
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
)

// checkFresh runs the auth check for a new nonce stamped at the clock's time.
func checkFresh(tb testing.TB, srv *qystest.Server, clk *fakeClock, nonce string) {
	tb.Helper()
	ts := strconv.FormatInt(clk.Now().UnixMilli(), 10)
	if code, msg := srv.CheckHeaders(srv.AppToken, ts, nonce, qys.SignAPI(srv.AppToken, srv.AppSecret, ts, nonce)); code != 0 {
		tb.Fatalf("nonce %s: code %d (%s)", nonce, code, msg)
	}
}

// TestNonceExpiryWorkPerCall counts the stored entries the nonce expiry
// examines: with more than 16,384 live nonces, a call must not look at
// all of them (it did: every call scanned the whole store), and over a run
// each stored nonce is examined a bounded number of times.
func TestNonceExpiryWorkPerCall(t *testing.T) {
	clk := &fakeClock{t: time.Now()}
	srv := MustServer(t, qystest.WithClock(clk.Now))
	const live = 20000
	for i := range live {
		checkFresh(t, srv, clk, fmt.Sprintf("fill-%d", i))
	}
	_, before := srv.NonceStats()
	for i := range 100 {
		checkFresh(t, srv, clk, fmt.Sprintf("more-%d", i))
	}
	n, after := srv.NonceStats()
	if n != live+100 {
		t.Fatalf("live nonces = %d, want %d", n, live+100)
	}
	if work := after - before; work > 1000 {
		t.Fatalf("100 calls with %d live nonces examined %d stored entries; want O(1) per call", live, work)
	}
	clk.Advance(16 * time.Minute) // past every nonce's timestamp window and TTL
	checkFresh(t, srv, clk, "last")
	n, total := srv.NonceStats()
	if n != 1 {
		t.Fatalf("live nonces after expiry = %d, want 1", n)
	}
	if total > 2*(live+101) {
		t.Fatalf("%d checks examined %d stored entries; want at most 2 per nonce", live+101, total)
	}
}

// BenchmarkNonceCheck measures one auth check (signature, timestamp,
// nonce) with a steady number of live nonces: the fake's clock moves so
// that one nonce expires for each one added.
func BenchmarkNonceCheck(b *testing.B) {
	for _, live := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("live=%d", live), func(b *testing.B) {
			clk := &fakeClock{t: time.Now()}
			window := 15 * time.Minute
			srv := MustServer(b, qystest.WithClock(clk.Now), qystest.WithTimestampWindow(window),
				qystest.WithNonceTTL(window))
			step := window / time.Duration(live)
			i := 0
			call := func() {
				clk.Advance(step)
				ts := strconv.FormatInt(clk.Now().UnixMilli(), 10)
				nonce := strconv.Itoa(i)
				i++
				if code, msg := srv.CheckHeaders(srv.AppToken, ts, nonce, qys.SignAPI(srv.AppToken, srv.AppSecret, ts, nonce)); code != 0 {
					b.Fatalf("code %d (%s)", code, msg)
				}
			}
			heap := func() uint64 {
				var m runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&m)
				return m.HeapAlloc
			}
			h0 := heap()
			for range live {
				call()
			}
			perNonce := float64(int64(heap())-int64(h0)) / float64(live) // heap of the filled store
			b.ResetTimer()
			for b.Loop() {
				call()
			}
			b.StopTimer()
			n, _ := srv.NonceStats()
			b.ReportMetric(float64(n), "live")
			b.ReportMetric(perNonce, "heapB/live")
		})
	}
}

// TestNonceClockSteps: the expiry copes with a clock that jumps back and
// forth (WithClock in tests, a corrected system clock in the sim): a nonce
// is refused while its timestamp is fresh and forgotten afterwards.
func TestNonceClockSteps(t *testing.T) {
	start := time.Now()
	clk := &fakeClock{t: start}
	srv := MustServer(t, qystest.WithClock(clk.Now))
	check := func(nonce string, at time.Time) int {
		ts := strconv.FormatInt(at.UnixMilli(), 10)
		code, _ := srv.CheckHeaders(srv.AppToken, ts, nonce, qys.SignAPI(srv.AppToken, srv.AppSecret, ts, nonce))
		return code
	}
	checkFresh(t, srv, clk, "a")
	clk.Advance(-time.Hour) // the clock goes back: "b" expires before what was swept
	back := clk.Now()
	checkFresh(t, srv, clk, "b")
	if check("b", back) != qys.CodeInvalidToken {
		t.Fatal("replay of b accepted right after the clock went back")
	}
	clk.Advance(time.Hour + 2*time.Second)
	if check("a", start) != qys.CodeInvalidToken {
		t.Fatal("replay of a accepted inside its window")
	}
	if check("b", clk.Now()) != 0 {
		t.Fatal("b still remembered after its window")
	}
	clk.Advance(48 * time.Hour) // a jump far past every bucket
	checkFresh(t, srv, clk, "c")
	if n, _ := srv.NonceStats(); n != 1 {
		t.Fatalf("live nonces after a long jump = %d, want 1", n)
	}
}
