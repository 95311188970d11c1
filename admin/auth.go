package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/adminapi"
)

// Failed authentications (issue 21): each is counted
// (qyshook_admin_auth_failures_total{reason}), logged at most once a
// minute per source with the count since the last line, and a source
// (the connection's remote address; X-Forwarded-For is not trusted) that
// failed MaxAuthFailures times within AuthFailureWindow is refused with
// 429 and Retry-After, before any token is compared, until the window
// ends: a guesser gets MaxAuthFailures tries a minute.
const (
	MaxAuthFailures   = 10
	AuthFailureWindow = time.Minute
	// maxSources bounds the sources tracked at once.
	maxSources = 10000
)

// Reasons of qyshook_admin_auth_failures_total.
const (
	authMissing   = "missing"   // no bearer token or session
	authUnknown   = "unknown"   // a token or session value that matches none
	authSignIn    = "sign_in"   // a wrong token pasted in the console's sign-in form
	authThrottled = "throttled" // refused unchecked: the source failed too often
)

type failureSource struct {
	start    time.Time // this window's start
	count    int       // failures in the window
	unlogged int       // failures not yet in a log line
	logged   time.Time // the last log line
}

// authFailures counts failures per source.
type authFailures struct {
	mu      sync.Mutex
	sources map[string]*failureSource
	metric  *prometheus.CounterVec
	log     *zerolog.Logger
	now     func() time.Time
}

func newAuthFailures(reg prometheus.Registerer, log *zerolog.Logger) (*authFailures, error) {
	f := &authFailures{sources: map[string]*failureSource{}, log: log, now: time.Now,
		metric: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qyshook_admin_auth_failures_total",
			Help: "Failed authentications on the admin API and console, by reason (missing, unknown, sign_in, throttled).",
		}, []string{"reason"})}
	for _, r := range []string{authMissing, authUnknown, authSignIn, authThrottled} {
		f.metric.WithLabelValues(r)
	}
	if reg != nil {
		if err := reg.Register(f.metric); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// source is the request's remote host.
func source(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// throttled reports how long src must wait, 0 when it may try.
func (f *authFailures) throttled(src string) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sources[src]
	if s == nil || s.count < MaxAuthFailures {
		return 0
	}
	if wait := s.start.Add(AuthFailureWindow).Sub(f.now()); wait > 0 {
		return wait
	}
	return 0
}

// fail records a failure of src for reason.
func (f *authFailures) fail(src, reason, path string) {
	f.metric.WithLabelValues(reason).Inc()
	now := f.now()
	f.mu.Lock()
	s := f.sources[src]
	if s == nil {
		if len(f.sources) >= maxSources {
			for k, v := range f.sources {
				if now.Sub(v.start) > AuthFailureWindow && now.Sub(v.logged) > AuthFailureWindow {
					delete(f.sources, k)
				}
			}
		}
		s = &failureSource{start: now}
		if len(f.sources) < maxSources {
			f.sources[src] = s
		}
	}
	if now.Sub(s.start) >= AuthFailureWindow {
		s.start, s.count = now, 0
	}
	s.count++
	s.unlogged++
	var n int
	if now.Sub(s.logged) >= AuthFailureWindow {
		n, s.unlogged, s.logged = s.unlogged, 0, now
	}
	throttled := s.count >= MaxAuthFailures
	f.mu.Unlock()
	if n > 0 {
		f.log.Warn().Str("source", src).Str("reason", reason).Str("path", path).Int("failures", n).
			Bool("throttled", throttled).Msg("failed admin authentication (at most one line a minute per source)")
	}
}

// refuseThrottled answers 429 when the request's source failed too often.
func (f *authFailures) refuseThrottled(w http.ResponseWriter, r *http.Request) bool {
	wait := f.throttled(source(r))
	if wait <= 0 {
		return false
	}
	f.metric.WithLabelValues(authThrottled).Inc()
	w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
	writeError(w, r, errorf(adminapi.CodeTooManyRequests, "too many failed authentications from this address: try again in %d s", int(wait.Seconds())+1))
	return true
}

// Sessions: the console's cookie holds a random value naming a session
// kept in this process's memory, never the token. A session ends at its
// expiry (ConsoleOptions.SessionTTL) or at sign-out, which forgets it; a
// restart signs everyone out.
type session struct {
	tok     hashedToken
	expires time.Time
}

type sessions struct {
	mu  sync.Mutex
	m   map[[sha256.Size]byte]session // by the SHA-256 of the cookie value
	now func() time.Time
}

func newSessions() *sessions {
	return &sessions{m: map[[sha256.Size]byte]session{}, now: time.Now}
}

// start opens a session for tok and returns its cookie value.
func (s *sessions) start(tok hashedToken, ttl time.Duration) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	v := base64.RawURLEncoding.EncodeToString(b)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, e := range s.m {
		if !now.Before(e.expires) {
			delete(s.m, k)
		}
	}
	s.m[sha256.Sum256([]byte(v))] = session{tok: tok, expires: now.Add(ttl)}
	return v, nil
}

// lookup returns the token of a live session.
func (s *sessions) lookup(v string) (hashedToken, bool) {
	key := sha256.Sum256([]byte(v))
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	if !ok {
		return hashedToken{}, false
	}
	if !s.now().Before(e.expires) {
		delete(s.m, key)
		return hashedToken{}, false
	}
	return e.tok, true
}

// end forgets a session.
func (s *sessions) end(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, sha256.Sum256([]byte(v)))
}

// sessionKey carries a console session's token into the API's
// authentication (a context value no client can set).
type sessionKey struct{}

func withSession(ctx context.Context, tok hashedToken) context.Context {
	return context.WithValue(ctx, sessionKey{}, tok)
}
