package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/rs/zerolog/hlog"

	"github.com/qyshook/qyshook/activity"
	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/failures"
	"github.com/qyshook/qyshook/store"
)

// Role is what a token may do.
type Role string

// The roles.
const (
	// RoleViewer reads, with personal data masked.
	RoleViewer Role = "viewer"
	// RoleOperator reads everything unmasked and runs the write routes.
	RoleOperator Role = "operator"
)

// allows reports whether r includes need.
func (r Role) allows(need Role) bool {
	return r == RoleOperator || r == need
}

// seesPersonalData reports whether r reads personal data unmasked.
func (r Role) seesPersonalData() bool { return r == RoleOperator }

// Token is one accepted bearer token and its role.
type Token struct {
	// Secret is the token value; at least MinTokenLen characters.
	Secret string
	// Role is what the token may do.
	Role Role
}

// MinTokenLen is the shortest accepted token.
const MinTokenLen = 16

// Ledger is the part of store.Ledger the read routes use.
type Ledger interface {
	Contracts(ctx context.Context, f store.ContractFilter) ([]store.Contract, error)
	Contract(ctx context.Context, tenant, id string) (*store.Contract, error)
	Events(ctx context.Context, tenant, contractID string) ([]store.Event, error)
	Certifications(ctx context.Context, tenant string, limit int) ([]store.Certification, error)
	Certification(ctx context.Context, tenant, requestID string) (*store.Certification, error)
	DeadLetters(ctx context.Context, limit int) ([]store.DeadLetter, error)
	DeadLetter(ctx context.Context, id int64) (*store.DeadLetter, error)
	// Used by the write routes, /documents and /overview.
	DeleteDeadLetter(ctx context.Context, id int64) error
	Documents(ctx context.Context, f store.DocumentFilter) ([]store.Document, error)
	DocumentCounts(ctx context.Context, states ...string) (map[string]int64, error)
}

// ReconcileFunc runs one reconcile pass over the contracts published
// since since (the reconciler's RunOnce, adapted by internal/app).
type ReconcileFunc func(ctx context.Context, since time.Time) (ReconcileResult, error)

// ReconcileResult is what one reconcile pass did.
type ReconcileResult struct {
	Checked   int // contracts compared with the API
	Triggered int // RECONCILE triggers published
	Requeued  int // documents put back in the archive queue
	// CertificationsChecked counts the pending certifications the
	// certification-result API confirmed a state for,
	// CertificationsUnconfirmed those it could not confirm;
	// UnconfirmedCertifications are their request ids (the first 100).
	CertificationsChecked     int
	CertificationsUnconfirmed int
	UnconfirmedCertifications []string
}

// Options configure the API.
type Options struct {
	// Tokens are the accepted bearer tokens; at least one.
	Tokens []Token
	// Ledger is read by the contract, certification, event and dead-letter
	// routes.
	Ledger Ledger
	// JS and Names describe the streams for /api/v1/streams; without JS
	// that route answers 503.
	JS    jetstream.JetStream
	Names events.Names
	// Logger logs failures (default zerolog.Nop()).
	Logger *zerolog.Logger
	// Timeout bounds one request's work (default 30 s).
	Timeout time.Duration

	// The write side. Log records the audit trail and the reconcile runs
	// (default: Ledger, when it implements store.AdminLog); without it
	// every write answers 503, as without JS.
	Log store.AdminLog
	// Reconcile runs one pass for POST /reconcile (503 when nil).
	Reconcile ReconcileFunc
	// ReconcileWindow is how far back a pass lists published contracts
	// (default 72 h).
	ReconcileWindow time.Duration
	// ReplayRate caps the events a replay job republishes per second
	// (default 200; negative: no cap).
	ReplayRate float64
	// Durable is the dispatcher's consumer (its pending count is the lag
	// in /overview; default events.DurableLedger).
	Durable string
	// NATSSync is the callback store's sync mode in force, shown in
	// /overview (e.g. "grouped"; "" leaves it out).
	NATSSync string
	// Failures is what the dispatcher of this process is retrying now
	// (the overview's failing causes and degraded note; nil: none known).
	Failures *failures.Tracker
	// Activity is the per-minute figures GET /activity draws (nil: 503).
	Activity *activity.Recorder
	// ConfirmTTL is how long a replay dry run's confirm token is valid
	// (default 15 min).
	ConfirmTTL time.Duration
	// Registerer takes qyshook_admin_auth_failures_total (nil: not
	// exported; failures are still logged and throttled).
	Registerer prometheus.Registerer
	// MaxReconcileWindow bounds POST /reconcile's since (default
	// DefaultMaxReconcileWindow).
	MaxReconcileWindow time.Duration
	// Endpoints keeps the HTTP endpoints (default: Ledger, when it
	// implements store.EndpointStore; without it /endpoints answers 503).
	Endpoints store.EndpointStore
	// PrivateTenants may add endpoints on private addresses without
	// allow_private (QYSHOOK_DELIVERY_ALLOW_PRIVATE_TENANTS).
	PrivateTenants []string
	// DeliveryTimeout bounds POST /endpoints/{id}/test (default 15 s).
	DeliveryTimeout time.Duration
	// DisableAfter is the delivery stage's auto-disable period, for the
	// health's disable_at (0: not shown).
	DisableAfter time.Duration

	// Checkpoints are the receipt log's checkpoints for GET
	// /log/checkpoints, /log/status and the overview (default: Ledger,
	// when it implements store.CheckpointLog; without it those answer 503).
	Checkpoints store.CheckpointLog
	// Evidence keeps the evidence bundles for GET
	// /contracts/{tenant}/{id}/evidence (default: Ledger, when it
	// implements store.EvidenceStore; without it that route answers 503).
	Evidence store.EvidenceStore
	// OpenBundle opens a bundle's zip by its path relative to the data dir
	// (evidence_bundles.path); nil: the evidence route answers 503.
	OpenBundle func(relPath string) (*os.File, error)
	// RequestCheckpoint signs a checkpoint now for POST /log/checkpoints
	// (the anchor stage's Request; 503 when nil): the newest checkpoint,
	// and whether it is new.
	RequestCheckpoint func(ctx context.Context) (*store.LogCheckpoint, bool, error)
}

