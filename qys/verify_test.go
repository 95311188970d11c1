package qys_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/qys"
)

const (
	secretA = "5f6db7ec8325aAGF"
	secretB = "Zq3k9vB2mX8wLp4T"
	tokenB  = "callback-token"
)

var now = time.Date(2024, 9, 11, 10, 0, 0, 0, time.UTC)

const contractPayload = `{"contractId":"3121362688614077231","callbackType":"SEAL","contractStatus":"SIGNING",` +
	`"tenantType":"COMPANY","tenantName":"某某科技有限公司","tenantId":"2422042838839468036",` +
	`"contact":"13800000000","businessData":"order-42","bizId":"b-1"}`

// MustRequest builds a callback with BuildCallback and returns it as the
// receiver would hand it to Verify.
func MustRequest(tb testing.TB, cfg qys.SenderConfig, payload string, ts time.Time) qys.RawRequest {
	tb.Helper()
	out, err := qys.BuildCallback(cfg, []byte(payload), ts)
	if err != nil {
		tb.Fatal(err)
	}
	return qys.RawRequest{Method: "POST", ContentType: out.ContentType, Query: url.Values{"company": {"A"}}, Body: out.Body}
}

// MustVerifier returns a verifier for cfg, with the test clock.
func MustVerifier(tb testing.TB, cfg qys.VerifierConfig) *qys.Verifier {
	tb.Helper()
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return now }
	}
	v, err := qys.NewVerifier(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

type verifyCase struct {
	verifier qys.VerifierConfig
	sender   qys.SenderConfig
	payload  string
	ts       time.Time
	kind     qys.Kind
	req      func(*qys.RawRequest)
	want     error
}

func baselineA() verifyCase {
	return verifyCase{
		verifier: qys.VerifierConfig{Format: qys.FormatA, Secrets: []string{secretA}, AllowPlain: true},
		sender:   qys.SenderConfig{Format: qys.FormatA, Secret: secretA, Encrypt: true},
		payload:  contractPayload,
		ts:       now.Add(-time.Minute),
		kind:     qys.KindContract,
	}
}

// formEdit rewrites one form field of the request body ("" deletes it).
func formEdit(key, value string) func(*qys.RawRequest) {
	return func(r *qys.RawRequest) {
		form, _ := url.ParseQuery(string(r.Body))
		if value == "" {
			form.Del(key)
		} else {
			form.Set(key, value)
		}
		r.Body = []byte(form.Encode())
	}
}

// moveToQuery moves form fields into the URL query.
func moveToQuery(keys ...string) func(*qys.RawRequest) {
	return func(r *qys.RawRequest) {
		form, _ := url.ParseQuery(string(r.Body))
		for _, k := range keys {
			r.Query.Set(k, form.Get(k))
			form.Del(k)
		}
		r.Body = []byte(form.Encode())
	}
}

func TestVerifyFormatA(t *testing.T) {
	for name, modify := range map[string]func(*verifyCase){
		"OK": func(*verifyCase) {},
		"OKPlainFields": func(c *verifyCase) {
			c.sender.Encrypt = false
		},
		"OKCBCGivenIV": func(c *verifyCase) {
			iv := []byte("fedcba9876543210")
			c.sender.Cipher, c.sender.IV = qys.CipherCBC, iv
			c.verifier.Cipher, c.verifier.IV = qys.CipherCBC, iv
		},
		"OKSignatureInQuery":  func(c *verifyCase) { c.req = moveToQuery("signature", "timestamp") },
		"OKUppercaseSig":      func(c *verifyCase) { c.req = upperSig },
		"OKSecondsTimestamp":  func(c *verifyCase) { c.req = secondsTimestamp },
		"OKWindowPastEdge":    func(c *verifyCase) { c.ts = now.Add(-qys.DefaultWindowPast) },
		"OKWindowFutureEdge":  func(c *verifyCase) { c.ts = now.Add(qys.DefaultWindowFuture) },
		"OKCustomWindow":      func(c *verifyCase) { c.ts, c.verifier.Window.Past = now.Add(-100*time.Hour), 101*time.Hour },
		"OKUnsignedAllowed":   func(c *verifyCase) { c.sender.Encrypt, c.sender.Unsigned, c.verifier.AllowUnsigned = false, true, true },
		"OKUnsignedEncrypted": func(c *verifyCase) { c.sender.Unsigned, c.verifier.AllowUnsigned = true, true },
		"ErrMissingSignature": func(c *verifyCase) { c.sender.Unsigned = true },
		"ErrMissingSignatureEmpty": func(c *verifyCase) {
			c.req = formEdit("signature", "")
			c.want = qys.ErrMissingSignature
		},
		"ErrBadSignature":         func(c *verifyCase) { c.req = formEdit("signature", strings.Repeat("0", 32)) },
		"ErrBadSignatureWrongKey": func(c *verifyCase) { c.sender.Secret = secretB },
		"ErrBadSignatureTampered": func(c *verifyCase) { c.req = formEdit("timestamp", "1726048800000") },
		"ErrStaleOld":             func(c *verifyCase) { c.ts = now.Add(-qys.DefaultWindowPast - time.Millisecond) },
		"ErrStaleFuture":          func(c *verifyCase) { c.ts = now.Add(qys.DefaultWindowFuture + time.Millisecond) },
		"ErrStaleUnparsable":      func(c *verifyCase) { c.req = resign("17260488x0000") },
		"ErrStaleMissing":         func(c *verifyCase) { c.req = resign("") },
		"ErrStaleShortWindow":     func(c *verifyCase) { c.ts, c.verifier.Window.Past = now.Add(-2*time.Minute), time.Minute },
		"ErrDecryptGarbage":       func(c *verifyCase) { c.req = formEdit("content", "AAAAAAAAAAAAAAAAAAAAAA==") },
		"ErrDecryptTruncated":     func(c *verifyCase) { c.req = truncContent },
		"ErrDecryptWrongCipher": func(c *verifyCase) {
			c.verifier.Cipher, c.verifier.IV = qys.CipherCBC, []byte("fedcba9876543210")
		},
		// CBC with a wrong IV garbles only the first block: the padding
		// still checks, so the result is "decrypted but not JSON".
		"ErrMalformedWrongIV": func(c *verifyCase) {
			c.sender.Cipher, c.sender.IV = qys.CipherCBC, []byte("0123456789abcdef")
			c.verifier.Cipher, c.verifier.IV = qys.CipherCBC, []byte("fedcba9876543210")
		},
		"ErrMalformedNotJSON":      func(c *verifyCase) { c.payload = `{"a":1}`; c.req = replaceContent("not json") },
		"ErrMalformedJSONArray":    func(c *verifyCase) { c.req = replaceContent(`[1,2]`) },
		"ErrMalformedNotUTF8":      func(c *verifyCase) { c.req = replaceContent("{\"a\":\"\xff\"}") },
		"ErrMalformedPlainUTF8":    func(c *verifyCase) { c.sender.Encrypt = false; c.req = appendRaw("&x=%ff") },
		"ErrMalformedBadForm":      func(c *verifyCase) { c.req = appendRaw("&x=%zz") },
		"ErrMalformedDupSignature": func(c *verifyCase) { c.req = appendRaw("&signature=abc") },
		"ErrMalformedQueryConflict": func(c *verifyCase) {
			c.req = func(r *qys.RawRequest) { r.Query.Set("signature", strings.Repeat("1", 32)) }
		},
		"ErrMalformedContentType": func(c *verifyCase) { c.req = func(r *qys.RawRequest) { r.ContentType = "image/png" } },
		"ErrMalformedKind":        func(c *verifyCase) { c.kind = "seal" },
		"ErrMissingContract":      func(c *verifyCase) { c.payload = `{"callbackType":"SEAL","contractStatus":"SIGNING"}` },
		"ErrMissingContractPlain": func(c *verifyCase) {
			c.sender.Encrypt, c.payload = false, `{"callbackType":"SEAL","contractId":""}`
		},
		"ErrMalformedPlainRefused": func(c *verifyCase) {
			// Encrypted tenant: plain fields under a copied signature are refused.
			c.verifier.AllowPlain, c.sender.Encrypt = false, false
		},
		"OKEncryptedWithoutAllowPlain": func(c *verifyCase) { c.verifier.AllowPlain = false },
		"ErrMissingRequestIDCompany": func(c *verifyCase) {
			c.kind, c.payload = qys.KindAuthCompany, `{"status":"1","actionEvent":"7"}`
		},
		"ErrMissingRequestIDPersonal": func(c *verifyCase) {
			c.kind, c.payload = qys.KindAuthPersonal, `{"status":"1","mode":"FACE","authId":"  "}`
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := baselineA()
			modify(&c)
			if c.want == nil && !strings.HasPrefix(name, "OK") {
				c.want = sentinelFor(name)
			}
			runVerifyCase(t, c)
		})
	}
}

