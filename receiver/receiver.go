package receiver

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
	"github.com/rs/zerolog/hlog"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/internal/natsconn"
	"github.com/qyshook/qyshook/qys"
)

// Routes served by the receiver.
const (
	RouteContract     = "/callbacks/{tenant}/contract"
	RouteAuthPersonal = "/callbacks/{tenant}/auth/personal"
	RouteAuthCompany  = "/callbacks/{tenant}/auth/company"
	RouteHealthz      = "/healthz"
	RouteReadyz       = "/readyz"
	RouteMetrics      = "/metrics"
)

// Options configures New.
type Options struct {
	// Tenants are the configured tenants; each gets its own verifier.
	Tenants []config.Tenant
	// Conn is the NATS connection. Alternatively set NC and JS.
	Conn *natsconn.Conn
	// NC is the core connection (checked before publishing, to fail fast).
	NC *nats.Conn
	// JS publishes the envelopes.
	JS jetstream.JetStream
	// Names gives the stream and subject names.
	Names events.Names
	// Logger is the base logger. The zero value logs nothing.
	Logger zerolog.Logger
	// Registerer receives the metrics (default: a new registry). Pass a
	// fresh registry per receiver when several run in one process.
	Registerer prometheus.Registerer
	// Gatherer is served on /metrics (default: Registerer when it is a
	// Gatherer).
	Gatherer prometheus.Gatherer
	// MaxBody caps a request body (default config.DefaultMaxBody).
	MaxBody int64
	// PublishTimeout bounds the wait for a PubAck (default config.DefaultPublishTimeout).
	PublishTimeout time.Duration
	// ReadyTimeout bounds /readyz's stream check (default 1.5 s).
	ReadyTimeout time.Duration
	// Now is the clock for received_at (default time.Now).
	Now func() time.Time
}

// OptionsFromConfig fills the tenants, limits and names of Options from
// cfg; the caller adds the connection, logger and registry.
func OptionsFromConfig(cfg *config.Config) (Options, error) {
	names, err := cfg.Names()
	if err != nil {
		return Options{}, fmt.Errorf("receiver: %w", err)
	}
	return Options{Tenants: cfg.Tenants, Names: names, MaxBody: cfg.MaxBody, PublishTimeout: cfg.PublishTimeout}, nil
}

// tenant is one configured tenant with its verifier.
type tenant struct {
	name     string
	verifier *qys.Verifier
}

// Receiver is the receiver's http.Handler: the callback routes, /healthz,
// /readyz and /metrics behind the request-logging middlewares.
type Receiver struct {
	tenants        map[string]*tenant
	nc             *nats.Conn
	js             jetstream.JetStream
	names          events.Names
	stream         string
	log            zerolog.Logger
	metrics        *metrics
	gatherer       prometheus.Gatherer
	maxBody        int64
	publishTimeout time.Duration
	readyTimeout   time.Duration
	now            func() time.Time
	router         http.Handler
}

// New builds a Receiver. It fails when a tenant's verification settings
// are invalid, a tenant is defined twice, or the metrics cannot be
// registered.
func New(o Options) (*Receiver, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	rc := &Receiver{
		tenants: map[string]*tenant{}, nc: o.NC, js: o.JS, names: o.Names, stream: o.Names.CallbacksStream(),
		log: o.Logger, gatherer: o.Gatherer, maxBody: o.MaxBody, publishTimeout: o.PublishTimeout,
		readyTimeout: o.ReadyTimeout, now: o.Now,
	}
	for i := range o.Tenants {
		t := &o.Tenants[i]
		if _, dup := rc.tenants[t.Name]; dup {
			return nil, fmt.Errorf("receiver: tenant %q defined twice", t.Name)
		}
		v, err := qys.NewVerifier(t.VerifierConfig())
		if err != nil {
			return nil, fmt.Errorf("receiver: tenant %q: %w", t.Name, err)
		}
		rc.tenants[t.Name] = &tenant{name: t.Name, verifier: v}
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	rc.metrics = m
	rc.router = rc.routes()
	return rc, nil
}

func (o *Options) defaults() error {
	if o.Conn != nil {
		o.NC, o.JS = o.Conn.NC, o.Conn.JS
	}
	if o.NC == nil || o.JS == nil {
		return errors.New("receiver: a NATS connection (Conn, or NC and JS) is required")
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.Gatherer == nil {
		g, ok := o.Registerer.(prometheus.Gatherer)
		if !ok {
			return errors.New("receiver: Gatherer required when Registerer is not a Gatherer")
		}
		o.Gatherer = g
	}
	if o.MaxBody <= 0 {
		o.MaxBody = config.DefaultMaxBody
	}
	if o.PublishTimeout <= 0 {
		o.PublishTimeout = config.DefaultPublishTimeout
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 1500 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// ServeHTTP implements http.Handler.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) { rc.router.ServeHTTP(w, r) }

func (rc *Receiver) routes() http.Handler {
	r := newRouter(rc.log)
	r.Post(RouteContract, rc.handleCallback(qys.KindContract))
	r.Post(RouteAuthPersonal, rc.handleCallback(qys.KindAuthPersonal))
	r.Post(RouteAuthCompany, rc.handleCallback(qys.KindAuthCompany))
	r.Get(RouteHealthz, handleHealthz)
	r.Get(RouteReadyz, rc.handleReadyz)
	r.Method(http.MethodGet, RouteMetrics, promhttp.HandlerFor(rc.gatherer, promhttp.HandlerOpts{}))
	return r
}

// newRouter is a chi router with the request-scope middlewares: the
// request logger, a request id, and an access log that records the route
// pattern, never the query string or the body.
func newRouter(log zerolog.Logger) *chi.Mux {
	r := chi.NewRouter()
	r.Use(hlog.NewHandler(log))
	r.Use(hlog.RequestIDHandler("req_id", "X-Request-Id"))
	r.Use(hlog.AccessHandler(accessLog))
	return r
}

func accessLog(r *http.Request, status, size int, d time.Duration) {
	route := r.URL.Path
	if rctx := chi.RouteContext(r.Context()); rctx != nil && rctx.RoutePattern() != "" {
		route = rctx.RoutePattern()
	}
	hlog.FromRequest(r).Info().Str("method", r.Method).Str("route", route).Int("status", status).
		Int("size", size).Dur("duration", d).Msg("request")
}

// NewNoopHandler is the receiver's router and middlewares with one route,
// POST /noop, that reads the body and answers success without verifying
// or storing anything. Benchmarks use it as the baseline of the HTTP stack.
func NewNoopHandler(log zerolog.Logger, maxBody int64) http.Handler {
	r := newRouter(log)
	r.Post("/noop", func(w http.ResponseWriter, r *http.Request) {
		if _, err := readBody(w, r, maxBody); err != nil {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		writeSuccess(w, qys.KindContract, qys.FormatA)
	})
	return r
}