// ErrInvalidOption wraps every problem New finds in Options.
var ErrInvalidOption = errors.New("admin: invalid option")

// API is the admin API's handler.
type API struct {
	o      Options
	tokens []hashedToken
	router chi.Router
	jobs   *jobs
	spent  *spentTokens
	// failures counts and throttles failed authentications; sessions are
	// the console's (auth.go).
	failures *authFailures
	sessions *sessions
	// confirmKey signs replay confirm tokens (random per process).
	confirmKey []byte
}

type hashedToken struct {
	sum  [sha256.Size]byte
	role Role
}

// who names a token in the audit trail: its role and the first bytes of
// its SHA-256, never the token.
func (t hashedToken) who() string { return string(t.role) + ":" + hex.EncodeToString(t.sum[:4]) }

// New checks o and builds the API.
func New(o Options) (*API, error) {
	if len(o.Tokens) == 0 {
		return nil, fmt.Errorf("%w: no token", ErrInvalidOption)
	}
	if o.Ledger == nil {
		return nil, fmt.Errorf("%w: no ledger", ErrInvalidOption)
	}
	a := &API{o: o}
	seen := map[string]bool{}
	for i, t := range o.Tokens {
		if len(t.Secret) < MinTokenLen {
			return nil, fmt.Errorf("%w: token %d shorter than %d characters", ErrInvalidOption, i+1, MinTokenLen)
		}
		if t.Role != RoleViewer && t.Role != RoleOperator {
			return nil, fmt.Errorf("%w: token %d: role %q (want viewer or operator)", ErrInvalidOption, i+1, t.Role)
		}
		if seen[t.Secret] {
			return nil, fmt.Errorf("%w: token %d given twice", ErrInvalidOption, i+1)
		}
		seen[t.Secret] = true
		a.tokens = append(a.tokens, hashedToken{sha256.Sum256([]byte(t.Secret)), t.Role})
	}
	if a.o.Logger == nil {
		nop := zerolog.Nop()
		a.o.Logger = &nop
	}
	if a.o.Timeout <= 0 {
		a.o.Timeout = 30 * time.Second
	}
	if a.o.Log == nil {
		a.o.Log, _ = o.Ledger.(store.AdminLog)
	}
	if a.o.Endpoints == nil {
		a.o.Endpoints, _ = o.Ledger.(store.EndpointStore)
	}
	if a.o.Checkpoints == nil {
		a.o.Checkpoints, _ = o.Ledger.(store.CheckpointLog)
	}
	if a.o.Evidence == nil {
		a.o.Evidence, _ = o.Ledger.(store.EvidenceStore)
	}
	if a.o.ReconcileWindow <= 0 {
		a.o.ReconcileWindow = 72 * time.Hour
	}
	if a.o.ReplayRate == 0 {
		a.o.ReplayRate = 200
	}
	if a.o.Durable == "" {
		a.o.Durable = events.DurableLedger
	}
	if a.o.ConfirmTTL <= 0 {
		a.o.ConfirmTTL = 15 * time.Minute
	}
	a.confirmKey = make([]byte, 32)
	if _, err := rand.Read(a.confirmKey); err != nil {
		return nil, fmt.Errorf("admin: random key: %w", err)
	}
	if a.o.MaxReconcileWindow <= 0 {
		a.o.MaxReconcileWindow = DefaultMaxReconcileWindow
	}
	var err error
	if a.failures, err = newAuthFailures(o.Registerer, a.o.Logger); err != nil {
		return nil, fmt.Errorf("admin: metrics: %w", err)
	}
	a.sessions = newSessions()
	a.jobs = newJobs()
	a.spent = &spentTokens{m: map[string]time.Time{}}
	a.router = a.routes()
	return a, nil
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.router.ServeHTTP(w, r) }

