package delivery

import (
	"time"

	"github.com/qyshook/qyshook/backoff"
)

// DefaultSchedule is the delay before each retry: attempt 1 is immediate,
// attempt n+1 follows DefaultSchedule[n-1] (± DefaultJitter). Fifteen
// attempts over about 3 days 4 hours; then the delivery is dead-lettered.
var DefaultSchedule = []time.Duration{
	5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour,
	12 * time.Hour, 12 * time.Hour, 12 * time.Hour, 12 * time.Hour, 12 * time.Hour,
}

// Defaults of Options.
const (
	// DefaultJitter spreads each delay by up to ± this fraction.
	DefaultJitter = 0.2
	// DefaultTimeout bounds one attempt.
	DefaultTimeout = 15 * time.Second
	// DefaultDisableAfter: an endpoint whose attempts have all failed for
	// this long is disabled (a warning fact at half of it).
	DefaultDisableAfter = 5 * 24 * time.Hour
	// DefaultAttemptRetention is how long attempts are kept.
	DefaultAttemptRetention = 30 * 24 * time.Hour
	// DefaultConcurrency is an endpoint's deliveries in flight when it sets none.
	DefaultConcurrency = 4
	// DefaultFanoutBatch bounds the facts the fan-out has in hand.
	DefaultFanoutBatch = 256
	// DefaultRefresh is how often the endpoints are read again.
	DefaultRefresh = time.Second
)

// Delay returns the delay before attempt n+1 after attempt n failed,
// with jitter, and false once the schedule is exhausted. retryAfter (the
// answer's Retry-After on a 429 or 503) replaces the schedule's delay when
// longer.
func Delay(schedule []time.Duration, jitter float64, n int, retryAfter time.Duration) (time.Duration, bool) {
	if n < 1 || n > len(schedule) {
		return 0, false
	}
	d := schedule[n-1]
	if jitter > 0 {
		// Uniform over d·(1 ± jitter): backoff's jitter below d·(1+jitter).
		d = backoff.Jitter(time.Duration(float64(d)*(1+jitter)), (1-jitter)/(1+jitter))
	}
	if retryAfter > d {
		d = retryAfter
	}
	return d, true
}

// Total is the schedule's span without jitter.
func Total(schedule []time.Duration) time.Duration {
	var t time.Duration
	for _, d := range schedule {
		t += d
	}
	return t
}
