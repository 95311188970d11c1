package qys_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/qys"
)

func baselineB() verifyCase {
	return verifyCase{
		verifier: qys.VerifierConfig{Format: qys.FormatB, Secrets: []string{secretB + "-tail"}, Token: tokenB},
		sender:   qys.SenderConfig{Format: qys.FormatB, Secret: secretB + "-tail", Token: tokenB},
		payload: `{"callbackType":"CONTRACT_SIGN","callbackTime":"1726020000000","contractId":3121362688614077231,` +
			`"sn":"HT-001","bizId":"order-42","status":"SIGNING","tenantId":2422042838839468036,"tenantName":"某某公司",` +
			`"businessData":"x","signatoryInfo":{"tenantName":"张三","receiverName":"张三","receiverContact":"13800000000"}}`,
		ts:   now.Add(-time.Minute),
		kind: qys.KindContract,
	}
}

// jsonEdit rewrites one member of a format-B envelope (nil deletes it).
func jsonEdit(key string, value any) func(*qys.RawRequest) {
	return func(r *qys.RawRequest) {
		var env map[string]any
		if err := json.Unmarshal(r.Body, &env); err != nil {
			panic(err)
		}
		if value == nil {
			delete(env, key)
		} else {
			env[key] = value
		}
		r.Body, _ = json.Marshal(env)
	}
}

func TestVerifyFormatB(t *testing.T) {
	for name, modify := range map[string]func(*verifyCase){
		"OK":                     func(*verifyCase) {},
		"OKStringTimestamp":      func(c *verifyCase) { c.req = jsonEdit("timestamp", fmt.Sprint(c.ts.UnixMilli())) },
		"OKSignatureIgnored":     func(c *verifyCase) { c.req = jsonEdit("signature", "whatever") },
		"OKSignatureMD5":         func(c *verifyCase) { c.verifier.SignatureB = qys.SignatureMD5 },
		"ErrBadSignatureMD5":     func(c *verifyCase) { c.verifier.SignatureB = qys.SignatureMD5; c.req = jsonEdit("signature", "x") },
		"ErrMissingSignature":    func(c *verifyCase) { c.verifier.SignatureB = qys.SignatureMD5; c.sender.Unsigned = true },
		"ErrStaleOld":            func(c *verifyCase) { c.ts = now.Add(-73 * time.Hour) },
		"ErrStaleMissing":        func(c *verifyCase) { c.req = jsonEdit("timestamp", nil) },
		"ErrStaleFloat":          func(c *verifyCase) { c.req = jsonEdit("timestamp", 1.5) },
		"ErrMalformedWrongToken": func(c *verifyCase) { c.verifier.Token = "other-token" },
		"ErrDecryptWrongKey":     func(c *verifyCase) { c.verifier.Secrets = []string{"0000000000000000"} },
		"ErrMalformedNoEncrypted": func(c *verifyCase) {
			c.req = jsonEdit("encrypted", nil)
		},
		"ErrMalformedForm":   func(c *verifyCase) { c.req = func(r *qys.RawRequest) { r.Body = []byte("a=b") } },
		"ErrMissingContract": func(c *verifyCase) { c.payload = `{"callbackType":"CONTRACT_COMPLETE"}` },
	} {
		t.Run(name, func(t *testing.T) {
			c := baselineB()
			modify(&c)
			if !strings.HasPrefix(name, "OK") {
				c.want = sentinelFor(name)
			}
			cb := runVerifyCase(t, c)
			if cb == nil {
				return
			}
			want := qys.Actor{TenantName: "张三", Contact: "13800000000"}
			if cb.Format != qys.FormatB || cb.ContractStatus != "SIGNING" || cb.CallbackType != "CONTRACT_SIGN" ||
				cb.BizID != "order-42" || cb.Actor == nil || *cb.Actor != want || cb.SecretIndex != 0 ||
				!cb.Timestamp.Equal(c.ts.Truncate(time.Millisecond)) {
				t.Fatalf("callback = %+v, actor %+v", cb, cb.Actor)
			}
		})
	}
}

