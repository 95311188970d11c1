package qys

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Outgoing is a callback request built the way 契约锁 sends it: POST it
// with this Content-Type and Body.
type Outgoing struct {
	ContentType string
	Body        []byte
}

// SenderConfig configures how BuildCallback signs and encrypts.
type SenderConfig struct {
	// Format is the wire format; empty means FormatA.
	Format Format
	// Secret is the callback secret: it signs, and it is the AES key
	// (format A: all 16 bytes; format B: the first 16 bytes).
	Secret string
	// Encrypt sends format A's payload as encrypted `content` (true) or
	// as plain form fields (false). Format B is always encrypted.
	Encrypt bool
	// Cipher is format A's cipher (default CipherECB).
	Cipher Cipher
	// IV is format A's CBC IV (16 bytes), required with CipherCBC.
	IV []byte
	// Token is format B's callback token (IV = SHA-256(Token)[:16]).
	Token string
	// Unsigned omits signature and timestamp (format A plain mode), or the
	// signature (format B).
	Unsigned bool
}

// BuildCallback encodes payload (a JSON object) as a callback request
// timestamped ts (sent in milliseconds). Format A is form-urlencoded:
// content + signature + timestamp, or the payload's members as plain
// fields (strings as such, other values as JSON text) plus signature and
// timestamp unless Unsigned. Format B is the JSON envelope {signature,
// timestamp, nonce, encrypted} with signature = Sign(timestamp, Secret).
func BuildCallback(cfg SenderConfig, payload []byte, ts time.Time) (*Outgoing, error) {
	obj, err := decodeObject(payload)
	if err != nil {
		return nil, fmt.Errorf("qys: build callback: payload: %w", err)
	}
	stamp := strconv.FormatInt(ts.UnixMilli(), 10)
	switch cfg.Format {
	case FormatA, "":
		return buildA(cfg, payload, obj, stamp)
	case FormatB:
		return buildB(cfg, payload, stamp)
	}
	return nil, fmt.Errorf("qys: build callback: unknown format %q", cfg.Format)
}

func buildA(cfg SenderConfig, payload []byte, obj map[string]json.RawMessage, stamp string) (*Outgoing, error) {
	form := url.Values{}
	if cfg.Encrypt {
		content, err := Encrypt(cfg.Cipher, cfg.Secret, cfg.IV, payload)
		if err != nil {
			return nil, fmt.Errorf("qys: build callback: %w", err)
		}
		form.Set(fieldContent, content)
	} else {
		for k, raw := range obj {
			if s, ok := scalar(raw); ok {
				form.Set(k, s)
			} else if s := str(obj, k); s != "" {
				form.Set(k, s)
			}
		}
	}
	if !cfg.Unsigned {
		if cfg.Secret == "" {
			return nil, fmt.Errorf("qys: build callback: a signed callback needs the secret")
		}
		form.Set(fieldSignature, Sign(stamp, cfg.Secret))
		form.Set(fieldTimestamp, stamp)
	}
	return &Outgoing{ContentType: "application/x-www-form-urlencoded", Body: []byte(form.Encode())}, nil
}

func buildB(cfg SenderConfig, payload []byte, stamp string) (*Outgoing, error) {
	if len(cfg.Secret) < 16 || cfg.Token == "" {
		return nil, fmt.Errorf("qys: build callback: format B needs a secret of at least 16 bytes and a token")
	}
	enc, err := Encrypt(CipherCBC, keyB(cfg.Secret), TokenIV(cfg.Token), payload)
	if err != nil {
		return nil, fmt.Errorf("qys: build callback: %w", err)
	}
	ms, _ := strconv.ParseInt(stamp, 10, 64)
	env := struct {
		Signature string `json:"signature,omitempty"`
		Timestamp int64  `json:"timestamp"`
		Nonce     string `json:"nonce"`
		Encrypted string `json:"encrypted"`
	}{Timestamp: ms, Nonce: uuid.NewString(), Encrypted: enc}
	if !cfg.Unsigned {
		env.Signature = Sign(stamp, cfg.Secret)
	}
	body, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("qys: build callback: %w", err)
	}
	return &Outgoing{ContentType: "application/json", Body: body}, nil
}
