package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	_ "crypto/sha256" // the default imprint hash
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"time"

	"github.com/digitorus/timestamp"

	"github.com/qyshook/qyshook/redact"
)

// Content types of RFC 3161 over HTTP (RFC 3161 §3.4).
const (
	RequestType = "application/timestamp-query"
	ReplyType   = "application/timestamp-reply"
)

// Defaults of Options.
const (
	DefaultTimeout = 10 * time.Second
	// MaxReply bounds an authority's answer.
	MaxReply = 1 << 20
)

// Errors callers branch on.
var (
	// ErrRefused: the authority answered, but not with a granted token
	// (an HTTP error status, or a TimeStampResp whose status is not
	// granted).
	ErrRefused = errors.New("tsa: refused")
	// ErrBadAnswer: the answer is not a valid token for the request (wrong
	// imprint, nonce or hash, a bad signature, not DER).
	ErrBadAnswer = errors.New("tsa: bad answer")
	// ErrBadToken: Verify found the token invalid for the data.
	ErrBadToken = errors.New("tsa: token does not verify")
)

// Options configure a Client.
type Options struct {
	// URLs are the authorities to ask (at least one, http or https).
	URLs []string
	// HTTPClient sends the requests (default a client of its own).
	HTTPClient *http.Client
	// Timeout bounds one request when its context has no earlier deadline
	// (default DefaultTimeout).
	Timeout time.Duration
	// Hash is the imprint's hash (default SHA-256).
	Hash crypto.Hash
	// Roots, when set, are the pinned roots every answer's chain must
	// reach; otherwise the answer's own certificates are used.
	Roots *x509.CertPool
}

// Client asks time-stamping authorities. It is safe for concurrent use.
type Client struct {
	o Options
}

// New checks o and returns a client.
func New(o Options) (*Client, error) {
	if len(o.URLs) == 0 {
		return nil, errors.New("tsa: no authority URL")
	}
	for _, s := range o.URLs {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("tsa: authority URL %q: want http(s)://host/…", s)
		}
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Hash == 0 {
		o.Hash = crypto.SHA256
	}
	if !o.Hash.Available() {
		return nil, fmt.Errorf("tsa: hash %v is not available", o.Hash)
	}
	o.URLs = append([]string(nil), o.URLs...)
	return &Client{o: o}, nil
}

// URLs returns the authorities, in the order configured.
func (c *Client) URLs() []string { return append([]string(nil), c.o.URLs...) }

// Stamp is one authority's token for some data.
type Stamp struct {
	URL string
	// Token is the TimeStampToken (a CMS SignedData, DER), as stored.
	Token []byte
	// Certs are the certificates the token carries (DER), the signer's
	// first when it is among them.
	Certs [][]byte
	// Time is the authority's genTime.
	Time time.Time
	// Serial is the token's serial number (decimal).
	Serial string
}

// Stamp asks the authority at authority (one of the client's URLs, or any
// other) for a token over data, and checks the answer.
func (c *Client) Stamp(ctx context.Context, authority string, data []byte) (Stamp, error) {
	h := c.o.Hash.New()
	h.Write(data)
	digest := h.Sum(nil)
	nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return Stamp{}, fmt.Errorf("tsa: nonce: %w", err)
	}
	req, err := (&timestamp.Request{HashAlgorithm: c.o.Hash, HashedMessage: digest, Nonce: nonce, Certificates: true}).Marshal()
	if err != nil {
		return Stamp{}, fmt.Errorf("tsa: request: %w", err)
	}
	body, err := c.post(ctx, authority, req)
	if err != nil {
		return Stamp{}, err
	}
	authority = redact.URL(authority) // errors name it without credentials
	ts, err := timestamp.ParseResponse(body)
	if err != nil {
		if isStatusError(body) {
			return Stamp{}, fmt.Errorf("%w: %s: %v", ErrRefused, authority, err)
		}
		return Stamp{}, fmt.Errorf("%w: %s: %v", ErrBadAnswer, authority, err)
	}
	if ts.Nonce == nil || ts.Nonce.Cmp(nonce) != 0 {
		return Stamp{}, fmt.Errorf("%w: %s: the nonce is not the request's", ErrBadAnswer, authority)
	}
	if ts.HashAlgorithm != c.o.Hash || !bytes.Equal(ts.HashedMessage, digest) {
		return Stamp{}, fmt.Errorf("%w: %s: the message imprint is not the request's", ErrBadAnswer, authority)
	}
	v, err := Verify(ts.RawToken, data, c.o.Roots, nil)
	if err != nil {
		return Stamp{}, fmt.Errorf("%w: %s: %v", ErrBadAnswer, authority, err)
	}
	st := Stamp{URL: authority, Token: ts.RawToken, Time: ts.Time, Serial: v.Serial}
	for _, cert := range v.Chain {
		st.Certs = append(st.Certs, cert.Raw)
	}
	return st, nil
}

// post sends the request and returns the 200 answer's body.
func (c *Client) post(ctx context.Context, authority string, req []byte) ([]byte, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.o.Timeout)
		defer cancel()
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, authority, bytes.NewReader(req))
	raw, authority := authority, redact.URL(authority) // errors name it without credentials
	if err != nil {
		return nil, fmt.Errorf("tsa: %s: %w", authority, redact.Error(err, raw))
	}
	r.Header.Set("Content-Type", RequestType)
	r.Header.Set("Accept", ReplyType)
	resp, err := c.o.HTTPClient.Do(r)
	if err != nil { // a *url.Error names the URL whole
		return nil, fmt.Errorf("tsa: %s: %w", authority, redact.Error(err, raw))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxReply+1))
	if err != nil {
		return nil, fmt.Errorf("tsa: %s: read answer: %w", authority, redact.Error(err, raw))
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s: HTTP %d", ErrRefused, authority, resp.StatusCode)
	}
	if len(body) > MaxReply {
		return nil, fmt.Errorf("%w: %s: answer over %d bytes", ErrBadAnswer, authority, MaxReply)
	}
	return body, nil
}
