package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"strconv"
	"sync"
)

// signer signs a Sender's messages: it keeps each HMAC secret's decoded
// key and a pool of keyed HMACs (reset, not rebuilt, per message), so a
// signature costs the hash and one string, not a base64 decode, two
// SHA-256 states and their buffers. Ed25519 keys are signed as Sign does.
type signer struct {
	mu   sync.Mutex
	keys map[string]*hmacKey
}

// hmacKey is one secret's key and its pool of HMACs keyed with it.
type hmacKey struct {
	pool sync.Pool // of *keyedHMAC
}

// keyedHMAC is one HMAC and a buffer for the "id.timestamp." prefix.
type keyedHMAC struct {
	h      hash.Hash
	prefix []byte
}

// maxSignerKeys bounds the secrets a signer keeps (an endpoint has a few:
// the current one and those still in their rotation overlap); past it the
// cache starts again.
const maxSignerKeys = 64

func (s *signer) key(secret string) (*hmacKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.keys[secret]; k != nil {
		return k, nil
	}
	key, err := ParseSecret(secret)
	if err != nil {
		return nil, err
	}
	k := &hmacKey{}
	k.pool.New = func() any { return &keyedHMAC{h: hmac.New(sha256.New, key)} }
	if s.keys == nil || len(s.keys) >= maxSignerKeys {
		s.keys = map[string]*hmacKey{}
	}
	s.keys[secret] = k
	return k, nil
}

// signatures returns the webhook-signature value of one message: the
// signatures with every secret, space-separated, as Headers makes them.
func (s *signer) signatures(secrets []string, id string, ts int64, body []byte) (string, error) {
	if len(secrets) == 0 {
		return "", ErrBadSecret
	}
	var tsBuf [20]byte
	tsText := strconv.AppendInt(tsBuf[:0], ts, 10)
	out := make([]byte, 0, len(secrets)*(3+base64.StdEncoding.EncodedLen(sha256.Size)+1))
	for i, secret := range secrets {
		if i > 0 {
			out = append(out, ' ')
		}
		if IsSigningKey(secret) {
			sig, err := signAsymmetric(secret, id, ts, body)
			if err != nil {
				return "", err
			}
			out = append(out, sig...)
			continue
		}
		k, err := s.key(secret)
		if err != nil {
			return "", err
		}
		m := k.pool.Get().(*keyedHMAC)
		m.h.Reset()
		m.prefix = append(append(append(append(m.prefix[:0], id...), '.'), tsText...), '.')
		_, _ = m.h.Write(m.prefix)
		_, _ = m.h.Write(body)
		var sum [sha256.Size]byte
		m.h.Sum(sum[:0])
		k.pool.Put(m)
		out = append(out, "v1,"...)
		out = base64.StdEncoding.AppendEncode(out, sum[:])
	}
	return string(out), nil
}
