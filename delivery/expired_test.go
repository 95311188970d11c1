package delivery_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qyshook/qyshook/delivery"
	"github.com/qyshook/qyshook/internal/testdb"
)

// TestExpiredDeliveriesCounted: deliveries queued for an endpoint disabled
// longer than QYS_DELIVERY's max age are dropped by JetStream; the stage
// counts them (qyshook_delivery_expired_total) instead of losing them
// silently. Before, nothing said they were gone.
func TestExpiredDeliveriesCounted(t *testing.T) {
	f := newFixture(t, testdb.SQLite)
	sk := newSink(t)
	f.endpointFor("ep_off", sk, nil)
	ctx := context.Background()
	if _, err := f.store.SetEndpointEnabled(ctx, "ep_off", false, "operator"); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	f.start(func(o *delivery.Options) { o.QueueMaxAge = 3 * time.Second; o.Registerer = reg })
	f.waitFanout()
	for i := range 3 {
		f.publish("c1", int64(i+1), "SIGNING")
	}
	waitFor(t, "three expired deliveries counted", 30*time.Second, func() bool {
		return counter(t, reg, "qyshook_delivery_expired_total", "ep_off") == 3
	})
	if n := len(sk.received()); n != 0 {
		t.Fatalf("a disabled endpoint got %d requests", n)
	}
}

// counter sums the named counter's series whose endpoint label is ep.
func counter(t *testing.T, reg *prometheus.Registry, name, ep string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "endpoint" && l.GetValue() == ep {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}
