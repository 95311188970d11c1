package qystest

import (
	"net/http"
	"strconv"
	"time"

	"github.com/qyshook/qyshook/qys"
)

// faults holds the injected failures; guarded by Server.mu.
type faults struct {
	failN      int
	failStatus int
	rateN      int
	throttle   bool          // Throttle: every request answered 429
	retryAfter time.Duration // its Retry-After (0: none)
	throttled  int           // requests Throttle answered
	latency    time.Duration
	truncateN  int
	holds      holds
}

// FailNext makes the next n open-API requests that pass the auth check
// answer httpStatus with a plain-text body, as a gateway would (the nonce
// of those requests is used up). n <= 0 cancels.
func (s *Server) FailNext(n, httpStatus int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.failN, s.faults.failStatus = max(n, 0), httpStatus
}

// RateLimitNext makes the next n open-API requests that pass the auth
// check answer HTTP 200 with code 11990006 (接口调用频繁). Failures
// injected with FailNext come first.
func (s *Server) RateLimitNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.rateN = max(n, 0)
}

// Throttle makes every open-API request that passes the auth check answer
// HTTP 429 with code 11990006 (接口调用频繁) while on, with Retry-After in
// whole seconds when retryAfter is at least a second: the platform
// refusing a tenant for a spell, whatever its rate (a time-based burst;
// RateLimitNext is count-based). FailNext's failures come first. Throttled
// counts its answers.
func (s *Server) Throttle(on bool, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.throttle, s.faults.retryAfter = on, retryAfter
}

// Throttled returns how many requests Throttle answered 429 so far.
func (s *Server) Throttled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults.throttled
}

// SetLatency delays every answer (API and links) by d before any check.
// The delay ends early when the request's context is done; nothing is
// then answered. 0 turns it off.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.latency = d
}

// TruncateNextDownloads makes the next n file answers (document, contract
// zip, download link) send their full Content-Length but only half of the
// body, then drop the connection. Large zips streamed without a length
// are cut the same way.
func (s *Server) TruncateNextDownloads(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.truncateN = max(n, 0)
}

// sleep applies the latency; it reports false when the client went away.
func (s *Server) sleep(r *http.Request) bool {
	s.mu.Lock()
	d := s.faults.latency
	s.mu.Unlock()
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// injectFault answers an injected failure, if one is due.
func (s *Server) injectFault(w *recorder) bool {
	s.mu.Lock()
	f := &s.faults
	switch {
	case f.failN > 0:
		f.failN--
		status := f.failStatus
		s.mu.Unlock()
		w.code = -1
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		_, _ = w.Write([]byte("<html><body><h1>" + strconv.Itoa(status) + " " +
			http.StatusText(status) + "</h1>qystest: injected failure</body></html>"))
		return true
	case f.throttle:
		f.throttled++
		after := f.retryAfter
		s.mu.Unlock()
		if after >= time.Second {
			w.Header().Set("Retry-After", strconv.Itoa(int(after/time.Second)))
		}
		writeJSON(w, http.StatusTooManyRequests, envelope{Code: qys.CodeRateLimited, Message: "接口调用频繁",
			ResponseCode: qys.ResponseCodeRateLimit})
		return true
	case f.rateN > 0:
		f.rateN--
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, envelope{Code: qys.CodeRateLimited, Message: "接口调用频繁",
			ResponseCode: qys.ResponseCodeRateLimit})
		return true
	}
	s.mu.Unlock()
	return false
}

func (s *Server) takeTruncate() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.truncateN > 0 {
		s.faults.truncateN--
		return true
	}
	return false
}

// DuplicateCallbacks makes every callback created from now on be delivered
// n extra times (each copy right after the original, each with its own
// retries). 0 turns it off.
func (s *Server) DuplicateCallbacks(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cb.dup = max(n, 0)
}

// DropCallbacks makes callbacks created while on be discarded: the
// contract changes, but the receiver never hears of it (for reconciler
// tests). Dropped callbacks count in Dropped, not in Deliveries.
func (s *Server) DropCallbacks(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cb.drop = on
}

// ReorderMode says how held-back callbacks are released by Flush.
type ReorderMode int

// Reorder modes.
const (
	// ReorderOff delivers callbacks as they happen (the default).
	ReorderOff ReorderMode = iota
	// ReorderReverse holds callbacks back and Flush delivers them newest first.
	ReorderReverse
	// ReorderShuffle holds callbacks back and Flush delivers them in a
	// shuffled order (seeded by WithSeed).
	ReorderShuffle
)

// Reorder sets how callbacks created from now on are handled: held back
// until Flush (ReorderReverse, ReorderShuffle) or delivered at once
// (ReorderOff; callbacks already held stay held until Flush).
func (s *Server) Reorder(mode ReorderMode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cb.reorder = mode
}
