package qystest

import (
	"net/http"

	"golang.org/x/time/rate"

	"github.com/qyshook/qyshook/qys"
)

// RateAnswer is how the fake answers a request over its enforced limit.
type RateAnswer int

// Answers to a request over the limit.
const (
	// RateAnswerCode answers HTTP 200 with code 11990006 "接口调用频繁",
	// the code a secondary source reports for the platform (the default,
	// and what RateLimitNext answers).
	RateAnswerCode RateAnswer = iota
	// RateAnswerHTTP429 answers HTTP 429 with the same envelope and
	// Retry-After: 1, as a gateway in front of the API would.
	RateAnswerHTTP429
)

// rateLimits is the enforced per-application limit; guarded by Server.mu.
type rateLimits struct {
	perSecond int
	answer    RateAnswer
	apps      map[string]*rate.Limiter // app (or agent) token → its bucket
	refused   int
}

// LimitRate makes the fake enforce perSecond open-API requests per second
// per application (keyed by the app token, or the agent token of an
// agent-only request), as the platform limits each application: a token
// bucket holding one second's worth, on the real clock (not WithClock's).
// Requests over it are answered as answer says and counted in
// RateLimited. Only requests that pass the auth check count; download
// links (no auth headers) are never limited. perSecond <= 0 turns the
// limit off. The platform's real limit and window are not documented
// (docs/qys-protocol.md §1.5).
func (s *Server) LimitRate(perSecond int, answer RateAnswer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits = rateLimits{perSecond: max(perSecond, 0), answer: answer, apps: map[string]*rate.Limiter{},
		refused: s.limits.refused}
}

// RateLimited returns how many requests the enforced limit (LimitRate)
// refused so far; RateLimitNext's injected answers are not counted.
func (s *Server) RateLimited() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limits.refused
}

// overLimit answers a request over the enforced limit.
func (s *Server) overLimit(w *recorder, r *http.Request) bool {
	names := publicHeaders
	if s.cfg.private {
		names = privateHeaders
	}
	app := r.Header.Get(names.token)
	if app == "" {
		app = "agent\x00" + r.Header.Get(qys.HeaderAgentToken)
	}
	s.mu.Lock()
	l := &s.limits
	if l.perSecond <= 0 {
		s.mu.Unlock()
		return false
	}
	b := l.apps[app]
	if b == nil {
		b = rate.NewLimiter(rate.Limit(l.perSecond), l.perSecond)
		l.apps[app] = b
	}
	if b.Allow() {
		s.mu.Unlock()
		return false
	}
	l.refused++
	answer := l.answer
	s.mu.Unlock()
	status := http.StatusOK
	if answer == RateAnswerHTTP429 {
		status = http.StatusTooManyRequests
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, envelope{Code: qys.CodeRateLimited, Message: "接口调用频繁",
		ResponseCode: qys.ResponseCodeRateLimit})
	return true
}
