// Package backoff paces the stages' loops and retries: a sleep that ends
// with its context, and exponential delays with jitter.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Sleep waits d, or until ctx ends; it reports whether the full d passed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Exponential is base·2^attempt (attempt 0 is base), capped at max.
func Exponential(base, max time.Duration, attempt int) time.Duration {
	d := base
	for i := 0; i < attempt && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// Jitter returns a uniformly random duration in [d·floor, d] (floor in
// [0, 1]: 0 is full jitter, 0.5 keeps at least half).
func Jitter(d time.Duration, floor float64) time.Duration {
	if d <= 0 {
		return 0
	}
	low := time.Duration(float64(d) * floor)
	if low >= d {
		return d
	}
	return low + rand.N(d-low+1)
}