// token returns the token matching the request's bearer token, or false.
// Every configured token is compared, in constant time, whatever matches.
func (a *API) token(r *http.Request) (hashedToken, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return hashedToken{}, false
	}
	return a.tokenFor(token)
}

// tokenFor returns the token whose secret is value, or false.
func (a *API) tokenFor(value string) (hashedToken, bool) {
	sum := sha256.Sum256([]byte(strings.TrimSpace(value)))
	var found hashedToken
	for _, t := range a.tokens {
		if subtle.ConstantTimeCompare(sum[:], t.sum[:]) == 1 {
			found = t
		}
	}
	return found, found.role != ""
}

type roleKey struct{}

// roleOf is the role authenticate stored for the request.
func roleOf(r *http.Request) Role {
	t, _ := r.Context().Value(roleKey{}).(hashedToken)
	return t.role
}

// whoOf names the request's token for the audit trail.
func whoOf(r *http.Request) string {
	t, _ := r.Context().Value(roleKey{}).(hashedToken)
	return t.who()
}

// authenticate answers 401 without a valid token, 403 when the token's
// role does not include need.
func (a *API) authenticate(need Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, ok := r.Context().Value(sessionKey{}).(hashedToken)
			if !ok {
				tok, ok = a.token(r)
			}
			role := tok.role
			if !ok {
				if r.Header.Get("Authorization") == "" {
					// No credential (or an expired console session): counted,
					// not held against the source.
					a.failures.metric.WithLabelValues(authMissing).Inc()
				} else if refuse(w, r, a.failures.fail(source(r), authUnknown, r.URL.Path)) {
					// Only the failing attempts of a throttled source
					// are refused: a right token is checked first.
					return
				}
				writeError(w, r, errorf(adminapi.CodeUnauthorized, "missing or unknown bearer token (Authorization: Bearer <token>)"))
				return
			}
			if !role.allows(need) {
				writeError(w, r, errorf(adminapi.CodeForbidden, "this route needs the %s role; the token is a %s", need, role))
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), roleKey{}, tok))
			if !role.seesPersonalData() {
				// Every string a viewer receives is masked by shape here.
				mw := &maskingWriter{ResponseWriter: w}
				next.ServeHTTP(mw, r)
				mw.finish()
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// handlerFunc is a route's body; a returned error is answered by writeError.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (a *API) handle(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), a.o.Timeout)
		defer cancel()
		r = r.WithContext(ctx)
		if err := h(w, r); err != nil {
			writeError(w, r, err)
		}
	}
}

// withLogger puts the logger in the request (hlog.FromRequest).
func (a *API) withLogger() func(http.Handler) http.Handler { return hlog.NewHandler(*a.o.Logger) }

// maskingWriter holds a JSON answer to a viewer and writes it with every
// personal number masked by its shape (MaskText), at any depth and in
// JSON held in strings, identifiers aside; other answers (the live event
// stream, masked per event) pass through. It is the one masking by shape
// of a viewer's answer: it cannot miss a field, whatever handler built
// it. The handlers mask only what has no shape, by meaning (a person's
// name, a number under a personal key: maskJSONKeys), and leave out what
// a viewer does not get (a discrepancy's detail, a URL's query).
type maskingWriter struct {
	http.ResponseWriter
	status  int
	buf     []byte
	through bool
	decided bool
}

func (m *maskingWriter) decide() {
	if !m.decided {
		m.decided = true
		m.through = !strings.HasPrefix(m.Header().Get("Content-Type"), "application/json")
	}
}

func (m *maskingWriter) WriteHeader(status int) {
	m.decide()
	if m.through {
		m.ResponseWriter.WriteHeader(status)
		return
	}
	m.status = status
}

func (m *maskingWriter) Write(b []byte) (int, error) {
	m.decide()
	if m.through {
		return m.ResponseWriter.Write(b)
	}
	m.buf = append(m.buf, b...)
	return len(b), nil
}

// Unwrap lets http.ResponseController reach the connection (Flush).
func (m *maskingWriter) Unwrap() http.ResponseWriter { return m.ResponseWriter }

func (m *maskingWriter) finish() {
	if m.through || !m.decided {
		return
	}
	out := maskJSONText(m.buf)
	m.Header().Del("Content-Length")
	if m.status == 0 {
		m.status = http.StatusOK
	}
	m.ResponseWriter.WriteHeader(m.status)
	_, _ = m.ResponseWriter.Write(out)
}
