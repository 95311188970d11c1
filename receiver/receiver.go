package receiver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/rs/zerolog/hlog"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/qys"
)

// Routes served by the receiver.
const (
	RouteContract     = "/callbacks/{tenant}/contract"
	RouteAuthPersonal = "/callbacks/{tenant}/auth/personal"
	RouteAuthCompany  = "/callbacks/{tenant}/auth/company"
	// RouteNotice receives the notice kinds; {kind} is one of
	// seal-audit, personal-sign-auth, company-authorization,
	// physical-seal (qys.NoticeKinds). Any other kind is 404.
	RouteNotice = "/callbacks/{tenant}/notify/{kind}"
)

// Defaults of Options.
const (
	// DefaultMaxBody caps a request body.
	DefaultMaxBody = 1 << 20
	// DefaultPublishTimeout bounds the wait for a PubAck.
	DefaultPublishTimeout = 5 * time.Second
)

// Publisher is the JetStream API the receiver stores callbacks with.
// jetstream.JetStream satisfies it.
//
// The receiver sends each callback as one request on Conn, with the
// headers PublishMsg would set, and reads the PubAck itself; when the
// Publisher also implements events.Syncer (the embedded server's grouped
// sync), it then calls Sync before answering, as an asynchronous
// publisher does. PublishMsg is used only when no stream answers the
// request, for its retries, and must then sync by itself.
type Publisher interface {
	// PublishMsg publishes msg and waits for the stream's acknowledgement.
	PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
	// Conn is the core connection the callbacks are sent on: while it is
	// not connected the receiver answers 503 at once instead of waiting
	// for the publish timeout.
	Conn() *nats.Conn
}

// Options configures New.
type Options struct {
	// Tenants maps a tenant name (the {tenant} segment of the routes) to
	// the verifier of its callbacks.
	Tenants map[string]*qys.Verifier
	// AuthAnswers is, per tenant, the body of the answer to a stored
	// certification callback: AuthAnswerJSON (the default for a tenant
	// not listed) or AuthAnswerSuccess. Format B tenants always answer
	// "success".
	AuthAnswers map[string]AuthAnswer
	// Publisher stores the envelopes (required).
	Publisher Publisher
	// Names gives the stream and subject names.
	Names events.Names
	// Logger is the base logger. The zero value logs nothing.
	Logger zerolog.Logger
	// Registerer receives the metrics (default: a new registry). Pass a
	// fresh registry per receiver when several run in one process.
	Registerer prometheus.Registerer
	// MaxBody caps a request body (default DefaultMaxBody).
	MaxBody int64
	// PublishTimeout bounds the wait for a PubAck and the sync after it
	// (default DefaultPublishTimeout; callbacks starting within 50 ms
	// share one timer, so a wait may run up to 50 ms longer).
	PublishTimeout time.Duration
	// Now is the clock for received_at (default time.Now).
	Now func() time.Time
	// Activity, when set, is told each callback as it is answered, for
	// the admin console's charts (*activity.Recorder): activity.Received
	// per callback stored (not a duplicate), activity.Refused per callback
	// refused, under its tenant ("_unknown" for an unknown one).
	Activity ActivityRecorder
}

// ActivityRecorder takes the receiver's counts for the console's charts
// (*activity.Recorder satisfies it).
type ActivityRecorder interface {
	// Add adds v to the series of tenant in the current minute.
	Add(series, tenant string, v float64)
}

// AuthAnswer is the body of the answer to a stored certification callback.
type AuthAnswer string

// Answers to certification callbacks (docs/configuration.md gives the
// evidence for each).
const (
	// AuthAnswerJSON answers {"code":0,"message":"SUCCESS"}.
	AuthAnswerJSON AuthAnswer = "json"
	// AuthAnswerSuccess answers the text success, as to contract callbacks.
	AuthAnswerSuccess AuthAnswer = "success"
)

