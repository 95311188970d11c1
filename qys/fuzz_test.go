package qys

import (
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// The fuzz targets cover every decoder of untrusted input. Seeds live in
// testdata/fuzz/<FuzzName>/ as well as in the f.Add calls.

const fuzzKey = "5f6db7ec8325aAGF"

var fuzzNow = time.UnixMilli(1726020000000)

func verifySentinel(t *testing.T, cb *Callback, err error) {
	t.Helper()
	if err == nil {
		if cb == nil {
			t.Fatal("nil callback without error")
		}
		return
	}
	for _, s := range []error{ErrMissingSignature, ErrBadSignature, ErrStale, ErrDecrypt, ErrMalformed, ErrMissingContract, ErrMissingRequestID} {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("error wraps no sentinel: %v", err)
}

func FuzzDecrypt(f *testing.F) {
	f.Add("UoYYii0CN0bJyDcdkgf/iA==", false)
	f.Add("UoYYii0CN0bJyDcdkgf/iA", true)
	f.Add("AAAAAAAAAAAAAAAAAAAAAA==", false)
	f.Add("", true)
	f.Add("====", false)
	f.Fuzz(func(t *testing.T, content string, cbc bool) {
		c, iv := CipherECB, []byte(nil)
		if cbc {
			c, iv = CipherCBC, []byte(fuzzKey) // CBC has no default IV
		}
		pt, err := Decrypt(c, fuzzKey, iv, content)
		if err != nil {
			if !errors.Is(err, ErrDecrypt) || pt != nil {
				t.Fatalf("Decrypt error %v does not wrap ErrDecrypt", err)
			}
			return
		}
		if len(pt) > len(content) {
			t.Fatalf("plaintext of %d bytes from %d bytes of Base64", len(pt), len(content))
		}
	})
}

func fuzzVerifier(t *testing.T, cfg VerifierConfig) *Verifier {
	cfg.Now = func() time.Time { return fuzzNow }
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func FuzzVerifyFormA(f *testing.F) {
	ts := strconv.FormatInt(fuzzNow.UnixMilli(), 10)
	sig := Sign(ts, fuzzKey)
	content, _ := Encrypt(CipherECB, fuzzKey, nil, []byte(`{"contractId":"1","callbackType":"SEAL"}`))
	f.Add([]byte(url.Values{"content": {content}, "signature": {sig}, "timestamp": {ts}}.Encode()), "application/x-www-form-urlencoded", false)
	f.Add([]byte("contractId=1&callbackType=COMPLETE&signature="+sig+"&timestamp="+ts), "", false)
	f.Add([]byte("requestId=1&status=1"), "application/x-www-form-urlencoded", true)
	f.Add([]byte(`{"content":"`+content+`","signature":"`+sig+`","timestamp":`+ts+`}`), "application/json", false)
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"signature\"\r\n\r\n"+sig+"\r\n--b--\r\n"), "multipart/form-data; boundary=b", false)
	f.Fuzz(func(t *testing.T, body []byte, contentType string, unsigned bool) {
		v := fuzzVerifier(t, VerifierConfig{Secrets: []string{fuzzKey}, AllowUnsigned: unsigned})
		for _, kind := range []Kind{KindContract, KindAuthCompany, KindAuthPersonal} {
			cb, err := v.Verify(kind, RawRequest{ContentType: contentType, Body: body})
			verifySentinel(t, cb, err)
		}
	})
}

// FuzzVerifyPayload encrypts and signs arbitrary plaintext correctly, so
// the fuzzer reaches payload decoding and classification.
func FuzzVerifyPayload(f *testing.F) {
	f.Add([]byte(`{"contractId":12345678901234567890,"signatoryInfo":"{\"tenantName\":1}"}`))
	f.Add([]byte(`{"requestId":"r","status":"1","authInfo":"{\"name\":\"n\"}"}`))
	f.Add([]byte(`{"contractId":{"a":1}}`))
	f.Add([]byte("{\"a\":\"\xff\"}"))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		ts := strconv.FormatInt(fuzzNow.UnixMilli(), 10)
		content, err := Encrypt(CipherECB, fuzzKey, nil, payload)
		if err != nil {
			t.Fatal(err)
		}
		body := url.Values{"content": {content}, "signature": {Sign(ts, fuzzKey)}, "timestamp": {ts}}.Encode()
		v := fuzzVerifier(t, VerifierConfig{Secrets: []string{fuzzKey}})
		for _, kind := range []Kind{KindContract, KindAuthCompany, KindAuthPersonal} {
			cb, err := v.Verify(kind, RawRequest{ContentType: "application/x-www-form-urlencoded", Body: []byte(body)})
			verifySentinel(t, cb, err)
		}
	})
}

