package webhook

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/qyshook/qyshook/backoff"
	"github.com/qyshook/qyshook/redact"
)

// MaxResponse bounds the response body kept from one attempt.
const MaxResponse = 1024

// UserAgent is sent with every delivery.
const UserAgent = "qyshook-webhooks/1"

// Message is one delivery to send: the fact (its id is webhook-id) to one
// URL, signed with every secret in Secrets.
type Message struct {
	URL     string
	Secrets []string
	// Headers are the endpoint's extra headers; they cannot replace the
	// webhook-* or Content-Type headers.
	Headers map[string]string
	ID      string
	Body    []byte
	// At is the webhook-timestamp (default now).
	At time.Time
}

// Result is what one attempt got.
type Result struct {
	// Status is the HTTP status (0 when no answer came).
	Status  int
	Latency time.Duration
	// Response is the start of the answer's body (MaxResponse bytes).
	Response string
	// RetryAfter is the answer's Retry-After (seconds or an HTTP date),
	// zero when absent or unreadable.
	RetryAfter time.Duration
	// Err is why no answer came (refused, timed out, refused address);
	// nil when one came, whatever its status.
	Err error
}

// OK reports a 2xx answer.
func (r Result) OK() bool { return r.Err == nil && r.Status >= 200 && r.Status < 300 }

// Sender sends messages over its own connection pool; give each endpoint
// its own so one cannot exhaust another's connections.
type Sender struct {
	client  *http.Client
	timeout time.Duration
	signer  signer
}

// NewSender returns a sender whose attempts last at most timeout, that
// refuses non-public addresses at connection time unless allowPrivate,
// and that never follows redirects (a 3xx is a failed attempt). It uses
// the proxy that HTTPS_PROXY, HTTP_PROXY and NO_PROXY name, as read now;
// through a proxy the target's resolved addresses are checked before
// sending (the proxy resolves the name again: a name that changes between
// the two lookups is the remaining DNS-rebinding gap).
func NewSender(timeout time.Duration, allowPrivate bool) *Sender {
	g := newProxyGuard(allowPrivate)
	tr := &http.Transport{
		Proxy:               g.proxy,
		DialContext:         dialer(allowPrivate, g.isProxy),
		MaxIdleConns:        64,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: timeout,
		ForceAttemptHTTP2:   true,
	}
	return &Sender{timeout: timeout, client: &http.Client{Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Close releases idle connections.
func (s *Sender) Close() { s.client.CloseIdleConnections() }

// Send makes one attempt.
func (s *Sender) Send(ctx context.Context, m Message) Result {
	at := m.At
	if at.IsZero() {
		at = time.Now()
	}
	sigs, err := s.signer.signatures(m.Secrets, m.ID, at.Unix(), m.Body)
	if err != nil {
		return Result{Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.URL, bytes.NewReader(m.Body))
	if err != nil {
		return Result{Err: redact.Error(err, m.URL)}
	}
	for k, v := range m.Headers {
		req.Header.Set(k, v)
	}
	// After the extra headers (canonical keys, as Set made theirs): these
	// replace any of them.
	req.Header["Webhook-Id"] = []string{m.ID}
	req.Header["Webhook-Timestamp"] = []string{strconv.FormatInt(at.Unix(), 10)}
	req.Header["Webhook-Signature"] = []string{sigs}
	req.Header["Content-Type"] = []string{"application/json"}
	req.Header["User-Agent"] = []string{UserAgent}
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return Result{Latency: time.Since(start), Err: redact.Error(err, m.URL)}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, MaxResponse))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // reuse the connection
	return Result{Status: resp.StatusCode, Latency: time.Since(start), Response: truncateUTF8(b),
		RetryAfter: backoff.RetryAfter(resp.Header.Get("Retry-After"), time.Now(), MaxRetryAfter)}
}

// MaxRetryAfter caps a Retry-After, in either form.
const MaxRetryAfter = 7 * 24 * time.Hour

func truncateUTF8(b []byte) string {
	for len(b) > 0 && !utf8.Valid(b) {
		b = b[:len(b)-1]
	}
	return string(b)
}