// ParseAuthAnswer reads "json" or "success" (any case; empty is json).
func ParseAuthAnswer(s string) (AuthAnswer, error) {
	switch a := AuthAnswer(strings.ToLower(strings.TrimSpace(s))); a {
	case "":
		return AuthAnswerJSON, nil
	case AuthAnswerJSON, AuthAnswerSuccess:
		return a, nil
	}
	return "", fmt.Errorf("receiver: certification answer %q: must be json or success", truncate(s, 32))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// tenant is one configured tenant with its verifier.
type tenant struct {
	name       string
	verifier   *qys.Verifier
	authAnswer AuthAnswer
}

// Receiver is the receiver's http.Handler: the callback routes behind the
// request-logging middlewares. Probes (/healthz, /readyz, /metrics) are
// served beside it by internal/health.
type Receiver struct {
	tenants map[string]*tenant
	pub     Publisher
	names   events.Names
	stream  string
	// streamHeader is the Nats-Expected-Stream header's value (shared by
	// every message: nothing changes it).
	streamHeader   []string
	log            zerolog.Logger
	metrics        *metrics
	maxBody        int64
	publishTimeout time.Duration
	deadlines      *deadlines // PublishTimeout's, shared
	now            func() time.Time
	activity       ActivityRecorder
	router         http.Handler
	// notices are the handlers of the notice kinds (RouteNotice).
	notices map[qys.Kind]http.HandlerFunc
	// accessLog: the logger writes info lines, so every request gets an
	// access line that acknowledge adds the stored callback's ids to.
	accessLog bool
}

// New builds a Receiver. It fails without a Publisher, when a tenant has
// no verifier, or when the metrics cannot be registered.
func New(o Options) (*Receiver, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	rc := &Receiver{
		tenants: map[string]*tenant{}, pub: o.Publisher, names: o.Names, stream: o.Names.CallbacksStream(),
		streamHeader: []string{o.Names.CallbacksStream()},
		log:          o.Logger, maxBody: o.MaxBody, publishTimeout: o.PublishTimeout, now: o.Now,
		activity: o.Activity,
	}
	for name, v := range o.Tenants {
		if v == nil {
			return nil, fmt.Errorf("receiver: tenant %q has no verifier", name)
		}
		rc.tenants[name] = &tenant{name: name, verifier: v, authAnswer: AuthAnswerJSON}
	}
	for name, a := range o.AuthAnswers {
		t, ok := rc.tenants[name]
		if !ok {
			return nil, fmt.Errorf("receiver: certification answer for unknown tenant %q", name)
		}
		if a != AuthAnswerJSON && a != AuthAnswerSuccess {
			return nil, fmt.Errorf("receiver: tenant %q: certification answer %q: must be json or success", name, truncate(string(a), 32))
		}
		t.authAnswer = a
	}
	names := make([]string, 0, len(rc.tenants))
	for name := range rc.tenants {
		names = append(names, name)
	}
	m, err := newMetrics(o.Registerer, names)
	if err != nil {
		return nil, err
	}
	rc.metrics = m
	rc.deadlines = newDeadlines(rc.publishTimeout)
	rc.accessLog = logs(o.Logger, zerolog.InfoLevel)
	rc.router = rc.routes()
	return rc, nil
}

func (o *Options) defaults() error {
	if o.Publisher == nil {
		return errors.New("receiver: a Publisher is required")
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.PublishTimeout <= 0 {
		o.PublishTimeout = DefaultPublishTimeout
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
	rc.notices = map[qys.Kind]http.HandlerFunc{}
	for _, k := range qys.NoticeKinds {
		rc.notices[k] = rc.handleCallback(k)
	}
	r.Post(RouteNotice, rc.handleNotice)
	return r
}

// newRouter is a chi router with the request-scope middlewares: the
// request logger, a request id, and an access log that records the route
// pattern, never the query string or the body. They cost allocations on
// every request, so each is only there when its lines can be written: the
// access log when log writes info lines, the request logger and id when
// it writes warnings (refusals).
func newRouter(log zerolog.Logger) *chi.Mux {
	r := chi.NewRouter()
	if logs(log, zerolog.WarnLevel) {
		r.Use(hlog.NewHandler(log))
		r.Use(hlog.RequestIDHandler("req_id", "X-Request-Id"))
	}
	if logs(log, zerolog.InfoLevel) {
		r.Use(hlog.AccessHandler(accessLog))
	}
	return r
}

// logs reports whether log writes lines of level (the zero Logger writes
// none).
func logs(log zerolog.Logger, level zerolog.Level) bool {
	e := log.WithLevel(level)
	defer e.Discard()
	return e.Enabled()
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
		writeSuccess(w, qys.KindContract, qys.FormatA, AuthAnswerJSON)
	})
	return r
}
