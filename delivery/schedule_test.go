package delivery_test

import (
	"testing"
	"time"

	"github.com/qyshook/qyshook/delivery"
)

// TestDelaySpread: each delay is the schedule's ± the jitter, a longer
// Retry-After replaces it, and past the schedule there is none.
func TestDelaySpread(t *testing.T) {
	sched := []time.Duration{10 * time.Second, time.Minute}
	lo, hi := 48*time.Second, 72*time.Second
	var below, above bool
	for range 2000 {
		d, ok := delivery.Delay(sched, 0.2, 2, 0)
		if !ok || d < lo || d > hi {
			t.Fatalf("Delay = %s %v, want within [%s, %s]", d, ok, lo, hi)
		}
		below, above = below || d < 55*time.Second, above || d > 65*time.Second
	}
	if !below || !above {
		t.Fatalf("2000 delays never spread both ways (below %v, above %v)", below, above)
	}
	if d, _ := delivery.Delay(sched, 0.2, 1, time.Hour); d != time.Hour {
		t.Fatalf("a longer Retry-After: %s", d)
	}
	if d, _ := delivery.Delay(sched, 0, 1, 0); d != 10*time.Second {
		t.Fatalf("no jitter: %s", d)
	}
	if _, ok := delivery.Delay(sched, 0.2, 3, 0); ok {
		t.Fatal("a delay past the schedule")
	}
}