func sentinelFor(name string) error {
	for _, s := range []struct {
		prefix string
		err    error
	}{
		{"ErrMissingSignature", qys.ErrMissingSignature}, {"ErrBadSignature", qys.ErrBadSignature},
		{"ErrStale", qys.ErrStale}, {"ErrDecrypt", qys.ErrDecrypt}, {"ErrMalformed", qys.ErrMalformed},
		{"ErrMissingContract", qys.ErrMissingContract}, {"ErrMissingRequestID", qys.ErrMissingRequestID},
	} {
		if strings.HasPrefix(name, s.prefix) {
			return s.err
		}
	}
	panic("no sentinel for " + name)
}

func runVerifyCase(t *testing.T, c verifyCase) *qys.Callback {
	t.Helper()
	req := MustRequest(t, c.sender, c.payload, c.ts)
	if c.req != nil {
		c.req(&req)
	}
	cb, err := MustVerifier(t, c.verifier).Verify(c.kind, req)
	if c.want != nil {
		if !errors.Is(err, c.want) {
			t.Fatalf("err = %v, want %v", err, c.want)
		}
		if cb != nil {
			t.Fatal("a callback came back with the error")
		}
		return nil
	}
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if c.kind == qys.KindContract && (cb.ContractID != "3121362688614077231" || cb.Raw.ContentType != req.ContentType) {
		t.Fatalf("callback = %+v", cb)
	}
	return cb
}

