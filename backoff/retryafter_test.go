package backoff_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/qyshook/qyshook/backoff"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	limit := 24 * time.Hour
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{" 30 ", 30 * time.Second},
		{"0", 0},
		{"-5", 0},
		{"999999999999", limit},
		{"soon", 0},
		{now.Add(time.Hour).Format(http.TimeFormat), time.Hour},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{now.AddDate(5, 0, 0).Format(http.TimeFormat), limit},
	} {
		if got := backoff.RetryAfter(tc.in, now, limit); got != tc.want {
			t.Errorf("RetryAfter(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
