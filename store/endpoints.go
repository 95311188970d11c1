package store

import (
	"context"
	"time"
)

// Endpoint sources: added through the API (and CLI, console) or declared
// in the config file, which each start applies again.
const (
	SourceAPI    = "api"
	SourceConfig = "config"
	// SourceConfigRemoved marks an endpoint the config file declared and
	// no longer does: the sync disabled it (ConfigRemovedReason) and kept
	// its attempts and dead letters; the API may delete it.
	SourceConfigRemoved = "config-removed"
)

// ConfigRemovedReason is the disabled reason of an endpoint removed from
// the config file.
const ConfigRemovedReason = "removed from the config file"

// ConfigDisabledReason is the disabled reason of a config endpoint
// declared disabled there.
const ConfigDisabledReason = "disabled in the config file"

// Endpoint is an HTTP endpoint facts are delivered to (docs/delivery.md).
type Endpoint struct {
	ID          string
	Tenant      string
	URL         string
	Description string
	// Types are the fact filters: subject patterns below
	// "qys.ledger.<tenant>." ("contract.COMPLETE", "contract.*",
	// "certification.>"); none selects every fact of the tenant.
	Types []string
	// Secrets sign every delivery; each unexpired one adds a signature.
	Secrets []EndpointSecret
	// Headers are extra request headers.
	Headers map[string]string
	// RateLimit caps deliveries per second in each process (0: none).
	RateLimit float64
	// Concurrency is how many deliveries may be in flight at once.
	Concurrency int
	// Ordered delivers one fact at a time, in the order of the stream
	// (so each contract's facts in sequence).
	Ordered      bool
	AllowPrivate bool
	AllowHTTP    bool
	Enabled      bool
	// DisabledReason says why it is disabled ("" when enabled).
	DisabledReason string
	DisabledAt     *time.Time
	// Source is "api" or "config" (declared in the TOML config).
	Source    string
	CreatedAt time.Time
	UpdatedAt time.Time
	// Health, set by RecordEndpointOutcome: the first failure since the
	// last success, the auto-disable warning, the last success.
	FailingSince  *time.Time
	WarnedAt      *time.Time
	LastSuccessAt *time.Time
}

// EndpointSecret is one signing secret ("whsec_…").
type EndpointSecret struct {
	Secret    string     `json:"secret"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// ActiveSecrets returns the secrets not expired at now.
func (e *Endpoint) ActiveSecrets(now time.Time) []string {
	var out []string
	for _, s := range e.Secrets {
		if s.ExpiresAt == nil || now.Before(*s.ExpiresAt) {
			out = append(out, s.Secret)
		}
	}
	return out
}

// EndpointAttempt is one delivery attempt.
type EndpointAttempt struct {
	ID         int64
	EndpointID string
	FactID     string
	Attempt    int
	At         time.Time
	// Status is the HTTP status; 0 when no answer came (Error says why).
	Status    int
	LatencyMS int64
	Response  string
	Error     string
	// NextAttemptAt is when the next attempt is due (nil when none).
	NextAttemptAt *time.Time
}

// EndpointAttemptFilter selects attempts, newest first.
type EndpointAttemptFilter struct {
	EndpointID string
	FactID     string // "" for every fact
	BeforeID   int64  // keyset pagination; 0: from the newest
	Limit      int    // <= 0: no limit
}

// EndpointDeadLetter is a delivery that exhausted the retry schedule.
type EndpointDeadLetter struct {
	EndpointID string
	FactID     string
	Subject    string
	Body       []byte
	Attempts   int
	LastError  string
	FailedAt   time.Time
}

// EndpointStore keeps the endpoints, their delivery attempts and dead
// letters. Both SQL ledgers implement it beside Ledger.
type EndpointStore interface {
	// SaveEndpoint inserts e, or replaces the row with its id (health
	// fields excepted).
	SaveEndpoint(ctx context.Context, e Endpoint) error
	// Endpoint returns one endpoint, or ErrNotFound.
	Endpoint(ctx context.Context, id string) (*Endpoint, error)
	// Endpoints lists the endpoints of tenant ("" for all), by id.
	Endpoints(ctx context.Context, tenant string) ([]Endpoint, error)
	// DeleteEndpoint deletes an endpoint with its attempts and dead
	// letters; ErrNotFound when absent.
	DeleteEndpoint(ctx context.Context, id string) error
	// SetEndpointEnabled enables or disables an endpoint (with a reason
	// when disabling) and reports whether this call changed it.
	SetEndpointEnabled(ctx context.Context, id string, enabled bool, reason string) (bool, error)
	// RecordEndpointOutcome records a success (clearing the health) or a
	// failure (starting FailingSince) and returns the endpoint after it.
	// Outcomes may come from several processes in any order: a success
	// clears only a failing that began no later than at, and a failure
	// starts none when a success came after at.
	RecordEndpointOutcome(ctx context.Context, id string, ok bool, at time.Time) (*Endpoint, error)
	// MarkEndpointWarned sets WarnedAt unless set; it reports whether
	// this call set it (so one process publishes the warning).
	MarkEndpointWarned(ctx context.Context, id string, at time.Time) (bool, error)
	// RestartEndpointFailing makes at the start of the endpoint's failing
	// (FailingSince) and clears WarnedAt, when failing: the failures
	// before a quiet period do not count.
	RestartEndpointFailing(ctx context.Context, id string, at time.Time) (*Endpoint, error)
	// AddEndpointAttempts records attempts, in one transaction.
	AddEndpointAttempts(ctx context.Context, as ...EndpointAttempt) error
	// EndpointAttempts lists attempts, newest first.
	EndpointAttempts(ctx context.Context, f EndpointAttemptFilter) ([]EndpointAttempt, error)
	// PruneEndpointAttempts deletes attempts made before before.
	PruneEndpointAttempts(ctx context.Context, before time.Time) (int64, error)
	// AddEndpointDeadLetter records (or replaces) a dead letter.
	AddEndpointDeadLetter(ctx context.Context, d EndpointDeadLetter) error
	// EndpointDeadLetters lists an endpoint's dead letters, oldest first.
	EndpointDeadLetters(ctx context.Context, endpointID string, limit int) ([]EndpointDeadLetter, error)
	// DeliveryCursor returns the named cursor (ok false when never set).
	DeliveryCursor(ctx context.Context, name string) (seq uint64, ok bool, err error)
	// AdvanceDeliveryCursor sets the named cursor to seq unless it is
	// already further.
	AdvanceDeliveryCursor(ctx context.Context, name string, seq uint64) error
	// DeleteEndpointDeadLetters deletes the named dead letters (all of
	// the endpoint's when factIDs is empty) and returns how many.
	DeleteEndpointDeadLetters(ctx context.Context, endpointID string, factIDs []string) (int64, error)
}
