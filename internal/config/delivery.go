package config

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/qyshook/qyshook/delivery"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/webhook"
)

// Delivery tunes the delivery stage (HTTP endpoints, docs/delivery.md).
type Delivery struct {
	// Schedule is the delay before each retry (QYSHOOK_DELIVERY_SCHEDULE,
	// comma-separated durations; default delivery.DefaultSchedule, 15
	// attempts over about 3 days). Each delay is spread by ±20 %.
	Schedule []time.Duration
	// Timeout bounds one attempt (QYSHOOK_DELIVERY_TIMEOUT, default 15s,
	// 1s to 5m).
	Timeout time.Duration
	// DisableAfter: an endpoint whose attempts all failed for this long is
	// disabled, with a warning fact at half of it
	// (QYSHOOK_DELIVERY_DISABLE_AFTER, default 120h, 1m to 8760h).
	DisableAfter time.Duration
	// AttemptRetention: attempts are kept this long
	// (QYSHOOK_DELIVERY_ATTEMPT_RETENTION, default 720h, 1h to 87600h).
	AttemptRetention time.Duration
	// AllowPrivateTenants may add endpoints on loopback, link-local and
	// private addresses without allowing it per endpoint
	// (QYSHOOK_DELIVERY_ALLOW_PRIVATE_TENANTS, comma-separated tenant
	// names; default none).
	AllowPrivateTenants []string
	// Endpoints are the endpoints declared in the QYSHOOK_CONFIG file
	// ([[endpoint]]), made or updated in the ledger at start.
	Endpoints []Endpoint
}

// Endpoint is an endpoint declared in the config file. Fields as in
// docs/delivery.md; Secrets come from `secrets` or the variable named by
// `secrets_env` (comma-separated, newest last).
type Endpoint struct {
	ID           string
	Tenant       string
	URL          string
	Description  string
	Types        []string
	Secrets      []Secret
	Headers      map[string]string
	RateLimit    float64
	Concurrency  int
	Ordered      bool
	AllowPrivate bool
	AllowHTTP    bool
	Disabled     bool
}

// fileEndpoint is one [[endpoint]] of the config file.
type fileEndpoint struct {
	ID           string            `toml:"id"`
	Tenant       string            `toml:"tenant"`
	URL          string            `toml:"url"`
	Description  string            `toml:"description"`
	Types        []string          `toml:"types"`
	Secrets      []string          `toml:"secrets"`
	SecretsEnv   string            `toml:"secrets_env"`
	Headers      map[string]string `toml:"headers"`
	RateLimit    float64           `toml:"rate_limit"`
	Concurrency  int               `toml:"concurrency"`
	Ordered      bool              `toml:"ordered"`
	AllowPrivate bool              `toml:"allow_private"`
	AllowHTTP    bool              `toml:"allow_http"`
	Disabled     bool              `toml:"disabled"`
}

// endpoint checks fe; errors never repeat a secret.
func (fe fileEndpoint) endpoint(getenv func(string) string, privateTenants []string) (Endpoint, error) {
	ep := Endpoint{ID: fe.ID, Tenant: or(fe.Tenant, DefaultTenant), URL: strings.TrimSpace(fe.URL), Description: fe.Description,
		Types: fe.Types, Headers: fe.Headers, RateLimit: fe.RateLimit, Concurrency: fe.Concurrency, Ordered: fe.Ordered,
		AllowPrivate: fe.AllowPrivate, AllowHTTP: fe.AllowHTTP, Disabled: fe.Disabled}
	if slices.Contains(privateTenants, ep.Tenant) {
		ep.AllowPrivate = true
	}
	if !events.ValidToken(ep.ID) {
		return ep, fmt.Errorf("id: letters, digits, '-' and '_' (1-64)")
	}
	if !events.ValidToken(ep.Tenant) {
		return ep, fmt.Errorf("tenant %q: letters, digits, '-' and '_'", ep.Tenant)
	}
	if err := webhook.CheckURL(ep.URL, ep.AllowHTTP, ep.AllowPrivate); err != nil {
		return ep, err
	}
	if err := webhook.CheckTypes(ep.Types); err != nil {
		return ep, err
	}
	if ep.Concurrency < 0 || ep.Concurrency > 256 || ep.RateLimit < 0 {
		return ep, fmt.Errorf("concurrency 0 to 256 and rate_limit not negative")
	}
	raw := fe.Secrets
	if fe.SecretsEnv != "" {
		v := getenv(fe.SecretsEnv)
		if v == "" {
			return ep, fmt.Errorf("secrets_env: %s is empty", fe.SecretsEnv)
		}
		raw = append(raw, strings.Split(v, ",")...)
	}
	for i, s := range raw {
		s = strings.TrimSpace(s)
		if webhook.IsSigningKey(s) {
			if _, err := webhook.PublicKeyOf(s); err != nil {
				return ep, fmt.Errorf("secret %d: not a whsk_ Ed25519 key", i+1)
			}
		} else if _, err := webhook.ParseSecret(s); err != nil {
			return ep, fmt.Errorf("secret %d: %w", i+1, err)
		}
		ep.Secrets = append(ep.Secrets, Secret(s))
	}
	if len(ep.Secrets) == 0 {
		return ep, fmt.Errorf("no secret: set secrets or secrets_env (a whsec_ value; qyshook endpoints add prints one, or make one with: echo whsec_$(head -c32 /dev/urandom | base64))")
	}
	return ep, nil
}

// maxScheduleLen bounds QYSHOOK_DELIVERY_SCHEDULE.
const maxScheduleLen = 100

func (e envReader) delivery() Delivery {
	d := Delivery{
		Timeout:          e.duration("DELIVERY_TIMEOUT"),
		DisableAfter:     e.duration("DELIVERY_DISABLE_AFTER"),
		AttemptRetention: e.duration("DELIVERY_ATTEMPT_RETENTION"),
	}
	for _, t := range strings.Split(e.str("DELIVERY_ALLOW_PRIVATE_TENANTS", ""), ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		if !events.ValidToken(t) {
			e.problem("DELIVERY_ALLOW_PRIVATE_TENANTS", "%q is not a tenant name", t)
		}
		d.AllowPrivateTenants = append(d.AllowPrivateTenants, t)
	}
	raw := e.str("DELIVERY_SCHEDULE", "")
	if raw == "" {
		d.Schedule = delivery.DefaultSchedule
		return d
	}
	for _, part := range strings.Split(raw, ",") {
		v, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil || v < 100*time.Millisecond || v > 168*time.Hour {
			e.problem("DELIVERY_SCHEDULE", "%q: want comma-separated durations of 100ms to 168h, such as 5s,1m,10m,1h", strings.TrimSpace(part))
			return d
		}
		d.Schedule = append(d.Schedule, v)
	}
	if len(d.Schedule) > maxScheduleLen {
		e.problem("DELIVERY_SCHEDULE", "%d delays: at most %d", len(d.Schedule), maxScheduleLen)
	}
	return d
}
