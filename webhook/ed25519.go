package webhook

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// Asymmetric signing (the specification's v1a): an endpoint signed with an
// Ed25519 key, whose receivers verify with the public key alone.
const (
	// SigningKeyPrefix starts an Ed25519 private key (base64 of its 64
	// bytes): a secret of this form signs v1a.
	SigningKeyPrefix = "whsk_"
	// PublicKeyPrefix starts the matching public key (base64 of 32 bytes),
	// which receivers verify with.
	PublicKeyPrefix = "whpk_"
)

// NewSigningKey returns a fresh Ed25519 key pair as "whsk_…" (kept by
// qyshook, signs) and "whpk_…" (given to receivers).
func NewSigningKey() (secretKey, publicKey string, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("webhook: new signing key: %w", err)
	}
	return SigningKeyPrefix + base64.StdEncoding.EncodeToString(priv), PublicKeyPrefix + base64.StdEncoding.EncodeToString(pub), nil
}

// IsSigningKey reports whether secret is an Ed25519 signing key (v1a).
func IsSigningKey(secret string) bool { return strings.HasPrefix(secret, SigningKeyPrefix) }

// PublicKeyOf returns the "whpk_…" public key of a "whsk_…" signing key.
func PublicKeyOf(secretKey string) (string, error) {
	priv, err := parseSigningKey(secretKey)
	if err != nil {
		return "", err
	}
	return PublicKeyPrefix + base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey)), nil
}

func parseSigningKey(s string) (ed25519.PrivateKey, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, SigningKeyPrefix))
	if err != nil || len(b) != ed25519.PrivateKeySize {
		return nil, ErrBadSecret
	}
	return ed25519.PrivateKey(b), nil
}

func signAsymmetric(secretKey, id string, ts int64, body []byte) (string, error) {
	priv, err := parseSigningKey(secretKey)
	if err != nil {
		return "", err
	}
	return "v1a," + base64.StdEncoding.EncodeToString(ed25519.Sign(priv, signedContent(id, ts, body))), nil
}

func signedContent(id string, ts int64, body []byte) []byte {
	b := make([]byte, 0, len(id)+len(body)+24)
	b = append(b, id...)
	b = append(b, '.')
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, '.')
	return append(b, body...)
}

// verifyAsymmetric reports whether one of the v1a signatures verifies
// with the "whpk_…" public key.
func verifyAsymmetric(publicKey, id string, ts int64, body []byte, sigs string) (bool, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(publicKey, PublicKeyPrefix))
	if err != nil || len(b) != ed25519.PublicKeySize {
		return false, ErrBadSecret
	}
	msg := signedContent(id, ts, body)
	for _, s := range strings.Fields(sigs) {
		v, sig, ok := strings.Cut(s, ",")
		if !ok || v != "v1a" {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && ed25519.Verify(ed25519.PublicKey(b), msg, raw) {
			return true, nil
		}
	}
	return false, nil
}
