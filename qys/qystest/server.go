package qystest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"time"

	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/tsa/tsatest"
)

// Errors returned by the setup and lifecycle methods of Server.
var (
	// ErrUnknownContract: no contract has the given id.
	ErrUnknownContract = errors.New("qystest: unknown contract")
	// ErrInvalidState: the contract or signatory is not in a state that
	// allows the operation (for example Sign on a COMPLETE contract).
	ErrInvalidState = errors.New("qystest: invalid state for this operation")
	// ErrClosed: the server was closed.
	ErrClosed = errors.New("qystest: server closed")
)

// Request is one HTTP request the fake received, recorded for assertions.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Time   time.Time
	// Status is the HTTP status answered; 0 when the client went away
	// before an answer was written.
	Status int
	// Code is the envelope code answered (0 for success and for file
	// streams; -1 when the answer was not an envelope, e.g. an injected 5xx).
	Code int
}

// Option configures a Server.
type Option func(*config)

type config struct {
	window         time.Duration
	nonceTTL       time.Duration
	requireNonce   bool
	logLimit       int
	private        bool
	timeScale      float64
	now            func() time.Time
	seed           uint64
	idSeed         *uint64
	token, secret  string
	contractRetry  []time.Duration
	authRetry      []time.Duration
	inMemoryZipMax int64
	legacyAuth     bool
	setup          []func(*Server) // run before the listener starts (listen.go, control.go)
}

// WithTimestampWindow sets how far x-qys-open-timestamp may differ from the
// fake's clock, in either direction (default 15 minutes, the private-cloud
// value; the public-cloud value is not documented).
func WithTimestampWindow(d time.Duration) Option { return func(c *config) { c.window = d } }

// WithNonceTTL sets how long a nonce stays used at least (default 10
// minutes, as the public-cloud API protocol page says). A nonce is also
// kept for as long as its request's timestamp is inside the window, so a
// replay is refused until its timestamp goes stale.
func WithNonceTTL(d time.Duration) Option { return func(c *config) { c.nonceTTL = d } }

// WithNonceRequired refuses requests without the nonce header (HTTP 441),
// as the public-cloud API protocol page describes. By default the fake
// accepts the three-header form older vendor SDKs send (no nonce,
// signature MD5(token+secret+timestamp)), as the platform appears to.
func WithNonceRequired() Option { return func(c *config) { c.requireNonce = true } }

// WithPrivateCloud makes the fake speak the private-cloud dialect only:
// headers x-qys-accesstoken / x-qys-timestamp / x-qys-signature (and the
// optional x-qys-nonce), paths without the /v2 prefix, and detail results
// duplicated under the top-level key "contract". Server.Client then adds
// qys.WithPrivateCloud.
func WithPrivateCloud() Option { return func(c *config) { c.private = true } }

// WithTimeScale multiplies the callback retry schedule (default 1e-5, so
// 5 min becomes 3 ms and the whole contract schedule about 1.6 s; pass 1
// for the real schedule).
func WithTimeScale(f float64) Option { return func(c *config) { c.timeScale = f } }

// WithClock replaces time.Now for the timestamp window, nonce expiry, link
// expiry, publish times and callback timestamps.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithSeed seeds the shuffle used by ReorderShuffle (default 1).
func WithSeed(seed uint64) Option { return func(c *config) { c.seed = seed } }

// WithLogLimit bounds the request log (Requests) and the delivery log
// (Deliveries) of a long-running fake: each keeps at least its last n
// entries and at most 2n. The default, 0, keeps everything, as tests
// expect.
func WithLogLimit(n int) Option { return func(c *config) { c.logLimit = max(n, 0) } }

// WithIDSeed fixes the ids the fake gives contracts, documents,
// signatories and tenants: two fakes with the same seed hand out the same
// ids in the same order (seed 0 gives the fixed ids of earlier versions).
// By default each Server draws a random offset, so two runs (a restarted
// `qyshook sim` writing to the same ledger) do not collide.
func WithIDSeed(seed uint64) Option { return func(c *config) { c.idSeed = &seed } }

// WithLegacyAuthResults makes /companyauth/result and
// /v2/personalauth/result answer in the shape qyshook read before 2026-12
// (the callback's codes under status: company 0/1/2, personal 0/1/2/3,
// with requestId, registerNo, legalPerson), as some deployments may. By
// default they answer the documented shape (qys.AuthShapeDocumented).
func WithLegacyAuthResults() Option { return func(c *config) { c.legacyAuth = true } }

// WithCredentials fixes AppToken and AppSecret instead of generating them.
func WithCredentials(token, secret string) Option {
	return func(c *config) { c.token, c.secret = token, secret }
}

// WithRetrySchedule replaces the (unscaled) delays between callback
// attempts: contract for contract callbacks, auth for certification ones.
// A nil slice keeps the default. The time scale still applies.
func WithRetrySchedule(contract, auth []time.Duration) Option {
	return func(c *config) {
		if contract != nil {
			c.contractRetry = contract
		}
		if auth != nil {
			c.authRetry = auth
		}
	}
}

