package adminapi

import (
	"context"
	"net/url"
	"time"
)

// Endpoint is an HTTP endpoint facts are delivered to. Its secrets are
// never shown after they are made (EndpointCreated, SecretRotated).
type Endpoint struct {
	ID          string `json:"id"`
	Tenant      string `json:"tenant"`
	URL         string `json:"url"`
	Description string `json:"description"`
	// Types are the fact filters (subject patterns below
	// qys.ledger.<tenant>.); empty: every fact of the tenant.
	Types []string `json:"types"`
	// Headers lists the names of the extra headers (values hidden: they
	// may be credentials).
	Headers      []string `json:"headers"`
	RateLimit    float64  `json:"rate_limit"`
	Concurrency  int      `json:"concurrency"`
	Ordered      bool     `json:"ordered"`
	AllowPrivate bool     `json:"allow_private"`
	AllowHTTP    bool     `json:"allow_http"`
	Enabled      bool     `json:"enabled"`
	// DisabledReason says why it is disabled ("" when enabled).
	DisabledReason string     `json:"disabled_reason"`
	DisabledAt     *time.Time `json:"disabled_at"`
	// Secrets counts the signing secrets in use (more than one during a
	// rotation's overlap).
	Secrets       int        `json:"secrets"`
	Source        string     `json:"source"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	FailingSince  *time.Time `json:"failing_since"`
	WarnedAt      *time.Time `json:"warned_at"`
	LastSuccessAt *time.Time `json:"last_success_at"`
}

// EndpointRequest is the body of POST /endpoints.
type EndpointRequest struct {
	Tenant      string            `json:"tenant"`
	URL         string            `json:"url"`
	Description string            `json:"description,omitempty"`
	Types       []string          `json:"types,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	// RateLimit caps deliveries per second per process (0: none).
	RateLimit float64 `json:"rate_limit,omitempty"`
	// Concurrency is the deliveries in flight at once (0: 4).
	Concurrency int  `json:"concurrency,omitempty"`
	Ordered     bool `json:"ordered,omitempty"`
	// AllowPrivate accepts loopback, link-local and private addresses.
	AllowPrivate bool `json:"allow_private,omitempty"`
	// AllowHTTP accepts plain http.
	AllowHTTP bool `json:"allow_http,omitempty"`
	// Disabled creates it disabled.
	Disabled bool `json:"disabled,omitempty"`
	// Asymmetric signs with an Ed25519 key (v1a signatures) instead of an
	// HMAC secret (v1); receivers verify with its public key.
	Asymmetric bool `json:"asymmetric,omitempty"`
}

// EndpointCreated is the answer of POST /endpoints: the endpoint and its
// signing secret ("whsec_…"), shown this once, or for an asymmetric
// endpoint the public key ("whpk_…") its receivers verify with.
type EndpointCreated struct {
	Endpoint Endpoint `json:"endpoint"`
	Secret   string   `json:"secret"`
}

// EndpointHealth is how an endpoint's recent attempts went.
type EndpointHealth struct {
	// Attempts is how many recent attempts it was computed over (the
	// last 100 kept).
	Attempts    int     `json:"attempts"`
	SuccessRate float64 `json:"success_rate"`
	// LatencyP50MS and LatencyP99MS are over those attempts.
	LatencyP50MS int64 `json:"latency_p50_ms"`
	LatencyP99MS int64 `json:"latency_p99_ms"`
	// LastFailures are the last failed attempts (up to 5), newest first.
	LastFailures []EndpointAttempt `json:"last_failures"`
	// DeadLetters counts the endpoint's dead letters.
	DeadLetters int `json:"dead_letters"`
	// DisableAt is when the endpoint will be disabled if every attempt
	// keeps failing (absent when it is not failing).
	DisableAt *time.Time `json:"disable_at"`
}

// EndpointDetail is the answer of GET /endpoints/{id}.
type EndpointDetail struct {
	Endpoint Endpoint       `json:"endpoint"`
	Health   EndpointHealth `json:"health"`
}

// EndpointAttempt is one delivery attempt.
type EndpointAttempt struct {
	ID      int64     `json:"id"`
	FactID  string    `json:"fact_id"`
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
	// Status is the HTTP status; 0 when no answer came.
	Status    int    `json:"status"`
	LatencyMS int64  `json:"latency_ms"`
	Response  string `json:"response"`
	Error     string `json:"error"`
	// NextAttemptAt is when the next attempt is due (null: none).
	NextAttemptAt *time.Time `json:"next_attempt_at"`
}

// EndpointDeadLetter is a delivery that exhausted the retry schedule.
type EndpointDeadLetter struct {
	FactID    string    `json:"fact_id"`
	Subject   string    `json:"subject"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error"`
	FailedAt  time.Time `json:"failed_at"`
}

// EndpointDeadLetterRequest is the body of POST
// /endpoints/{id}/dead-letters/retry and /purge: the named facts, or All.
type EndpointDeadLetterRequest struct {
	FactIDs []string `json:"fact_ids,omitempty"`
	All     bool     `json:"all,omitempty"`
}

// EndpointDeadLetterResult counts what a retry queued again or a purge
// deleted.
type EndpointDeadLetterResult struct {
	Count int `json:"count"`
}

// RotateSecretRequest is the body of POST /endpoints/{id}/rotate-secret.
type RotateSecretRequest struct {
	// Overlap is how long the previous secrets keep signing (a Go
	// duration, default 24h; "0s" retires them at once).
	Overlap string `json:"overlap,omitempty"`
}

