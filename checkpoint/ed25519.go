package checkpoint

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
)

// algEd25519 is the note key algorithm byte of an Ed25519 key.
const algEd25519 = 1

// ed25519Public returns the public key of a note private key's base64
// part (the algorithm byte, then the 32-byte seed).
func ed25519Public(b64 string) (ed25519.PublicKey, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != algEd25519 {
		return nil, errors.New("not an Ed25519 note private key")
	}
	return ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey), nil
}
