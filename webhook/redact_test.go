package webhook

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRetryAfterHTTPDateCapped: a Retry-After HTTP date is capped at
// MaxRetryAfter (7 days), as the seconds form is (review of issue 22).
func TestRetryAfterHTTPDateCapped(t *testing.T) {
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	if d := retryAfter(now.AddDate(5, 0, 0).Format(http.TimeFormat), now); d != MaxRetryAfter {
		t.Fatalf("HTTP-date Retry-After five years ahead: %s, want %s", d, MaxRetryAfter)
	}
	if d := retryAfter("999999999", now); d != MaxRetryAfter {
		t.Fatalf("seconds Retry-After: %s, want %s", d, MaxRetryAfter)
	}
	if d := retryAfter(now.Add(time.Hour).Format(http.TimeFormat), now); d != time.Hour {
		t.Fatalf("HTTP-date Retry-After an hour ahead: %s", d)
	}
}

// TestSendErrorRedactsURLQuery: an attempt's error (stored, shown to
// viewers, logged) never holds the URL's query, which may be a token.
func TestSendErrorRedactsURLQuery(t *testing.T) {
	s := NewSender(time.Second, true)
	defer s.Close()
	res := s.Send(context.Background(), Message{URL: "http://127.0.0.1:1/hook?token=S3CRET",
		Secrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, ID: "x", Body: []byte("{}")})
	if res.Err == nil {
		t.Fatal("no error from a closed port")
	}
	if msg := res.Err.Error(); strings.Contains(msg, "S3CRET") || !strings.Contains(msg, "127.0.0.1:1/hook?REDACTED") {
		t.Fatalf("attempt error: %q", msg)
	}
	for in, want := range map[string]string{
		"https://erp.example.com/hook?token=x&a=b": "https://erp.example.com/hook?REDACTED",
		"https://erp.example.com/hook":             "https://erp.example.com/hook",
		"https://erp.example.com/hook?":            "https://erp.example.com/hook",
		"https://erp.example.com/hook#frag":        "https://erp.example.com/hook",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