// Default retry schedules, as S19 quotes the 契约锁 docs: the delays before
// the 2nd, 3rd … attempt.
var (
	defaultContractRetry = []time.Duration{5 * time.Minute, 2 * time.Hour, 2 * time.Hour,
		2 * time.Hour, 2 * time.Hour, 12 * time.Hour, 24 * time.Hour}
	defaultAuthRetry = []time.Duration{0, time.Minute, time.Minute}
)

// Server is a fake 契约锁 open API plus a callback sender. Create it with
// NewServer and Close it when done. All methods are safe for concurrent use.
type Server struct {
	// URL is the base URL of the fake, e.g. http://127.0.0.1:41234.
	URL string
	// AppToken is the app token the fake accepts (generated unless
	// WithCredentials). Read-only after NewServer.
	AppToken string
	// AppSecret is the app secret matching AppToken. Read-only.
	AppSecret string

	srv    *httptest.Server
	cfg    config
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu          sync.Mutex
	closed      bool
	apps        map[string]string
	nonces      *nonceStore
	contracts   map[string]*contract
	order       []string
	docs        map[string]*document
	links       map[string]*link
	tenantIDs   map[string]string
	seq         int64
	idOffset    int64
	requests    []Request
	detailCalls map[string]int
	gates       map[string]*DetailGate // see HoldDetail
	faults      faults
	limits      rateLimits // ratelimit.go: LimitRate
	cb          callbackState
	ev          evidenceState      // evidence.go, pdf.go
	tsa         *tsatest.Responder // tsa.go
	rev         revocation         // revocation.go
	items       itemState          // items.go
	// discrepancies to produce, by contract id (discrepancy.go)
	discrepancies map[string][]Discrepancy
}

// NewServer starts a fake 契约锁 on a loopback port.
func NewServer(opts ...Option) *Server {
	cfg := config{
		window:         15 * time.Minute,
		nonceTTL:       10 * time.Minute,
		timeScale:      1e-5,
		now:            time.Now,
		seed:           1,
		contractRetry:  defaultContractRetry,
		authRetry:      defaultAuthRetry,
		inMemoryZipMax: 16 << 20,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.token == "" {
		cfg.token = "qystest-" + randomHex(8)
	}
	if cfg.secret == "" {
		cfg.secret = randomHex(16)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		AppToken:    cfg.token,
		AppSecret:   cfg.secret,
		cfg:         cfg,
		ctx:         ctx,
		cancel:      cancel,
		apps:        map[string]string{cfg.token: cfg.secret},
		nonces:      newNonceStore(),
		contracts:   map[string]*contract{},
		docs:        map[string]*document{},
		links:       map[string]*link{},
		tenantIDs:   map[string]string{},
		detailCalls: map[string]int{},
		tsa:         newTSA(cfg),
	}
	s.idOffset = idOffset(cfg.idSeed)
	s.initCallbacks()
	s.srv = httptest.NewUnstartedServer(s.withTSA(http.HandlerFunc(s.serveHTTP)))
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the fake never logs
	for _, f := range cfg.setup {
		f(s)
	}
	s.srv.Start()
	s.URL = s.srv.URL
	s.wg.Add(1)
	go s.runDeliveries()
	return s
}

// Close stops callback deliveries (pending retries are abandoned), then
// shuts the HTTP server down, waiting for requests in flight.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.stopCallbacksLocked()
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	s.srv.Close()
	s.cb.client.CloseIdleConnections()
}

// Client returns a qys client pointed at the fake with its credentials,
// the fake's HTTP client, and fast retries (3 retries, 1–10 ms backoff);
// opts are applied after those defaults, so they can override them.
func (s *Server) Client(opts ...qys.Option) (*qys.Client, error) {
	base := []qys.Option{
		qys.WithHTTPClient(s.srv.Client()),
		qys.WithRetries(3, time.Millisecond, 10*time.Millisecond),
	}
	if s.cfg.private {
		base = append(base, qys.WithPrivateCloud())
	}
	return qys.NewClient(s.URL, s.AppToken, s.AppSecret, append(base, opts...)...)
}

// AddApp makes the fake accept a second app token with its secret.
func (s *Server) AddApp(token, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[token] = secret
}

// Requests returns a copy of every request received so far, in order
// (with WithLogLimit, of the last ones only).
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// DetailCalls returns how many contract-detail answers the fake served for
// the contract id (requests refused by the auth check or by an injected
// fault are not counted; Requests has those).
func (s *Server) DetailCalls(contractID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.detailCalls[contractID]
}

func (s *Server) now() time.Time { return s.cfg.now() }

func (s *Server) record(r *http.Request, at time.Time, w *recorder) {
	req := Request{
		Method: r.Method,
		Path:   r.URL.Path,
		Query:  r.URL.Query(),
		Header: r.Header.Clone(),
		Time:   at,
		Status: w.status,
		Code:   w.code,
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	trimLog(&s.requests, s.cfg.logLimit)
	s.mu.Unlock()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// recorder remembers the status and envelope code of an answer.
type recorder struct {
	http.ResponseWriter
	status int
	code   int
}

func (w *recorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}
