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
// workers; their delivery lag (publish to arrival) is logged, p50 and p99,
// the figure (not asserted: speed is never asserted).
func TestOneHangingEndpointSlowsNoOther(t *testing.T) {
	f := newFixture(t, testdb.SQLite)
	hang := newSink(t)
	hang.setAnswer(func(*http.Request, int) (int, bool) { return 0, true })
	f.endpointFor("ep_hang", hang, func(e *store.Endpoint) { e.Concurrency = 4 })
	var sinks []*sink
	for i := range 9 {
		s := newSink(t)
		f.endpointFor(fmt.Sprintf("ep_%d", i), s, nil)
		sinks = append(sinks, s)
	}
	f.start(func(o *delivery.Options) { o.Timeout = 5 * time.Second; o.AckWait = 10 * time.Second })
	f.waitFanout()
	const facts, perSecond = 400, 200
	published := map[string]time.Time{}
	tick := time.NewTicker(time.Second / perSecond)
	for i := range facts {
		<-tick.C
		id := f.publish(fmt.Sprintf("c%d", i%20), int64(i/20+1), "SIGNING")
		published[id] = time.Now()
	}
	tick.Stop()
	for i, s := range sinks {
		waitFor(t, fmt.Sprintf("every fact at endpoint %d", i), 60*time.Second, func() bool { return len(s.delivered()) >= facts })
	}
	var lags []time.Duration
	for _, s := range sinks {
		for _, r := range s.delivered() {
			lags = append(lags, r.At.Sub(published[r.ID]))
		}
	}
	slices.Sort(lags)
	t.Logf("9 endpoints × %d facts at %d/s beside a hanging endpoint: delivery lag p50 %s, p99 %s, max %s",
		facts, perSecond, lags[len(lags)/2], lags[len(lags)*99/100], lags[len(lags)-1])
	if n := len(hang.received()); n != 0 {
		t.Fatalf("the hanging endpoint answered %d requests", n)
	}
}
