package delivery_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/qyshook/qyshook/delivery"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
)

// TestOneHangingEndpointSlowsNoOther: ten endpoints receive every fact;
// one of them hangs on every request. The nine others receive all the
// facts, published at 200 a second, while the hanging one holds its own
// workers. The same load runs first with the tenth endpoint disabled, and
// the nine's delivery lag (publish to arrival) is logged for both rounds,
// p50 and p99: the figure (logged, not asserted: speed is never
// asserted; the comparison shows what the hanging endpoint costs the
// others on this machine). What is asserted: the nine have every fact of
// the second round while the hanging endpoint still holds its first
// attempts (the attempt timeout is a minute, and none has ended), which
// no stage that made the nine wait behind it could meet.
func TestOneHangingEndpointSlowsNoOther(t *testing.T) {
	f := newFixture(t, testdb.SQLite)
	hang := newSink(t)
	hang.setAnswer(func(*http.Request, int) (int, bool) { return 0, true })
	f.endpointFor("ep_hang", hang, func(e *store.Endpoint) { e.Concurrency = 4; e.Enabled = false })
	var sinks []*sink
	for i := range 9 {
		s := newSink(t)
		f.endpointFor(fmt.Sprintf("ep_%d", i), s, nil)
		sinks = append(sinks, s)
	}
	f.start(func(o *delivery.Options) { o.Timeout = time.Minute; o.AckWait = 90 * time.Second })
	f.waitFanout()
	const facts, perSecond = 400, 200
	hangAttempts := func() int {
		atts, err := f.store.EndpointAttempts(t.Context(), store.EndpointAttemptFilter{EndpointID: "ep_hang"})
		if err != nil {
			t.Fatal(err)
		}
		return len(atts)
	}
	round := func(name string, r int) {
		published := map[string]time.Time{}
		tick := time.NewTicker(time.Second / perSecond)
		for i := range facts {
			<-tick.C
			id := f.publish(fmt.Sprintf("c%d", i%20), int64(r*facts/20+i/20+1), "SIGNING")
			published[id] = time.Now()
		}
		tick.Stop()
		for i, s := range sinks {
			waitFor(t, fmt.Sprintf("every fact at endpoint %d", i), 120*time.Second, func() bool { return len(s.delivered()) >= (r+1)*facts })
		}
		if r == 1 {
			// Attempts are recorded when they end (a timeout included).
			if n := hangAttempts(); n != 0 || !hangingNow(hang) {
				t.Fatalf("the nine waited for the hanging endpoint: %d of its attempts ended before they had every fact", n)
			}
		}
		var lags []time.Duration
		for _, s := range sinks {
			for _, rc := range s.delivered() {
				if at, ok := published[rc.ID]; ok {
					lags = append(lags, rc.At.Sub(at))
				}
			}
		}
		slices.Sort(lags)
		t.Logf("%s: 9 endpoints × %d facts at %d/s: delivery lag p50 %s, p99 %s, max %s", name,
			facts, perSecond, lags[len(lags)/2], lags[len(lags)*99/100], lags[len(lags)-1])
	}
	round("tenth endpoint disabled", 0)
	if _, err := f.store.SetEndpointEnabled(t.Context(), "ep_hang", true, ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the hanging endpoint's first request", 30*time.Second, func() bool { return hangingNow(hang) })
	round("tenth endpoint hanging", 1)
	if n := len(hang.received()); n != 0 {
		t.Fatalf("the hanging endpoint answered %d requests", n)
	}
}

// hangingNow reports whether the sink has a request in hand.
func hangingNow(s *sink) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n > 0
}
