package admin

import (
	"container/list"
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
// failed MaxAuthFailures times within AuthFailureWindow has its further
// failing attempts answered 429 with Retry-After until the window ends.
// Credentials are checked first: a valid console session or a right
// token is never throttled, so a client guessing from a shared address
// (a proxy, NAT, a local user) cannot lock the operator out.
const (
	MaxAuthFailures   = 10
	AuthFailureWindow = time.Minute
	// maxSources bounds the sources tracked at once; past it the source
	// that failed least recently is forgotten.
	maxSources = 10000
)

// Reasons of qyshook_admin_auth_failures_total.
const (
	authMissing   = "missing"   // no bearer token or session
	authUnknown   = "unknown"   // a token or session value that matches none
	authSignIn    = "sign_in"   // a wrong token pasted in the console's sign-in form
	authThrottled = "throttled" // of the unknown and sign_in ones, those answered 429
)

type failureSource struct {
	src      string
	start    time.Time // this window's start
	count    int       // failures in the window
	unlogged int       // failures not yet in a log line
	logged   time.Time // the last log line
}

// authFailures counts failures per source: a map and a list ordered by
// the last failure (most recent in front), so that recording a failure
// and evicting the least recent source are O(1).
type authFailures struct {
	mu      sync.Mutex
	sources map[string]*list.Element // of *failureSource
	lru     *list.List
	metric  *prometheus.CounterVec
	log     *zerolog.Logger
	now     func() time.Time
}

func newAuthFailures(reg prometheus.Registerer, log *zerolog.Logger) (*authFailures, error) {
	f := &authFailures{sources: map[string]*list.Element{}, lru: list.New(), log: log, now: time.Now,
		metric: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qyshook_admin_auth_failures_total",
			Help: "Failed authentications on the admin API and console, by reason (missing, unknown, sign_in; throttled: the unknown and sign_in ones answered 429).",
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

// wait is how long s stays throttled at now, 0 when it is not.
func (s *failureSource) wait(now time.Time) time.Duration {
	if s.count < MaxAuthFailures {
		return 0
	}
	return max(s.start.Add(AuthFailureWindow).Sub(now), 0)
}

// throttled reports how long src's failing attempts are refused, 0 when
// they are not.
func (f *authFailures) throttled(src string) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.sources[src]
	if e == nil {
		return 0
	}
	return e.Value.(*failureSource).wait(f.now())
}

// fail records a failure of src for reason and returns how long src
// must wait: when > 0 the attempt is answered 429 rather than 401.
func (f *authFailures) fail(src, reason, path string) time.Duration {
	f.metric.WithLabelValues(reason).Inc()
	now := f.now()
	f.mu.Lock()
	var s *failureSource
	if e := f.sources[src]; e != nil {
		s = e.Value.(*failureSource)
		f.lru.MoveToFront(e)
	} else {
		if f.lru.Len() >= maxSources {
			old := f.lru.Back()
			f.lru.Remove(old)
			delete(f.sources, old.Value.(*failureSource).src)
		}
		s = &failureSource{src: src, start: now}
		f.sources[src] = f.lru.PushFront(s)
	}
	// Throttled when it already failed MaxAuthFailures times in the
	// window: the failures up to the limit are answered 401.
	wait := s.wait(now)
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
	if wait > 0 {
		f.metric.WithLabelValues(authThrottled).Inc()
	}
	if n > 0 {
		f.log.Warn().Str("source", src).Str("reason", reason).Str("path", path).Int("failures", n).
			Bool("throttled", throttled).Msg("failed admin authentication (at most one line a minute per source)")
	}
	return wait
}

// refuse answers a failed attempt of r: 429 with Retry-After when its
// source is throttled (wait > 0), else false (the caller answers 401).
func refuse(w http.ResponseWriter, r *http.Request, wait time.Duration) bool {
	if wait <= 0 {
		return false
	}
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