func FuzzVerifyFormB(f *testing.F) {
	token := "callback-token"
	ts := fuzzNow.UnixMilli()
	enc, _ := Encrypt(CipherCBC, fuzzKey, TokenIV(token), []byte(`{"callbackType":"CONTRACT_SIGN","contractId":1}`))
	f.Add([]byte(`{"signature":"x","timestamp":`+strconv.FormatInt(ts, 10)+`,"nonce":"n","encrypted":"`+enc+`"}`), false)
	f.Add([]byte(`{"timestamp":"`+strconv.FormatInt(ts, 10)+`","encrypted":"`+enc+`"}`), true)
	f.Add([]byte(`{"timestamp":1e400,"encrypted":{}}`), false)
	f.Add([]byte(`[]`), true)
	f.Fuzz(func(t *testing.T, body []byte, md5 bool) {
		mode := SignatureNone
		if md5 {
			mode = SignatureMD5
		}
		v := fuzzVerifier(t, VerifierConfig{Format: FormatB, Secrets: []string{fuzzKey}, Token: token, SignatureB: mode})
		cb, err := v.Verify(KindContract, RawRequest{ContentType: "application/json", Body: body})
		verifySentinel(t, cb, err)
	})
}

func FuzzIDUnmarshal(f *testing.F) {
	for _, s := range []string{`"3121362688614077231"`, `3121362688614077231`, `null`, `1e3`, `-0`, `{}`, `"\u00e9"`, `[`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var id ID
		if err := id.UnmarshalJSON(b); err == nil && json.Valid(b) {
			out, err := json.Marshal(id)
			if err != nil {
				t.Fatal(err)
			}
			var back ID
			if err := json.Unmarshal(out, &back); err != nil || back != id {
				t.Fatalf("round trip %q → %q", id, back)
			}
		}
		var d Document
		_ = json.Unmarshal(append(append([]byte(`{"id":`), b...), '}'), &d)
	})
}

func FuzzEnvelope(f *testing.F) {
	for _, s := range []string{
		`{"code":0,"message":"SUCCESS","result":{"id":"1","status":"COMPLETE"}}`,
		`{"code":"0","contract":{"id":1}}`,
		`{"responseCode":"00000000","result":null}`,
		`{"message":"INVALID TOKEN","code":442,"responseCode":"11990442"}`,
		`{"code":1.5,"responseCode":11990006,"message":{"x":1}}`,
		`{"code":"99999999999999999999"}`,
		`not json`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := decodeEnvelope(b)
		if err != nil {
			return
		}
		_ = env.success()
		_ = env.hasCode()
		c := &Client{}
		e := c.apiError("/v2/contract/detail", 200, env)
		_ = e.Error()
		_ = e.Temporary()
		var ct Contract
		_ = json.Unmarshal(env.Result, &ct)
		var page struct {
			TotalCount flexInt           `json:"totalCount"`
			List       []ContractSummary `json:"list"`
		}
		_ = json.Unmarshal(env.Result, &page)
	})
}

