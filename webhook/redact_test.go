package webhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestRetryAfterHTTPDateCapped: a Retry-After HTTP date is capped at
// MaxRetryAfter (7 days), as the seconds form is (review of issue 22).
func TestRetryAfterHTTPDateCapped(t *testing.T) {
	for _, v := range []string{time.Now().AddDate(5, 0, 0).UTC().Format(http.TimeFormat), "999999999"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", v)
			w.WriteHeader(http.StatusTooManyRequests)
		}))
		s := NewSender(time.Second, true)
		res := s.Send(context.Background(), Message{URL: srv.URL, Secrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, ID: "m1", Body: []byte("{}")})
		s.Close()
		srv.Close()
		if res.Status != 429 || res.RetryAfter != MaxRetryAfter {
			t.Fatalf("Retry-After %q: status %d, %s, want %s", v, res.Status, res.RetryAfter, MaxRetryAfter)
		}
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
	if msg := res.Err.Error(); strings.Contains(msg, "S3CRET") || !strings.Contains(msg, "127.0.0.1:1/hook?token=REDACTED") {
		t.Fatalf("attempt error: %q", msg)
	}
}
