package qys

import (
	"crypto/md5"
	"encoding/hex"
)

// SignAPI returns the open-API header signature: lowercase hex
// MD5(token + secret + timestamp + nonce), plain concatenation without
// separators (docs/qys-protocol.md §1.2). The private-cloud header family
// signs the same string (§1.3).
func SignAPI(token, secret, timestamp, nonce string) string {
	return md5Hex(token + secret + timestamp + nonce)
}

// Sign returns a format-A callback signature: lowercase hex
// MD5(timestamp + secret). The signature does not cover the payload.
func Sign(timestamp, secret string) string {
	return md5Hex(timestamp + secret)
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
