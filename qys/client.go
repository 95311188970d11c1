package qys

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Version is sent in the User-Agent ("qyshook/<Version>"). The build sets
// it with -ldflags "-X github.com/qyshook/qyshook/qys.Version=…".
var Version = "dev"

// Client calls the 契约锁 open API. Every call is an idempotent GET, signed
// with fresh x-qys-open-* headers per attempt, and retried on network
// errors, 5xx and rate limiting. A Client is safe for concurrent use.
type Client struct {
	base   *url.URL
	token  string
	secret string
	// agentToken and agentSecret sign in SaaS agent mode (WithAgent).
	agentToken  string
	agentSecret string

	hc            *http.Client
	timeout       time.Duration
	private       bool
	retries       int
	backoffBase   time.Duration
	backoffMax    time.Duration
	notFound      []int
	userAgent     string
	versionHeader string
	saas          *saasPaths // evidence.go: WithSaaSAuthPaths
	authShape     string     // authresult.go: WithAuthResultShape ("" = auto)
	oplogPath     string     // oplog.go: WithOperationLogPath; "" = the stream path
	budget        *Budget    // budget.go: WithBudget; nil = none

	now   func() time.Time
	nonce func() string
}

// NewClient returns a client for baseURL (e.g. https://openapi.qiyuesuo.cn,
// or a private-cloud host such as http://host:9182) with the app's token
// and secret. With WithAgent the app's token and secret may be empty (an
// integrator calling as itself); set, they are sent too (acting for a
// sub-account), as the vendor SDK's SaaS client does. Errors wrap
// ErrInvalidOption.
func NewClient(baseURL, appToken, appSecret string, opts ...Option) (*Client, error) {
	if strings.TrimSpace(baseURL) == "" {
		return nil, fmt.Errorf("%w: empty base URL", ErrInvalidOption)
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("%w: base URL: %w", ErrInvalidOption, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("%w: base URL must be http(s)://host[:port][/path] without query or credentials", ErrInvalidOption)
	}
	if (appToken == "") != (appSecret == "") {
		return nil, fmt.Errorf("%w: app token and app secret go together", ErrInvalidOption)
	}
	if strings.ContainsAny(appToken, "\r\n") {
		return nil, fmt.Errorf("%w: app token contains a line break", ErrInvalidOption)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	c := &Client{
		base:        u,
		token:       appToken,
		secret:      appSecret,
		timeout:     DefaultTimeout,
		retries:     DefaultRetries,
		backoffBase: DefaultBackoffBase,
		backoffMax:  DefaultBackoffMax,
		userAgent:   "qyshook/" + Version,
		now:         time.Now,
		nonce:       uuid.NewString,
	}
	for _, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("%w: nil option", ErrInvalidOption)
		}
		if err := opt(c); err != nil {
			return nil, err
		}
	}
	if appToken == "" && c.agentToken == "" {
		return nil, fmt.Errorf("%w: empty app token or secret", ErrInvalidOption)
	}
	if c.agentToken != "" && c.private {
		return nil, fmt.Errorf("%w: agent mode is a public-cloud (SaaS) feature; the private-cloud headers have no agent pair", ErrInvalidOption)
	}
	if c.hc == nil {
		c.hc = defaultHTTPClient(c.timeout)
	}
	return c, nil
}

func defaultHTTPClient(headerTimeout time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          20,
		MaxIdleConnsPerHost:   10,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: headerTimeout,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: tr, CheckRedirect: stripAuthOnRedirect}
}

// stripAuthOnRedirect keeps the app token from following a redirect to
// another host or to another scheme (https → http would send it in clear).
func stripAuthOnRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return fmt.Errorf("qys: stopped after %d redirects", len(via))
	}
	if req.URL.Host != via[0].URL.Host || req.URL.Scheme != via[0].URL.Scheme {
		for k := range req.Header {
			if strings.HasPrefix(strings.ToLower(k), "x-qys-") {
				req.Header.Del(k)
			}
		}
	}
	return nil
}

// apiPath maps a public-cloud path (/v2/...) to this client's deployment.
func (c *Client) apiPath(p string) string {
	if c.private {
		return strings.TrimPrefix(p, "/v2")
	}
	return p
}

// newRequest builds one signed GET; a fresh timestamp and nonce per attempt.
func (c *Client) newRequest(ctx context.Context, path string, q url.Values, accept string) (*http.Request, error) {
	u := *c.base
	u.Path = c.base.Path + path
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("qys: %s: build request: %w", path, err)
	}
	ts := strconv.FormatInt(c.now().UnixMilli(), 10)
	nonce := c.nonce()
	prefix := "x-qys-open-"
	if c.private {
		prefix = "x-qys-"
	}
	h := req.Header
	if c.token != "" {
		h.Set(prefix+"accesstoken", c.token)
		h.Set(prefix+"signature", SignAPI(c.token, c.secret, ts, nonce))
	}
	h.Set(prefix+"timestamp", ts)
	h.Set(prefix+"nonce", nonce)
	if c.agentToken != "" {
		h.Set(HeaderAgentToken, c.agentToken)
		h.Set(HeaderAgentSignature, SignAPI(c.agentToken, c.agentSecret, ts, nonce))
	}
	if c.versionHeader != "" {
		h.Set("version", c.versionHeader)
	}
	h.Set("User-Agent", c.userAgent)
	h.Set("Accept", accept)
	return req, nil
}

// withDefaultTimeout applies c.timeout when ctx has no deadline.
func (c *Client) withDefaultTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.timeout)
}
