package qystest

import (
	"crypto/subtle"
	"net/http"
	"strconv"
	"time"

	"github.com/qyshook/qyshook/qys"
)

// Messages of the auth failures. "INVALID TOKEN" is the one the platform
// was seen to send; the others are the fake's own wording.
const (
	msgMissingHeader    = "MISSING HEADER"
	msgInvalidToken     = "INVALID TOKEN"
	msgInvalidSignature = "INVALID SIGNATURE"
	msgInvalidTimestamp = "INVALID TIMESTAMP"
	msgNonceReused      = "NONCE ALREADY USED"
)

type headerNames struct{ token, timestamp, nonce, signature string }

var (
	publicHeaders  = headerNames{"x-qys-open-accesstoken", "x-qys-open-timestamp", "x-qys-open-nonce", "x-qys-open-signature"}
	privateHeaders = headerNames{"x-qys-accesstoken", "x-qys-timestamp", "x-qys-nonce", "x-qys-signature"}
)

// authenticate checks the request's auth headers as the platform does and
// answers 441/442 itself when they fail.
func (s *Server) authenticate(w *recorder, r *http.Request) bool {
	if handled, ok := s.authenticateAgent(w, r); handled { // agent.go
		return ok
	}
	names := publicHeaders
	if s.cfg.private {
		names = privateHeaders
	}
	token := r.Header.Get(names.token)
	ts := r.Header.Get(names.timestamp)
	nonce := r.Header.Get(names.nonce)
	sig := r.Header.Get(names.signature)
	if token == "" || ts == "" || sig == "" || (nonce == "" && s.cfg.requireNonce) {
		s.authError(w, qys.CodeMissingHeader, msgMissingHeader)
		return false
	}
	if code, msg := s.check(token, ts, nonce, sig); code != 0 {
		s.authError(w, code, msg)
		return false
	}
	return true
}

// check verifies token, signature, timestamp and nonce; it returns the
// failure's code and message, or 0. A nonce is remembered until both its
// TTL and its timestamp's window have passed, so a replay is refused for
// as long as its timestamp would be accepted. The three-header form (no
// nonce, signature MD5(token+secret+timestamp)) gets no replay check
// beyond the timestamp window.
func (s *Server) check(token, ts, nonce, sig string) (int, string) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	secret, ok := s.apps[token]
	if !ok {
		return qys.CodeInvalidToken, msgInvalidToken
	}
	want := qys.SignAPI(token, secret, ts, nonce)
	if want == "" || subtle.ConstantTimeCompare([]byte(sig), []byte(want)) != 1 {
		return qys.CodeInvalidToken, msgInvalidSignature
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	stamp := time.UnixMilli(ms)
	if err != nil || absDuration(now.Sub(stamp)) > s.cfg.window {
		return qys.CodeInvalidToken, msgInvalidTimestamp
	}
	if nonce == "" {
		return 0, "" // three-header form (private cloud 4.0, older SDKs)
	}
	s.nonces.expire(now)
	key := token + "\x00" + nonce
	if s.nonces.used(key, now) {
		return qys.CodeInvalidToken, msgNonceReused
	}
	s.nonces.add(key, later(now.Add(s.cfg.nonceTTL), stamp.Add(s.cfg.window)))
	return 0, ""
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// authError answers the shape the platform was seen to use:
// {"message":"INVALID TOKEN","code":442,"responseCode":"11990442"} with the
// HTTP status equal to the code.
func (s *Server) authError(w *recorder, code int, msg string) {
	writeJSON(w, code, envelope{
		Code:         code,
		Message:      msg,
		ResponseCode: "11990" + strconv.Itoa(code),
	})
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