func TestVerifyFormatBKindsAndCheck(t *testing.T) {
	for _, tc := range []struct {
		payload string
		want    qys.Kind
		success bool
		check   bool
	}{
		{`{"callbackType":"CALLBACK_CHECK"}`, qys.KindContract, false, true},
		{`{"callbackType":"USER_AUTH_SUCCESS","userId":"u1","userName":"李四","authStatus":"AUTH_SUCCESS"}`, qys.KindAuthPersonal, true, false},
		{`{"callbackType":"USER_AUTH_EXPIRED","userId":"u1"}`, qys.KindAuthPersonal, false, false},
		{`{"callbackType":"COMPANY_AUTH_FAILED","companyId":7,"companyName":"某公司","rejectReason":"blurry"}`, qys.KindAuthCompany, false, false},
		{`{"callbackType":"COMPANY_AUTH_SUCCESS","companyId":7,"companyName":"某公司"}`, qys.KindAuthCompany, true, false},
	} {
		t.Run(tc.payload, func(t *testing.T) {
			c := baselineB()
			req := MustRequest(t, c.sender, tc.payload, c.ts)
			cb, err := MustVerifier(t, c.verifier).Verify(qys.KindContract, req)
			if err != nil {
				t.Fatal(err)
			}
			if cb.Kind != tc.want || cb.IsCheck() != tc.check {
				t.Fatalf("kind %s, check %v", cb.Kind, cb.IsCheck())
			}
			if tc.check {
				return
			}
			if cb.Auth == nil || cb.Auth.Success != tc.success || cb.Auth.RequestID == "" || cb.Auth.Status == "" {
				t.Fatalf("auth = %+v", cb.Auth)
			}
		})
	}
}

func TestVerifyAuthFormatA(t *testing.T) {
	for _, tc := range []struct {
		kind    qys.Kind
		payload string
		want    qys.Auth
	}{
		{qys.KindAuthCompany, `{"requestId":"r1","status":"1","actionEvent":"7","authInfo":"{\"name\":\"某公司\",\"registerNo\":\"91\",\"legalPerson\":\"王\"}"}`,
			qys.Auth{RequestID: "r1", Status: "1", Success: true, Name: "某公司", ActionEvent: "7"}},
		{qys.KindAuthCompany, `{"requestId":"r2","status":"2","rejectReason":"模糊","authInfo":"not json"}`,
			qys.Auth{RequestID: "r2", Status: "2", FailReason: "模糊"}},
		{qys.KindAuthCompany, `{"companyId":"c9","companyName":"SaaS公司","registerNo":"91","status":"1"}`,
			qys.Auth{RequestID: "c9", Status: "1", Success: true, Name: "SaaS公司"}},
		{qys.KindAuthPersonal, `{"authId":"a1","mode":"FACE","status":"1","name":"张三"}`,
			qys.Auth{RequestID: "a1", Status: "1", Success: true, Mode: "FACE", Name: "张三"}},
		{qys.KindAuthPersonal, `{"authId":"a2","mode":"MANUAL","status":"3"}`,
			qys.Auth{RequestID: "a2", Status: "3", Mode: "MANUAL"}},
	} {
		for _, encrypt := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/encrypt=%v/%s", tc.kind, encrypt, tc.want.RequestID), func(t *testing.T) {
				c := baselineA()
				c.sender.Encrypt = encrypt
				req := MustRequest(t, c.sender, tc.payload, c.ts)
				cb, err := MustVerifier(t, c.verifier).Verify(tc.kind, req)
				if err != nil {
					t.Fatal(err)
				}
				if cb.Kind != tc.kind || cb.CallbackType != qys.CallbackTypeAuth || cb.Auth == nil || *cb.Auth != tc.want {
					t.Fatalf("callback %+v, auth %+v", cb, cb.Auth)
				}
			})
		}
	}
}

