package backoff_test

import (
	"context"
	"testing"
	"time"

	"github.com/qyshook/qyshook/backoff"
)

func TestExponential(t *testing.T) {
	for _, tc := range []struct {
		attempt int
		want    time.Duration
	}{{0, time.Second}, {1, 2 * time.Second}, {3, 8 * time.Second}, {10, time.Minute}, {1000, time.Minute}} {
		if got := backoff.Exponential(time.Second, time.Minute, tc.attempt); got != tc.want {
			t.Errorf("Exponential(1s, 1m, %d) = %v, want %v", tc.attempt, got, tc.want)
		}
	}
}

func TestJitterStaysInRange(t *testing.T) {
	for range 1000 {
		if d := backoff.Jitter(time.Second, 0.5); d < 500*time.Millisecond || d > time.Second {
			t.Fatalf("Jitter(1s, 0.5) = %v", d)
		}
		if d := backoff.Jitter(time.Second, 0); d < 0 || d > time.Second {
			t.Fatalf("Jitter(1s, 0) = %v", d)
		}
	}
	if backoff.Jitter(0, 0.5) != 0 || backoff.Jitter(time.Second, 1) != time.Second {
		t.Fatal("Jitter edge cases")
	}
}

func TestSleepEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if backoff.Sleep(ctx, time.Hour) {
		t.Fatal("Sleep on a done context reported the full wait")
	}
	if !backoff.Sleep(context.Background(), time.Millisecond) {
		t.Fatal("Sleep of 1 ms did not report the full wait")
	}
}
