package delivery_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

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
	want := `
# HELP qyshook_delivery_expired_total Deliveries dropped from QYS_DELIVERY at its max age while their endpoint was disabled, by endpoint.
# TYPE qyshook_delivery_expired_total counter
qyshook_delivery_expired_total{endpoint="ep_off"} 3
`
	waitFor(t, "three expired deliveries counted", 30*time.Second, func() bool {
		return testutil.GatherAndCompare(reg, strings.NewReader(want), "qyshook_delivery_expired_total") == nil
	})
	if n := len(sk.received()); n != 0 {
		t.Fatalf("a disabled endpoint got %d requests", n)
	}
}