func TestVerifyContractFieldsAndPayload(t *testing.T) {
	c := baselineA()
	cb := runVerifyCase(t, c)
	want := qys.Actor{TenantType: "COMPANY", TenantName: "某某科技有限公司", TenantID: "2422042838839468036", Contact: "13800000000"}
	if cb.CallbackType != "SEAL" || cb.ContractStatus != "SIGNING" || cb.BizID != "b-1" || cb.BusinessData != "order-42" ||
		*cb.Actor != want || cb.SecretIndex != 0 || cb.Format != qys.FormatA || string(cb.Payload) != contractPayload ||
		cb.Raw.Query.Get("company") != "A" {
		t.Fatalf("callback %+v", cb)
	}
	// Plain fields: Payload is an object of strings without the auth fields.
	c.sender.Encrypt = false
	cb = runVerifyCase(t, c)
	var obj map[string]string
	if err := json.Unmarshal(cb.Payload, &obj); err != nil || obj["contractId"] != "3121362688614077231" ||
		obj["signature"] != "" || obj["timestamp"] != "" || len(obj) != 9 {
		t.Fatalf("payload %s, %v", cb.Payload, err)
	}
	// Unknown callback types are not errors.
	c.payload = `{"contractId":1,"callbackType":"BRAND_NEW"}`
	if cb = runVerifyCase2(t, c); cb.CallbackType != "BRAND_NEW" || cb.ContractID != "1" || cb.Actor != nil {
		t.Fatalf("callback %+v", cb)
	}
}

func runVerifyCase2(t *testing.T, c verifyCase) *qys.Callback {
	t.Helper()
	cb, err := MustVerifier(t, c.verifier).Verify(c.kind, MustRequest(t, c.sender, c.payload, c.ts))
	if err != nil {
		t.Fatal(err)
	}
	return cb
}

func TestVerifyRotation(t *testing.T) {
	for _, encrypt := range []bool{true, false} {
		c := baselineA()
		c.sender.Encrypt = encrypt
		c.sender.Secret = secretB
		c.verifier.Secrets = []string{secretA, secretB}
		cb := runVerifyCase(t, c)
		if cb.SecretIndex != 1 {
			t.Fatalf("SecretIndex = %d", cb.SecretIndex)
		}
	}
	// Cross-secret: signed with one secret, encrypted with another.
	c := baselineA()
	c.verifier.Secrets = []string{secretA, secretB}
	req := MustRequest(t, c.sender, c.payload, c.ts)
	form, _ := url.ParseQuery(string(req.Body))
	form.Set("signature", qys.Sign(form.Get("timestamp"), secretB))
	req.Body = []byte(form.Encode())
	if _, err := MustVerifier(t, c.verifier).Verify(qys.KindContract, req); !errors.Is(err, qys.ErrDecrypt) {
		t.Fatalf("cross-secret: err = %v, want ErrDecrypt", err)
	}
	// Format B rotation: the decrypting secret is reported.
	b := baselineB()
	b.verifier.Secrets = []string{"0000000000000000", b.sender.Secret}
	if cb := runVerifyCase(t, b); cb.SecretIndex != 1 {
		t.Fatalf("format B SecretIndex = %d", cb.SecretIndex)
	}
}

