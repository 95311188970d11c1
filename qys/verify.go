package qys

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Default timestamp window.
const (
	DefaultWindowPast   = 72 * time.Hour
	DefaultWindowFuture = 5 * time.Minute
)

// Format-B signature modes (VerifierConfig.SignatureB).
const (
	// SignatureNone ignores format B's signature field: its formula is not
	// published. Authenticity rests on the secret key decrypting the
	// envelope to a JSON object, and on confirming through the API.
	SignatureNone = "none"
	// SignatureMD5 checks format B's signature as MD5(timestamp + secret),
	// like format A (an assumption; see the package doc).
	SignatureMD5 = "md5"
)

// Window bounds the age of a callback's timestamp. Both edges are
// inclusive. Zero fields take the defaults.
type Window struct {
	Past   time.Duration // how old a timestamp may be; default 72 h (契约锁 retries for ~2 days)
	Future time.Duration // how far ahead (clock skew); default 5 min
}

// VerifierConfig configures the callback verification of one tenant.
type VerifierConfig struct {
	// Format is the wire format; empty means FormatA.
	Format Format
	// Secrets are the callback secrets (16 characters; format B uses the
	// first 16 bytes). Several are accepted during rotation; the first
	// one that verifies a callback sets Callback.SecretIndex.
	Secrets []string
	// Cipher is format A's content encryption (default CipherECB).
	Cipher Cipher
	// IV is format A's CBC IV (16 bytes), required with CipherCBC: no
	// public source gives the platform's IV, so there is no default.
	IV []byte
	// Token is format B's callback token: IV = SHA-256(Token)[:16].
	Token string
	// SignatureB is format B's signature mode: SignatureNone (default) or
	// SignatureMD5.
	SignatureB string
	// Window bounds the timestamp; zero fields take the defaults.
	Window Window
	// Policy is what is accepted per callback kind: signed and encrypted,
	// also plain, or also unsigned. Empty fields take DefaultPolicy(Format):
	// format A accepts the unsigned plain certification callbacks of the
	// public cloud's direct mode and keeps contract callbacks strict.
	Policy Policy
	// AllowUnsigned loosens every kind to AcceptUnsigned (the contract
	// route too). Kept for compatibility; prefer Policy.
	AllowUnsigned bool
	// AllowPlain loosens every kind to at least AcceptPlain. Kept for
	// compatibility; prefer Policy.
	AllowPlain bool
	// Now returns the current time (default time.Now); for tests.
	Now func() time.Time
}

// Verifier verifies and decodes the callbacks of one tenant. It is safe
// for concurrent use.
type Verifier struct {
	cfg VerifierConfig
}

// NewVerifier validates cfg and applies its defaults. Errors wrap
// ErrInvalidOption; secrets are never included in them.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	if cfg.Format == "" {
		cfg.Format = FormatA
	}
	if cfg.Cipher == "" {
		cfg.Cipher = CipherECB
	}
	if cfg.SignatureB == "" {
		cfg.SignatureB = SignatureNone
	}
	if cfg.Window.Past == 0 {
		cfg.Window.Past = DefaultWindowPast
	}
	if cfg.Window.Future == 0 {
		cfg.Window.Future = DefaultWindowFuture
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := cfg.Policy.validate(); err != nil {
		return nil, fmt.Errorf("%w: verifier: %w", ErrInvalidOption, err)
	}
	cfg.Policy = cfg.EffectivePolicy()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.Secrets = append([]string(nil), cfg.Secrets...)
	cfg.IV = append([]byte(nil), cfg.IV...)
	if len(cfg.IV) == 0 {
		cfg.IV = nil
	}
	return &Verifier{cfg: cfg}, nil
}

// EffectivePolicy is cfg.Policy with the format's defaults and the legacy
// AllowPlain and AllowUnsigned switches applied.
func (cfg VerifierConfig) EffectivePolicy() Policy {
	var floor Accept
	if cfg.AllowPlain {
		floor = AcceptPlain
	}
	if cfg.AllowUnsigned {
		floor = AcceptUnsigned
	}
	f := cfg.Format
	if f == "" {
		f = FormatA
	}
	return cfg.Policy.withDefaults(f, floor)
}

func (cfg *VerifierConfig) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: verifier: %s", ErrInvalidOption, fmt.Sprintf(format, a...))
	}
	if len(cfg.Secrets) == 0 && (cfg.Format == FormatB || !cfg.Policy.allUnsigned()) {
		return bad("no callback secret (only a tenant that accepts every kind unsigned can do without)")
	}
	if cfg.Window.Past < 0 || cfg.Window.Future < 0 {
		return bad("negative window")
	}
	switch cfg.Format {
	case FormatA:
		for i, s := range cfg.Secrets {
			if len(s) != 16 {
				return bad("secret %d must be 16 bytes (AES-128), got %d", i, len(s))
			}
		}
		if cfg.Cipher != CipherECB && cfg.Cipher != CipherCBC {
			return bad("unknown cipher %q", cfg.Cipher)
		}
		if len(cfg.IV) != 0 && len(cfg.IV) != 16 {
			return bad("IV must be 16 bytes, got %d", len(cfg.IV))
		}
		if cfg.Cipher == CipherCBC && len(cfg.IV) == 0 {
			return bad("AES_CBC needs an explicit IV: no public source gives the platform's IV")
		}
	case FormatB:
		for i, s := range cfg.Secrets {
			if len(s) < 16 {
				return bad("secret %d must be at least 16 bytes, got %d", i, len(s))
			}
		}
		if cfg.Token == "" {
			return bad("format B needs the callback token")
		}
		if cfg.SignatureB != SignatureNone && cfg.SignatureB != SignatureMD5 {
			return bad("unknown format-B signature mode %q", cfg.SignatureB)
		}
	default:
		return bad("unknown format %q", cfg.Format)
	}
	return nil
}