// SecretRotated is the answer of POST /endpoints/{id}/rotate-secret: the
// new secret, shown this once (an asymmetric endpoint's new public key),
// and when the previous ones stop signing.
type SecretRotated struct {
	Secret        string    `json:"secret"`
	PreviousUntil time.Time `json:"previous_until"`
	Signatures    int       `json:"signatures"`
}

// EndpointTestResult is the answer of POST /endpoints/{id}/test: what the
// endpoint answered a signed test fact.
type EndpointTestResult struct {
	FactID    string `json:"fact_id"`
	Status    int    `json:"status"`
	LatencyMS int64  `json:"latency_ms"`
	Response  string `json:"response"`
	Error     string `json:"error"`
	OK        bool   `json:"ok"`
}

// EndpointReplayRequest is the body of POST /endpoints/{id}/replay: every
// fact of the endpoint's tenant its filters select, published since
// Since (RFC 3339), queued for it again. DryRun only counts.
type EndpointReplayRequest struct {
	Since  string `json:"since"`
	DryRun bool   `json:"dry_run,omitempty"`
}

// EndpointReplayResult counts the facts read and those selected (queued
// unless DryRun).
type EndpointReplayResult struct {
	Scanned int  `json:"scanned"`
	Matched int  `json:"matched"`
	DryRun  bool `json:"dry_run"`
}

// Deleted is the answer of a delete.
type Deleted struct {
	Deleted int `json:"deleted"`
}

// Endpoints reads GET /endpoints (query: tenant).
func (c *Client) Endpoints(ctx context.Context, query url.Values) (*Page[Endpoint], error) {
	return get[Page[Endpoint]](ctx, c, "/endpoints", query)
}

// Endpoint reads GET /endpoints/{id}.
func (c *Client) Endpoint(ctx context.Context, id string) (*EndpointDetail, error) {
	return get[EndpointDetail](ctx, c, "/endpoints/"+seg(id), nil)
}

// AddEndpoint calls POST /endpoints.
func (c *Client) AddEndpoint(ctx context.Context, req EndpointRequest) (*EndpointCreated, error) {
	return post[EndpointCreated](ctx, c, "/endpoints", req)
}

// DeleteEndpoint calls DELETE /endpoints/{id}.
func (c *Client) DeleteEndpoint(ctx context.Context, id string) (*Deleted, error) {
	v := new(Deleted)
	return v, c.Do(ctx, "DELETE", "/endpoints/"+seg(id), nil, nil, v)
}

// SetEndpointEnabled calls POST /endpoints/{id}/enable or /disable.
func (c *Client) SetEndpointEnabled(ctx context.Context, id string, enabled bool) (*Endpoint, error) {
	verb := "/disable"
	if enabled {
		verb = "/enable"
	}
	return post[Endpoint](ctx, c, "/endpoints/"+seg(id)+verb, nil)
}

// RotateSecret calls POST /endpoints/{id}/rotate-secret.
func (c *Client) RotateSecret(ctx context.Context, id string, req RotateSecretRequest) (*SecretRotated, error) {
	return post[SecretRotated](ctx, c, "/endpoints/"+seg(id)+"/rotate-secret", req)
}

// TestEndpoint calls POST /endpoints/{id}/test.
func (c *Client) TestEndpoint(ctx context.Context, id string) (*EndpointTestResult, error) {
	return post[EndpointTestResult](ctx, c, "/endpoints/"+seg(id)+"/test", nil)
}

// EndpointAttempts reads GET /endpoints/{id}/attempts (query: fact_id,
// limit, cursor).
func (c *Client) EndpointAttempts(ctx context.Context, id string, query url.Values) (*Page[EndpointAttempt], error) {
	return get[Page[EndpointAttempt]](ctx, c, "/endpoints/"+seg(id)+"/attempts", query)
}

// EndpointDeadLetters reads GET /endpoints/{id}/dead-letters.
func (c *Client) EndpointDeadLetters(ctx context.Context, id string) (*Page[EndpointDeadLetter], error) {
	return get[Page[EndpointDeadLetter]](ctx, c, "/endpoints/"+seg(id)+"/dead-letters", nil)
}

// RetryEndpointDeadLetters calls POST /endpoints/{id}/dead-letters/retry.
func (c *Client) RetryEndpointDeadLetters(ctx context.Context, id string, req EndpointDeadLetterRequest) (*EndpointDeadLetterResult, error) {
	return post[EndpointDeadLetterResult](ctx, c, "/endpoints/"+seg(id)+"/dead-letters/retry", req)
}

// PurgeEndpointDeadLetters calls POST /endpoints/{id}/dead-letters/purge.
func (c *Client) PurgeEndpointDeadLetters(ctx context.Context, id string, req EndpointDeadLetterRequest) (*EndpointDeadLetterResult, error) {
	return post[EndpointDeadLetterResult](ctx, c, "/endpoints/"+seg(id)+"/dead-letters/purge", req)
}

// ReplayToEndpoint calls POST /endpoints/{id}/replay.
func (c *Client) ReplayToEndpoint(ctx context.Context, id string, req EndpointReplayRequest) (*EndpointReplayResult, error) {
	return post[EndpointReplayResult](ctx, c, "/endpoints/"+seg(id)+"/replay", req)
}