func TestVerifyBodyEncodings(t *testing.T) {
	c := baselineA()
	out, err := qys.BuildCallback(c.sender, []byte(c.payload), c.ts)
	if err != nil {
		t.Fatal(err)
	}
	form, _ := url.ParseQuery(string(out.Body))
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	for k := range form {
		_ = mw.WriteField(k, form.Get(k))
	}
	_ = mw.Close()
	jsonBody, _ := json.Marshal(map[string]string{"content": form.Get("content"), "signature": form.Get("signature"), "timestamp": form.Get("timestamp")})
	plainJSON := `{"contractId":3121362688614077231,"callbackType":"COMPLETE","signature":"` + form.Get("signature") +
		`","timestamp":` + form.Get("timestamp") + `}`
	for name, req := range map[string]qys.RawRequest{
		"Multipart":        {ContentType: mw.FormDataContentType(), Body: mp.Bytes()},
		"JSON":             {ContentType: "application/json; charset=utf-8", Body: jsonBody},
		"JSONNoType":       {Body: jsonBody},
		"PlainJSON":        {ContentType: "application/json", Body: []byte(plainJSON)},
		"HeaderOnlyType":   {Header: map[string][]string{"Content-Type": {"application/x-www-form-urlencoded"}}, Body: out.Body},
		"ZeroPaddedCipher": {ContentType: out.ContentType, Body: []byte(zeroPaddedForm(t, form, c.payload))},
	} {
		t.Run(name, func(t *testing.T) {
			cb, err := MustVerifier(t, c.verifier).Verify(qys.KindContract, req)
			if err != nil || cb.ContractID != "3121362688614077231" {
				t.Fatalf("Verify = %+v, %v", cb, err)
			}
		})
	}
}

func zeroPaddedForm(t *testing.T, form url.Values, payload string) string {
	f := url.Values{}
	for k := range form {
		f.Set(k, form.Get(k))
	}
	f.Set("content", zeroPadECB(t, secretA, []byte(payload)))
	return f.Encode()
}

func TestNewVerifierValidates(t *testing.T) {
	ok := qys.VerifierConfig{Secrets: []string{secretA}, AllowPlain: true}
	for name, modify := range map[string]func(*qys.VerifierConfig){
		"NoSecret":       func(c *qys.VerifierConfig) { c.Secrets = nil },
		"ShortSecret":    func(c *qys.VerifierConfig) { c.Secrets = []string{"short"} },
		"BadCipher":      func(c *qys.VerifierConfig) { c.Cipher = "AES_GCM" },
		"BadIV":          func(c *qys.VerifierConfig) { c.IV = []byte("123") },
		"BadFormat":      func(c *qys.VerifierConfig) { c.Format = "C" },
		"CBCWithoutIV":   func(c *qys.VerifierConfig) { c.Cipher = qys.CipherCBC },
		"NegativeWindow": func(c *qys.VerifierConfig) { c.Window.Past = -time.Second },
		"BNoToken":       func(c *qys.VerifierConfig) { c.Format = qys.FormatB },
		"BBadSigMode":    func(c *qys.VerifierConfig) { c.Format, c.Token, c.SignatureB = qys.FormatB, "t", "sha1" },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := ok
			modify(&cfg)
			if _, err := qys.NewVerifier(cfg); !errors.Is(err, qys.ErrInvalidOption) {
				t.Fatalf("err = %v", err)
			} else if strings.Contains(err.Error(), secretA) {
				t.Fatal("the error leaks the secret")
			}
		})
	}
}

// TestFormatBStaleInnerTime: with the default signature mode the envelope
// timestamp can be rewritten; an old encrypted callbackTime still refuses.
func TestFormatBStaleInnerTime(t *testing.T) {
	now := time.Now()
	old := strconv.FormatInt(now.Add(-100*time.Hour).UnixMilli(), 10)
	out, err := qys.BuildCallback(qys.SenderConfig{Format: qys.FormatB, Secret: secretB, Token: tokenB},
		[]byte(`{"callbackType":"CONTRACT_SIGN","callbackTime":"`+old+`","contractId":"1","status":"SIGNING"}`), now)
	if err != nil {
		t.Fatal(err)
	}
	v, err := qys.NewVerifier(qys.VerifierConfig{Format: qys.FormatB, Secrets: []string{secretB}, Token: tokenB})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(qys.KindContract, qys.RawRequest{Method: "POST", ContentType: out.ContentType, Body: out.Body})
	if !errors.Is(err, qys.ErrStale) {
		t.Fatalf("fresh envelope around a 100-hour-old callbackTime: err = %v, want ErrStale", err)
	}
}