// Verify checks the signature and timestamp, decrypts and classifies one
// callback of the given kind. It returns ErrMissingSignature,
// ErrBadSignature or ErrStale (authenticity or freshness: answer 401), or
// an error wrapping ErrDecrypt, ErrMalformed or ErrMissingContract (answer
// 400). A missing or unparsable timestamp on a signed callback is ErrStale.
// For format B a known callbackType (USER_AUTH_*, COMPANY_AUTH_*,
// CONTRACT_*) selects Callback.Kind, since 契约锁 may use one URL for all.
// The notice kinds (NoticeKinds) follow the tenant's format, except the
// physical seal, which is always read as plain fields (verifyC).
func (v *Verifier) Verify(kind Kind, req RawRequest) (*Callback, error) {
	if kind != KindContract && kind != KindAuthPersonal && kind != KindAuthCompany && !kind.IsNotice() {
		return nil, fmt.Errorf("%w: unknown callback kind %q", ErrMalformed, truncate([]byte(kind), 32))
	}
	if len(req.Body) > MaxCallbackBody {
		return nil, fmt.Errorf("%w: body larger than %d bytes", ErrMalformed, MaxCallbackBody)
	}
	var cb *Callback
	var obj map[string]json.RawMessage
	var shape Accept
	var err error
	// The route's policy is applied before anything is decrypted, so an
	// unsigned callback refused here is never a decryption oracle.
	accept := v.cfg.Policy.For(kind)
	switch {
	case kind == KindPhysicalSeal:
		cb, obj, shape, err = v.verifyC(req, accept)
	case v.cfg.Format == FormatB:
		cb, obj, shape, err = v.verifyB(req, accept)
	default:
		cb, obj, shape, err = v.verifyA(req, accept)
	}
	if err != nil {
		return nil, err
	}
	cb.Raw = req
	if err := classify(cb, kind, obj); err != nil {
		return nil, err
	}
	// Format B names its kind inside the content: an unsigned callback on
	// a lenient route must not pass as a kind that requires a signature.
	if cb.Kind != kind && shape.rank() > v.cfg.Policy.For(cb.Kind).rank() {
		return nil, fmt.Errorf("%w: %s callbacks must be signed", ErrMissingSignature, cb.Kind)
	}
	return cb, nil
}

// Policy returns what the verifier accepts per kind, defaults applied.
func (v *Verifier) Policy() Policy { return v.cfg.Policy }

// Format returns the verifier's wire format.
func (v *Verifier) Format() Format { return v.cfg.Format }

// checkSignature compares sig (case-insensitively) with Sign(ts, secret)
// for every secret, in constant time per secret and without stopping at a
// match. It returns the index of the first secret that matched.
func (v *Verifier) checkSignature(sig, ts string) (int, error) {
	got := []byte(strings.ToLower(strings.TrimSpace(sig)))
	idx := -1
	for i, s := range v.cfg.Secrets {
		want := []byte(Sign(ts, s))
		if subtle.ConstantTimeCompare(got, want) == 1 && idx < 0 {
			idx = i
		}
	}
	if idx < 0 {
		return -1, ErrBadSignature
	}
	return idx, nil
}

// checkTime parses a 13-digit millisecond (or 10-digit second) timestamp
// and checks it against the window. Every failure is ErrStale.
func (v *Verifier) checkTime(ts string) (time.Time, error) {
	t, ok := parseTimestamp(ts)
	if !ok {
		return time.Time{}, fmt.Errorf("%w: missing or unparsable timestamp", ErrStale)
	}
	now := v.cfg.Now()
	if now.Sub(t) > v.cfg.Window.Past || t.Sub(now) > v.cfg.Window.Future {
		return time.Time{}, ErrStale
	}
	return t, nil
}

func parseTimestamp(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if len(s) != 10 && len(s) != 13 {
		return time.Time{}, false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return time.Time{}, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	if len(s) == 10 {
		return time.Unix(n, 0), true
	}
	return time.UnixMilli(n), true
}

// signedTime checks an optional signature and the timestamp: the steps
// both formats share. idx is -1 when the callback was unsigned.
func (v *Verifier) signedTime(accept Accept, sig, ts string) (idx int, t time.Time, err error) {
	if sig == "" {
		if accept != AcceptUnsigned {
			return -1, time.Time{}, ErrMissingSignature
		}
		if ts == "" {
			return -1, time.Time{}, nil
		}
		t, err = v.checkTime(ts)
		return -1, t, err
	}
	if idx, err = v.checkSignature(sig, ts); err != nil {
		return -1, time.Time{}, err
	}
	t, err = v.checkTime(ts)
	return idx, t, err
}

// open decrypts content with secret idx, or with each secret in turn when
// idx < 0, and returns the plaintext JSON object and the secret used.
func (v *Verifier) open(c Cipher, iv func(key string) []byte, key func(secret string) string, idx int, content string) ([]byte, map[string]json.RawMessage, int, error) {
	if len(content) > MaxContentSize {
		return nil, nil, -1, fmt.Errorf("%w: encrypted content longer than %d bytes", ErrMalformed, MaxContentSize)
	}
	var firstErr error
	for i, s := range v.cfg.Secrets {
		if idx >= 0 && i != idx {
			continue
		}
		k := key(s)
		pt, err := Decrypt(c, k, iv(k), content)
		if err == nil {
			var obj map[string]json.RawMessage
			if obj, err = decodeObject(pt); err == nil {
				return pt, obj, i, nil
			}
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr == nil {
		firstErr = fmt.Errorf("%w: no callback secret configured", ErrDecrypt)
	}
	return nil, nil, -1, firstErr
}
