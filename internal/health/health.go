package health

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Routes of the probes.
const (
	RouteHealthz = "/healthz"
	RouteReadyz  = "/readyz"
	RouteMetrics = "/metrics"
)

// Reasons /readyz reports for the checks of this package.
const (
	ReasonNATSDisconnected    = "nats_disconnected"
	ReasonStreamUnavailable   = "stream_unavailable"
	ReasonDatabaseUnavailable = "database_unavailable"
	ReasonStoreFailed         = "nats_store_failed"
)

// DefaultTimeout bounds one /readyz answer (all checks together).
const DefaultTimeout = 1500 * time.Millisecond

// Check is one condition of readiness.
type Check struct {
	// Reason is the stable snake_case code /readyz reports when the check
	// fails, such as ReasonNATSDisconnected. It is never the error text,
	// which may name hosts or credentials.
	Reason string
	// Ready returns nil while the dependency is usable.
	Ready func(ctx context.Context) error
}

// Options configures Mount and Handler.
type Options struct {
	// Checks run in order on /readyz; the first that fails is the answer.
	Checks []Check
	// Gatherer is served on /metrics; nil leaves /metrics out.
	Gatherer prometheus.Gatherer
	// Timeout bounds one /readyz answer (default DefaultTimeout).
	Timeout time.Duration
	// Details are shown in every /readyz answer under "details" (constant
	// codes such as the NATS sync mode in force; never secrets).
	Details map[string]string
	// MoreDetails, when set, adds details computed per answer (a
	// "degraded" note that never changes the status: readiness says
	// whether to route callbacks here, and the receiver takes them while
	// the platform's API fails).
	MoreDetails func() map[string]string
	// Warnings are checks that do not make the process unready: the
	// reasons of those failing are listed under "warnings" (such as
	// anchoring_delayed: callbacks do not depend on it).
	Warnings []Check
}

// Mount registers GET /healthz, GET /readyz and, with a Gatherer, GET
// /metrics on mux. /healthz answers 200 {"status":"ok"} while the process
// runs; /readyz answers 200 {"status":"ready"} when every check passes and
// 503 {"status":"unavailable","reason":"<code>"} otherwise, both with
// "details" when Options.Details has any.
func Mount(mux *http.ServeMux, o Options) {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	mux.HandleFunc("GET "+RouteHealthz, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, answer{Status: "ok"})
	})
	mux.HandleFunc("GET "+RouteReadyz, func(w http.ResponseWriter, r *http.Request) {
		details := o.details()
		if reason := o.notReady(r.Context()); reason != "" {
			writeJSON(w, http.StatusServiceUnavailable, answer{Status: "unavailable", Reason: reason, Details: details,
				Warnings: o.warnings(r.Context())})
			return
		}
		writeJSON(w, http.StatusOK, answer{Status: "ready", Details: details, Warnings: o.warnings(r.Context())})
	})
	if o.Gatherer != nil {
		mux.Handle("GET "+RouteMetrics, promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{}))
	}
}

// Handler is a handler with the probes of Mount alone.
func Handler(o Options) http.Handler {
	mux := http.NewServeMux()
	Mount(mux, o)
	return mux
}

// details merges Details and MoreDetails.
func (o Options) details() map[string]string {
	if o.MoreDetails == nil {
		return o.Details
	}
	more := o.MoreDetails()
	if len(more) == 0 {
		return o.Details
	}
	out := make(map[string]string, len(o.Details)+len(more))
	for k, v := range o.Details {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}

// warnings returns the reasons of the failing Warnings.
func (o Options) warnings(ctx context.Context) []string {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	var out []string
	for _, c := range o.Warnings {
		if err := c.Ready(ctx); err != nil {
			out = append(out, c.Reason)
		}
	}
	return out
}

// notReady returns the reason of the first failing check, or "".
func (o Options) notReady(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	for _, c := range o.Checks {
		if err := c.Ready(ctx); err != nil {
			return c.Reason
		}
	}
	return ""
}

// errNotReady is the error of checks that only know yes or no.
var errNotReady = errors.New("health: not ready")

// NATSConnected fails while the core connection is not connected.
func NATSConnected(nc *nats.Conn) Check {
	return Check{Reason: ReasonNATSDisconnected, Ready: func(context.Context) error {
		if !nc.IsConnected() {
			return errNotReady
		}
		return nil
	}}
}

// Stream fails while the stream named name cannot be looked up.
func Stream(js jetstream.JetStream, name string) Check {
	return Check{Reason: ReasonStreamUnavailable, Ready: func(ctx context.Context) error {
		_, err := js.Stream(ctx, name)
		return err
	}}
}

// Store fails while storeErr does: the embedded NATS server keeps a
// failed write's error in a stream's store and refuses every later write
// (embeddednats.Server.StoreError), so the stream is reachable but stores
// nothing.
func Store(storeErr func() error) Check {
	return Check{Reason: ReasonStoreFailed, Ready: func(context.Context) error { return storeErr() }}
}

// Pinger is a database that answers a ping; store.Ledger is one.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Database fails while db does not answer its ping.
func Database(db Pinger) Check {
	return Check{Reason: ReasonDatabaseUnavailable, Ready: db.Ping}
}

// answer is the body of a probe; its values are constant codes.
type answer struct {
	Status  string            `json:"status"`
	Reason  string            `json:"reason,omitempty"`
	Details map[string]string `json:"details,omitempty"`
	// Warnings name failing checks that leave the process ready.
	Warnings []string `json:"warnings,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v answer) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
