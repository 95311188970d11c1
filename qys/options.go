package qys

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Client defaults.
const (
	// DefaultTimeout bounds a JSON call (retries included) when ctx has no
	// deadline, and the wait for a download's response headers.
	DefaultTimeout = 30 * time.Second
	// DefaultRetries is the number of retries after a failed attempt.
	DefaultRetries = 3
	// DefaultBackoffBase is the first backoff ceiling; it doubles per retry.
	DefaultBackoffBase = 200 * time.Millisecond
	// DefaultBackoffMax caps every backoff and every Retry-After wait.
	DefaultBackoffMax = 5 * time.Second
)

// Option configures a Client. Options validate their arguments; NewClient
// returns their errors, which wrap ErrInvalidOption.
type Option func(*Client) error

// WithHTTPClient sets the HTTP client. The default is a client without an
// overall timeout (so long downloads are not cut) whose transport has dial,
// TLS and response-header timeouts, and which drops the x-qys-* headers on
// redirects to another host. hc must not be nil.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return fmt.Errorf("%w: nil http client", ErrInvalidOption)
		}
		c.hc = hc
		return nil
	}
}

// WithTimeout is the per-call timeout applied when ctx has no deadline
// (default DefaultTimeout). For JSON calls it bounds the whole call,
// retries included. For downloads it bounds only the wait for the response
// headers: a long body is never cut by it (cancel ctx to stop one).
func WithTimeout(d time.Duration) Option {
	return func(c *Client) error {
		if d <= 0 {
			return fmt.Errorf("%w: timeout must be positive, got %s", ErrInvalidOption, d)
		}
		c.timeout = d
		return nil
	}
}

// WithPrivateCloud selects the private-cloud header family
// (x-qys-accesstoken, x-qys-timestamp, x-qys-nonce, x-qys-signature) and
// paths without the /v2 prefix (docs/qys-protocol.md §1.3).
func WithPrivateCloud() Option {
	return func(c *Client) error {
		c.private = true
		return nil
	}
}

// WithRetries bounds the retries of idempotent GETs: at most n retries
// (0 disables them), exponential backoff from base, capped at max, with
// full jitter. A Retry-After header is honoured, capped at max.
func WithRetries(n int, base, max time.Duration) Option {
	return func(c *Client) error {
		if n < 0 || base <= 0 || max < base {
			return fmt.Errorf("%w: retries need n >= 0 and 0 < base <= max (got %d, %s, %s)", ErrInvalidOption, n, base, max)
		}
		c.retries, c.backoffBase, c.backoffMax = n, base, max
		return nil
	}
}

// WithNotFoundCodes replaces NotFoundCodes for this client: the envelope
// codes whose *APIError matches ErrNotFound.
func WithNotFoundCodes(codes ...int) Option {
	return func(c *Client) error {
		c.notFound = append([]int{}, codes...)
		return nil
	}
}

// WithUserAgent appends ua to the User-Agent ("qyshook/<Version> ua").
func WithUserAgent(ua string) Option {
	return func(c *Client) error {
		if strings.TrimSpace(ua) == "" || strings.ContainsAny(ua, "\r\n") {
			return fmt.Errorf("%w: empty or multi-line user agent", ErrInvalidOption)
		}
		c.userAgent += " " + ua
		return nil
	}
}

// WithVersionHeader sends the optional `version` header with v on every
// request (the vendor SDKs send e.g. "GO-3.1.1"). By default it is not sent.
func WithVersionHeader(v string) Option {
	return func(c *Client) error {
		if strings.TrimSpace(v) == "" || strings.ContainsAny(v, "\r\n") {
			return fmt.Errorf("%w: empty or multi-line version header", ErrInvalidOption)
		}
		c.versionHeader = v
		return nil
	}
}

// Headers of the SaaS agent mode (the vendor Go SDK's commons/Constants.go
// AGENT_TOKEN and AGENT_SIGNATURE; docs/qys-protocol.md §1.2).
const (
	HeaderAgentToken     = "x-qys-open-agentaccesstoken"
	HeaderAgentSignature = "x-qys-open-agentsignature"
)

// WithAgent calls the open API in SaaS agent mode, as an integrator acting
// for other companies: every request carries x-qys-open-agentaccesstoken =
// agentToken and x-qys-open-agentsignature = SignAPI(agentToken,
// agentSecret, timestamp, nonce), beside the app pair when one is given
// (the vendor SDK's SaaSSdkClient). Public cloud only.
func WithAgent(agentToken, agentSecret string) Option {
	return func(c *Client) error {
		if agentToken == "" || agentSecret == "" {
			return fmt.Errorf("%w: empty agent token or secret", ErrInvalidOption)
		}
		if strings.ContainsAny(agentToken, "\r\n") {
			return fmt.Errorf("%w: agent token contains a line break", ErrInvalidOption)
		}
		c.agentToken, c.agentSecret = agentToken, agentSecret
		return nil
	}
}