func upperSig(r *qys.RawRequest) {
	form, _ := url.ParseQuery(string(r.Body))
	form.Set("signature", strings.ToUpper(form.Get("signature")))
	r.Body = []byte(form.Encode())
}

func secondsTimestamp(r *qys.RawRequest) {
	form, _ := url.ParseQuery(string(r.Body))
	ts := form.Get("timestamp")[:10]
	form.Set("timestamp", ts)
	form.Set("signature", qys.Sign(ts, secretA))
	r.Body = []byte(form.Encode())
}

// resign replaces the timestamp and signs it correctly.
func resign(ts string) func(*qys.RawRequest) {
	return func(r *qys.RawRequest) {
		form, _ := url.ParseQuery(string(r.Body))
		form.Set("timestamp", ts)
		if ts == "" {
			form.Del("timestamp")
		}
		form.Set("signature", qys.Sign(ts, secretA))
		r.Body = []byte(form.Encode())
	}
}

func truncContent(r *qys.RawRequest) {
	form, _ := url.ParseQuery(string(r.Body))
	form.Set("content", form.Get("content")[:13])
	r.Body = []byte(form.Encode())
}

// replaceContent encrypts plaintext with the baseline key as content.
func replaceContent(plaintext string) func(*qys.RawRequest) {
	return func(r *qys.RawRequest) {
		enc, err := qys.Encrypt(qys.CipherECB, secretA, nil, []byte(plaintext))
		if err != nil {
			panic(err)
		}
		formEdit("content", enc)(r)
	}
}

func appendRaw(s string) func(*qys.RawRequest) {
	return func(r *qys.RawRequest) { r.Body = append(r.Body, s...) }
}

// TestUnsignedTenantWithoutSecret: a tenant that switched both signing and
// encryption off needs no secret, and still refuses encrypted content it
// cannot open.
func TestUnsignedTenantWithoutSecret(t *testing.T) {
	v, err := qys.NewVerifier(qys.VerifierConfig{AllowUnsigned: true})
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	out, err := qys.BuildCallback(qys.SenderConfig{Unsigned: true}, []byte(`{"contractId":"1","callbackType":"SEAL"}`), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	req := qys.RawRequest{Method: "POST", ContentType: out.ContentType, Body: out.Body}
	if cb, err := v.Verify(qys.KindContract, req); err != nil || cb.ContractID != "1" {
		t.Fatalf("unsigned plain callback: %+v, %v", cb, err)
	}
	if _, err := qys.NewVerifier(qys.VerifierConfig{}); err == nil {
		t.Fatal("a signed tenant without a secret was accepted")
	}
}