// FuzzVerifyPolicy: whatever the body and the per-kind policy, a callback
// accepted for a kind has a shape that kind's policy accepts.
func FuzzVerifyPolicy(f *testing.F) {
	ts := strconv.FormatInt(fuzzNow.UnixMilli(), 10)
	sig := Sign(ts, fuzzKey)
	content, _ := Encrypt(CipherECB, fuzzKey, nil, []byte(`{"contractId":"1","requestId":"r","authId":"a","status":"1"}`))
	f.Add([]byte(url.Values{"content": {content}, "signature": {sig}, "timestamp": {ts}}.Encode()), uint8(0), uint8(2), uint8(2))
	f.Add([]byte("contractId=1&requestId=r&authId=a&status=1&signature="+sig+"&timestamp="+ts), uint8(1), uint8(0), uint8(1))
	f.Add([]byte("contractId=1&requestId=r&authId=a&status=1"), uint8(2), uint8(1), uint8(2))
	f.Add([]byte(url.Values{"content": {content}}.Encode()), uint8(0), uint8(2), uint8(0))
	levels := []Accept{AcceptEncrypted, AcceptPlain, AcceptUnsigned}
	f.Fuzz(func(t *testing.T, body []byte, c, p, co uint8) {
		pol := Policy{Contract: levels[int(c)%3], AuthPersonal: levels[int(p)%3], AuthCompany: levels[int(co)%3]}
		v := fuzzVerifier(t, VerifierConfig{Secrets: []string{fuzzKey}, Policy: pol})
		req := RawRequest{ContentType: "application/x-www-form-urlencoded", Body: body}
		for _, kind := range []Kind{KindContract, KindAuthCompany, KindAuthPersonal} {
			cb, err := v.Verify(kind, req)
			verifySentinel(t, cb, err)
			if err != nil {
				continue
			}
			if cb.SecretIndex < 0 && pol.For(kind) != AcceptUnsigned {
				t.Fatalf("unsigned %s callback accepted under %s", kind, pol.For(kind))
			}
			if f, _ := parseFields(req); f != nil && len(f.vals[fieldContent]) == 0 && pol.For(kind) == AcceptEncrypted {
				t.Fatalf("plain %s callback accepted under %s", kind, pol.For(kind))
			}
		}
	})
}

// FuzzParseAccept: any input parses to one of the three values or fails
// with ErrInvalidOption, and a parsed value parses to itself.
func FuzzParseAccept(f *testing.F) {
	for _, s := range []string{"encrypted", " Plain ", "UNSIGNED", "", "none", "unsigned\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAccept(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidOption) || a != "" {
				t.Fatalf("ParseAccept(%q) = %q, %v", s, a, err)
			}
			return
		}
		if a.rank() < 0 {
			t.Fatalf("ParseAccept(%q) = unknown %q", s, a)
		}
		if b, err := ParseAccept(string(a)); err != nil || b != a {
			t.Fatalf("not idempotent: %q -> %q, %v", a, b, err)
		}
	})
}

// FuzzVerifyNotice feeds every notice kind through both formats' readers
// (and the physical seal's plain one): any input ends in a sentinel error
// or a notice with a digest and a type.
func FuzzVerifyNotice(f *testing.F) {
	ts := strconv.FormatInt(fuzzNow.UnixMilli(), 10)
	sig := Sign(ts, fuzzKey)
	content, _ := Encrypt(CipherECB, fuzzKey, nil, []byte(`{"applyId":"1","result":"PASS","detail":"{}"}`))
	f.Add([]byte(url.Values{"content": {content}, "signature": {sig}, "timestamp": {ts}}.Encode()), "application/x-www-form-urlencoded", false)
	f.Add([]byte("businessId=b-1&status=COMPLETE"), "application/x-www-form-urlencoded", false)
	f.Add([]byte("businessId=b-1&leftCount=3&timestamp=2019-09-19"), "", true)
	f.Add([]byte(`{"businessId":"b","imageType":"FACE","images":["a"]}`), "application/json", false)
	f.Add([]byte(`{"companyId":{"x":1},"item":"AUTHORIZE"}`), "application/json", true)
	f.Fuzz(func(t *testing.T, body []byte, contentType string, unsigned bool) {
		v := fuzzVerifier(t, VerifierConfig{Secrets: []string{fuzzKey}, AllowUnsigned: unsigned})
		for _, kind := range NoticeKinds {
			cb, err := v.Verify(kind, RawRequest{ContentType: contentType, Body: body})
			verifySentinel(t, cb, err)
			if err != nil {
				continue
			}
			if cb.Notice == nil || len(cb.Notice.Digest) != 64 || cb.CallbackType == "" || !json.Valid(cb.Payload) {
				t.Fatalf("%s: notice %+v type %q payload %q", kind, cb.Notice, cb.CallbackType, cb.Payload)
			}
		}
	})
}
