package qys

// THIS FILE IS A PLACEHOLDER: it fixes the exported API so that packages
// written in parallel compile. The qys implementer replaces every function
// here with the real one (in client.go, sign.go, crypto.go, verify.go …)
// and deletes this file.

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"
)

var errUnimplemented = errors.New("qys: unimplemented")

// Client calls the 契约锁 open API.
type Client struct{}

// Option configures a Client.
type Option func(*Client) error

// NewClient returns a client for baseURL with the app's token and secret.
func NewClient(baseURL, appToken, appSecret string, opts ...Option) (*Client, error) {
	return nil, errUnimplemented
}

// WithHTTPClient sets the HTTP client (default: a client with sane timeouts).
func WithHTTPClient(hc *http.Client) Option { return nil }

// WithTimeout is the per-call timeout applied when ctx has no deadline.
func WithTimeout(d time.Duration) Option { return nil }

// WithPrivateCloud selects the private-cloud header family (x-qys-*) and
// paths without /v2.
func WithPrivateCloud() Option { return nil }

// WithRetries bounds the retries of idempotent GETs: at most n retries,
// exponential backoff from base, capped at max, with jitter.
func WithRetries(n int, base, max time.Duration) Option { return nil }

// WithNotFoundCodes replaces NotFoundCodes for this client.
func WithNotFoundCodes(codes ...int) Option { return nil }

// WithUserAgent appends to the User-Agent.
func WithUserAgent(ua string) Option { return nil }

// ContractDetail calls GET /v2/contract/detail.
func (c *Client) ContractDetail(ctx context.Context, q ContractQuery) (*Contract, error) {
	return nil, errUnimplemented
}

// ListContracts calls GET /v2/contract/list.
func (c *Client) ListContracts(ctx context.Context, q ListQuery) (*ContractPage, error) {
	return nil, errUnimplemented
}

// DownloadDocument calls GET /v2/document/download and streams the PDF.
func (c *Client) DownloadDocument(ctx context.Context, documentID string) (*Download, error) {
	return nil, errUnimplemented
}

// DownloadContract calls GET /v2/contract/download (zip bundle).
func (c *Client) DownloadContract(ctx context.Context, q ContractQuery, items ...string) (*Download, error) {
	return nil, errUnimplemented
}

// DownloadURLs calls GET /v2/contract/downloadurl.
func (c *Client) DownloadURLs(ctx context.Context, q ContractQuery, compress bool, items ...string) ([]DownloadURL, error) {
	return nil, errUnimplemented
}

// WriteDocument streams a document into w and returns the bytes written.
func (c *Client) WriteDocument(ctx context.Context, documentID string, w io.Writer) (int64, error) {
	return 0, errUnimplemented
}

// SignAPI returns the open-API header signature: lowercase hex
// MD5(token + secret + timestamp + nonce).
func SignAPI(token, secret, timestamp, nonce string) string { return "" }

// Sign returns a format-A callback signature: lowercase hex
// MD5(timestamp + secret).
func Sign(timestamp, secret string) string { return "" }

// Encrypt encrypts plaintext as a callback `content`: Base64 of AES-128
// with PKCS#7 padding, in ECB, or CBC with iv.
func Encrypt(cipher Cipher, key string, iv []byte, plaintext []byte) (string, error) {
	return "", errUnimplemented
}

// Decrypt reverses Encrypt. Errors wrap ErrDecrypt.
func Decrypt(cipher Cipher, key string, iv []byte, content string) ([]byte, error) {
	return nil, errUnimplemented
}

// TokenIV is format B's IV: the first 16 bytes of SHA-256(token).
func TokenIV(token string) []byte { return nil }

// Window bounds the age of a callback's timestamp.
type Window struct {
	Past   time.Duration // default 72 h
	Future time.Duration // default 5 min
}

// VerifierConfig configures the callback verification of one tenant.
type VerifierConfig struct {
	Format  Format
	Secrets []string // callback secrets (16 characters); several during rotation
	Cipher  Cipher   // format A encrypted content (default AES_ECB)
	IV      []byte   // format A CBC IV (see the package doc for the default)
	Token   string   // format B: IV = SHA-256(Token)[:16]
	Window  Window
	// AllowUnsigned accepts format-A callbacks that carry no signature
	// (encryption off). Off by default: unsigned callbacks are refused.
	AllowUnsigned bool
	Now           func() time.Time
}

// Verifier verifies and decodes the callbacks of one tenant.
type Verifier struct{}

// NewVerifier validates cfg.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) { return nil, errUnimplemented }

// Verify checks the signature and timestamp, decrypts and classifies.
func (v *Verifier) Verify(kind Kind, req RawRequest) (*Callback, error) {
	return nil, errUnimplemented
}

// Outgoing is a callback request built the way 契约锁 sends it.
type Outgoing struct {
	ContentType string
	Body        []byte
}

// SenderConfig configures how BuildCallback signs and encrypts.
type SenderConfig struct {
	Format  Format
	Secret  string
	Encrypt bool   // format A: content encrypted (true) or plain fields
	Cipher  Cipher // format A cipher (default AES_ECB)
	IV      []byte
	Token   string // format B
	// Unsigned omits signature and timestamp (format A plain mode).
	Unsigned bool
}

// BuildCallback encodes payload (a JSON object) as a callback request.
func BuildCallback(cfg SenderConfig, payload []byte, ts time.Time) (*Outgoing, error) {
	return nil, errUnimplemented
}
