package qys_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qyshook/qyshook/qys"
)

// hangUp closes the connection without an answer: a network error.
func hangUp(t *testing.T, w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	conn.Close()
}

func TestRetries(t *testing.T) {
	for name, tc := range map[string]struct {
		fail      func(t *testing.T, w http.ResponseWriter)
		failures  int32
		wantCalls int32
		wantErr   error
	}{
		"RecoverFrom5xx":     {func(t *testing.T, w http.ResponseWriter) { writeJSON(w, 500, `oops`) }, 2, 3, nil},
		"RecoverFromNetwork": {hangUp, 3, 4, nil},
		"RecoverFromRateLimit": {func(t *testing.T, w http.ResponseWriter) {
			w.Header().Set("Retry-After", "3600") // capped at the backoff max
			writeJSON(w, 429, `{"code":11990006}`)
		}, 1, 2, nil},
		"ErrServerAfterRetries": {func(t *testing.T, w http.ResponseWriter) { writeJSON(w, 503, `{"code":1000000}`) }, 99, 4, qys.ErrServer},
		"NoRetryOn4xx":          {func(t *testing.T, w http.ResponseWriter) { writeJSON(w, 403, `{"code":442}`) }, 99, 1, qys.ErrUnauthorized},
	} {
		t.Run(name, func(t *testing.T) {
			var calls atomic.Int32
			c, _ := MustClient(t, func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) <= tc.failures {
					tc.fail(t, w)
					return
				}
				writeJSON(w, 200, `{"code":0,"result":{"id":"1"}}`)
			})
			_, err := c.ContractDetail(context.Background(), qys.ContractQuery{ContractID: "1"})
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if calls.Load() != tc.wantCalls {
				t.Fatalf("calls = %d, want %d", calls.Load(), tc.wantCalls)
			}
		})
	}
}

func TestRetryDisabled(t *testing.T) {
	var calls atomic.Int32
	c, _ := MustClient(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeJSON(w, 500, `{"code":1000000}`)
	}, qys.WithRetries(0, time.Millisecond, time.Millisecond))
	if _, err := c.ContractDetail(context.Background(), qys.ContractQuery{ContractID: "1"}); !errors.Is(err, qys.ErrServer) || calls.Load() != 1 {
		t.Fatalf("err = %v, calls = %d", err, calls.Load())
	}
}

func TestRetrySleepHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	c, _ := MustClient(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		cancel() // the client is now about to sleep for up to an hour
		writeJSON(w, 503, `{"code":1000000}`)
	}, qys.WithRetries(5, time.Hour, time.Hour))
	done := make(chan error, 1)
	go func() {
		_, err := c.ContractDetail(ctx, qys.ContractQuery{ContractID: "1"})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if calls.Load() != 1 {
			t.Fatalf("calls = %d", calls.Load())
		}
	case <-time.After(time.Minute):
		t.Fatal("the retry sleep ignored ctx")
	}
}

func TestDefaultTimeoutAppliesWithoutDeadline(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	c, _ := MustClient(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}, qys.WithTimeout(20*time.Millisecond))
	_, err := c.ContractDetail(context.Background(), qys.ContractQuery{ContractID: "1"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
}
