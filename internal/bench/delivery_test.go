package bench_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/bench"
)

// TestRunDeliverySmall: a round delivers every fact, with rates and CPU
// figures for both sides; facts beyond one connection's async-publish
// bound (4000) are published without stalling it.
func TestRunDeliverySmall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := bench.RunDelivery(ctx, bench.DeliveryOptions{Facts: 4500, Concurrency: 8, Rounds: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Raw) != 1 || len(res.Delivered) != 1 || res.Raw[0] <= 0 || res.Delivered[0] <= 0 ||
		res.RawCPU[0] <= 0 || res.DeliveredCPU[0] <= 0 {
		t.Fatalf("result: %+v", res)
	}
	if s := res.String(); !strings.Contains(s, "µs/fact") || !strings.Contains(s, "median: raw") {
		t.Fatalf("report:\n%s", s)
	}
	t.Log(res)
}

func TestRunDeliveryRejectsBadOptions(t *testing.T) {
	if _, err := bench.RunDelivery(context.Background(), bench.DeliveryOptions{Facts: 0, Concurrency: 1, Rounds: 1}); err == nil {
		t.Fatal("no facts: no error")
	}
}
