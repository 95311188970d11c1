package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts every signing secret: the rest is the base64 of the
// HMAC key.
const SecretPrefix = "whsec_"

// secretBytes is the key length of a generated secret (the spec asks for
// 24 to 64 bytes).
const secretBytes = 32

// Sentinel errors of Verify and ParseSecret.
var (
	ErrBadSecret         = errors.New("webhook: secret is not whsec_ followed by base64 of 24 to 64 bytes")
	ErrMissingHeaders    = errors.New("webhook: webhook-id, webhook-timestamp or webhook-signature missing")
	ErrBadTimestamp      = errors.New("webhook: webhook-timestamp is not a number of seconds")
	ErrTimestampTooOld   = errors.New("webhook: webhook-timestamp too old")
	ErrTimestampTooNew   = errors.New("webhook: webhook-timestamp too new")
	ErrNoMatchingSigning = errors.New("webhook: no matching signature")
)

// Tolerance is how far webhook-timestamp may be from now in Verify.
const Tolerance = 5 * time.Minute

// NewSecret returns a fresh random secret, "whsec_" + base64 of 32 bytes.
func NewSecret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("webhook: new secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// ParseSecret returns the HMAC key of a secret: the base64 after
// "whsec_" (the prefix is optional, as in the reference libraries).
func ParseSecret(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(key) < 24 || len(key) > 64 {
		return nil, ErrBadSecret
	}
	return key, nil
}

// Sign returns the v1 signature ("v1," + base64 HMAC-SHA256 over
// "id.timestamp.body") of one message with one secret, or with a "whsk_"
// Ed25519 signing key the v1a signature ("v1a," + base64 Ed25519 over the
// same content).
func Sign(secret, id string, ts time.Time, body []byte) (string, error) {
	if IsSigningKey(secret) {
		return signAsymmetric(secret, id, ts.Unix(), body)
	}
	key, err := ParseSecret(secret)
	if err != nil {
		return "", err
	}
	return signKey(key, id, ts.Unix(), body), nil
}

func signKey(key []byte, id string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Headers returns the three Standard Webhooks headers of one message,
// signed with every secret given (space-separated signatures, as the
// spec allows during a rotation).
func Headers(secrets []string, id string, ts time.Time, body []byte) (http.Header, error) {
	if len(secrets) == 0 {
		return nil, ErrBadSecret
	}
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		sig, err := Sign(s, id, ts, body)
		if err != nil {
			return nil, err
		}
		sigs = append(sigs, sig)
	}
	h := http.Header{}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, strings.Join(sigs, " "))
	return h, nil
}

// Verify checks a received message against secret as a receiver would:
// the headers present, the timestamp within Tolerance of now, and one of
// the space-separated v1 signatures matching (compared in constant time);
// with a "whpk_" public key, one of the v1a signatures verifying.
func Verify(secret string, h http.Header, body []byte, now time.Time) error {
	var key []byte
	if !strings.HasPrefix(secret, PublicKeyPrefix) {
		var err error
		if key, err = ParseSecret(secret); err != nil {
			return err
		}
	}
	id, tsText, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || tsText == "" || sigs == "" {
		return ErrMissingHeaders
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil || ts < 0 || ts > math.MaxInt64/2 {
		return ErrBadTimestamp
	}
	switch d := now.Unix() - ts; {
	case d > int64(Tolerance/time.Second):
		return ErrTimestampTooOld
	case d < -int64(Tolerance/time.Second):
		return ErrTimestampTooNew
	}
	if key == nil {
		ok, err := verifyAsymmetric(secret, id, ts, body, sigs)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNoMatchingSigning
		}
		return nil
	}
	want := signKey(key, id, ts, body)
	for _, s := range strings.Fields(sigs) {
		if subtle.ConstantTimeCompare([]byte(s), []byte(want)) == 1 {
			return nil
		}
	}
	return ErrNoMatchingSigning
}
