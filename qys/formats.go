package qys

import (
	"encoding/json"
	"fmt"
	"time"
)

// Field names that carry authentication, not payload.
const (
	fieldSignature = "signature"
	fieldTimestamp = "timestamp"
	fieldContent   = "content"
	fieldNonce     = "nonce"
	fieldEncrypted = "encrypted"
)

// verifyA handles format A: form (or multipart, or JSON) fields, either
// plain or with `content` encrypted; signature and timestamp in the body
// or the URL query.
// accept is the route's policy; shape is what the callback turned out to
// be (AcceptEncrypted, AcceptPlain or AcceptUnsigned).
func (v *Verifier) verifyA(req RawRequest, accept Accept) (cb *Callback, obj map[string]json.RawMessage, shape Accept, err error) {
	f, err := parseFields(req)
	if err != nil {
		return nil, nil, "", err
	}
	sig, err := f.one(req.Query, fieldSignature)
	if err != nil {
		return nil, nil, "", err
	}
	ts, err := f.one(req.Query, fieldTimestamp)
	if err != nil {
		return nil, nil, "", err
	}
	content, err := f.one(nil, fieldContent)
	if err != nil {
		return nil, nil, "", err
	}
	idx, t, err := v.signedTime(accept, sig, ts)
	if err != nil {
		return nil, nil, "", err
	}
	shape = AcceptEncrypted
	if sig == "" {
		shape = AcceptUnsigned
	}
	cb = &Callback{Format: FormatA, Timestamp: t, SecretIndex: idx}
	if content != "" {
		pt, obj, used, err := v.open(v.cfg.Cipher, v.ivA, keyA, idx, content)
		if err != nil {
			return nil, nil, "", err
		}
		cb.Payload, cb.SecretIndex = pt, used
		return cb, obj, shape, nil
	}
	if accept.rank() < AcceptPlain.rank() {
		return nil, nil, "", fmt.Errorf("%w: plain fields without encrypted content (accept them only if encryption is off in 契约锁)", ErrMalformed)
	}
	if shape == AcceptEncrypted {
		shape = AcceptPlain
	}
	obj, err = f.plainPayload()
	if err != nil {
		return nil, nil, "", err
	}
	cb.Payload, err = json.Marshal(obj)
	if err != nil {
		return nil, nil, "", fmt.Errorf("%w: payload: %w", ErrMalformed, err)
	}
	return cb, obj, shape, nil
}

// plainPayload is the payload of an unencrypted callback: the JSON body's
// members, or the form fields as strings (first value of each), without
// signature and timestamp.
func (f *fields) plainPayload() (map[string]json.RawMessage, error) {
	obj := make(map[string]json.RawMessage, len(f.vals))
	if f.obj != nil {
		for k, raw := range f.obj {
			obj[k] = raw
		}
	} else {
		for k, vs := range f.vals {
			b, err := json.Marshal(vs[0])
			if err != nil {
				return nil, fmt.Errorf("%w: field %q: %w", ErrMalformed, truncate([]byte(k), 32), err)
			}
			obj[k] = b
		}
	}
	delete(obj, fieldSignature)
	delete(obj, fieldTimestamp)
	return obj, nil
}

func (v *Verifier) ivA(key string) []byte {
	if v.cfg.Cipher != CipherCBC {
		return nil
	}
	return v.cfg.IV // required with CBC (NewVerifier): never the key bytes
}

func keyA(secret string) string { return secret }

// keyB is format B's AES key: the first 16 bytes of the secret.
func keyB(secret string) string { return secret[:16] }

// verifyB handles format B: a JSON envelope {signature, timestamp, nonce,
// encrypted} with AES-CBC, key = secret[:16], IV = SHA-256(token)[:16].
func (v *Verifier) verifyB(req RawRequest, accept Accept) (*Callback, map[string]json.RawMessage, Accept, error) {
	env, err := decodeObject(req.Body)
	if err != nil {
		return nil, nil, "", err
	}
	f := &fields{vals: map[string][]string{}}
	for _, k := range []string{fieldSignature, fieldTimestamp, fieldEncrypted} {
		if s := str(env, k); s != "" {
			f.vals[k] = []string{s}
		}
	}
	ts, err := f.one(req.Query, fieldTimestamp)
	if err != nil {
		return nil, nil, "", err
	}
	idx := -1
	var t time.Time
	shape := AcceptEncrypted
	if v.cfg.SignatureB == SignatureMD5 {
		sig, err := f.one(req.Query, fieldSignature)
		if err != nil {
			return nil, nil, "", err
		}
		if idx, t, err = v.signedTime(accept, sig, ts); err != nil {
			return nil, nil, "", err
		}
		if sig == "" {
			shape = AcceptUnsigned
		}
	} else if ts == "" && accept == AcceptUnsigned {
		shape = AcceptUnsigned
	} else {
		if t, err = v.checkTime(ts); err != nil {
			return nil, nil, "", err
		}
	}
	enc := str(env, fieldEncrypted)
	if enc == "" {
		return nil, nil, "", fmt.Errorf("%w: format B without %q", ErrMalformed, fieldEncrypted)
	}
	iv := TokenIV(v.cfg.Token)
	pt, obj, used, err := v.open(CipherCBC, func(string) []byte { return iv }, keyB, idx, enc)
	if err != nil {
		return nil, nil, "", err
	}
	// Without a signature the envelope's timestamp proves nothing (anyone
	// can rewrite it): the encrypted callbackTime must be fresh too.
	if ct := str(obj, "callbackTime"); ct != "" && v.cfg.SignatureB != SignatureMD5 {
		if _, err := v.checkTime(ct); err != nil {
			return nil, nil, "", err
		}
	}
	return &Callback{Format: FormatB, Timestamp: t, SecretIndex: used, Payload: pt}, obj, shape, nil
}
