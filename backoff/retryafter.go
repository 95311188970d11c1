package backoff

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryAfter reads an HTTP Retry-After value, delay-seconds or an HTTP
// date (later than now), capped at limit; zero when absent, unreadable or
// not in the future.
func RetryAfter(v string, now time.Time, limit time.Duration) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(limit/time.Second) {
			return limit
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), limit)
	}
	return 0
}
